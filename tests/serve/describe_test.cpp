// POST /v1/describe and the upload page: multipart and raw image bodies,
// the MIME check, the answer naming provider, model and key variable, the
// failover over the chain, the limits and the gateway key; the token counts
// the hook reports (usage_scan).

#include "http/support/test_server.hpp"
#include "serve/support/gateway_fixture.hpp"

#include <keypool/providers/builtin.hpp>
#include <keypool/serve/detail/describe.hpp>
#include <keypool/serve/detail/multipart.hpp>
#include <keypool/serve/detail/page.hpp>
#include <keypool/serve/detail/usage_scan.hpp>
#include <keypool/serve/gateway.hpp>

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace serve_describe_test {
namespace {

using keypool::test::received_request;
using keypool::test::scripted_reply;
namespace serve = keypool::serve;
namespace detail = keypool::serve::detail;
namespace providers = keypool::providers;
namespace json = boost::json;

using groq_pool = keypool::basic_pool<providers::groq>;
using mistral_pool = keypool::basic_pool<providers::mistral>;
using gateway_over_servers = keypool::test::gateway_over_servers<groq_pool, mistral_pool>;

const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR-pixels-FAKE", 25);
const std::string jpeg("\xff\xd8\xff\xe0-jpeg-bytes", 15);

constexpr const char* described_ok =
    R"({"id":"c1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant",)"
    R"("content":"A small red square."},"finish_reason":"stop"}],"usage":{"prompt_tokens":261,"completion_tokens":6}})";

scripted_reply ok_reply(const received_request&) { return scripted_reply::json(described_ok); }
scripted_reply rate_limited(const received_request&) {
  auto r = scripted_reply::json(R"({"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}})", 429);
  r.headers.emplace_back("retry-after", "30");
  return r;
}

std::string form(const std::string& boundary, const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += "--" + boundary + "\r\n" + p + "\r\n";
  return out + "--" + boundary + "--\r\n";
}
std::string image_part(const std::string& bytes, const std::string& type = "image/png") {
  return "Content-Disposition: form-data; name=\"image\"; filename=\"pixel.png\"\r\nContent-Type: " + type +
         "\r\n\r\n" + bytes;
}
std::string prompt_part(const std::string& text) {
  return "Content-Disposition: form-data; name=\"prompt\"\r\n\r\n" + text;
}

/// A POST with its own Content-Type (the fixture's client sets JSON).
keypool::test::answer post_as(std::uint16_t port, const std::string& target, const std::string& type,
                              const std::string& body, const std::string& extra_headers = {}) {
  const auto raw = keypool::test::raw_exchange(
      port, "POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: " + type + "\r\n" +
                extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  keypool::test::answer a;
  boost::beast::http::response_parser<boost::beast::http::string_body> p;
  p.eager(true);
  boost::system::error_code ec;
  p.put(boost::asio::buffer(raw), ec);
  if (ec && ec != boost::beast::http::error::need_more) return a;
  p.put_eof(ec);
  auto msg = p.release();
  a.status = msg.result_int();
  a.body = msg.body();
  a.headers = static_cast<boost::beast::http::fields&>(msg);
  return a;
}

// --- multipart ---------------------------------------------------------------

TEST(Multipart, SplitsPartsWithNamesTypesAndBinaryBytes) {
  const std::string data("a\r\n--not-the-boundary\r\n\0b", 26);
  const auto body = form("XyZ", {image_part(data), prompt_part("What is it?")});
  const auto parts = detail::parse_multipart("multipart/form-data; boundary=XyZ", body);
  ASSERT_TRUE(parts) << parts.error();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "image");
  EXPECT_EQ((*parts)[0].filename, "pixel.png");
  EXPECT_EQ((*parts)[0].content_type, "image/png");
  EXPECT_EQ((*parts)[0].data, data);
  EXPECT_EQ((*parts)[1].name, "prompt");
  EXPECT_EQ((*parts)[1].data, "What is it?");
}

TEST(Multipart, QuotedBoundaryPreambleEpilogueAndEmptyPart) {
  const std::string b = "----WebKitFormBoundary7MA4YWxk; x";
  const std::string body = "preamble to ignore\r\n--" + b +
                           "\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\n\r\n--" + b + "\r\n" +
                           image_part(png) + "\r\n--" + b + "--\r\nepilogue";
  const auto parts = detail::parse_multipart(R"(Multipart/Form-Data; charset=utf-8; BOUNDARY=")" + b + "\"", body);
  ASSERT_TRUE(parts) << parts.error();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].data, "");
  EXPECT_EQ((*parts)[1].data, png);
}

TEST(Multipart, RefusesWhatIsNotAWholeForm) {
  EXPECT_FALSE(detail::parse_multipart("multipart/form-data", form("b", {image_part(png)})));
  EXPECT_FALSE(detail::parse_multipart("multipart/form-data; boundary=b", "no delimiter at all"));
  // Truncated: no closing delimiter.
  const auto cut = "--b\r\n" + image_part(png);
  const auto e = detail::parse_multipart("multipart/form-data; boundary=b", cut);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("closing boundary"), std::string::npos) << e.error();
  // A part without Content-Disposition.
  EXPECT_FALSE(detail::parse_multipart("multipart/form-data; boundary=b", "--b\r\n\r\nx\r\n--b--"));
}

TEST(DescribeInput, SniffsTheImageAndChecksTheDeclaredType) {
  EXPECT_EQ(detail::sniff_image(png), "image/png");
  EXPECT_EQ(detail::sniff_image(jpeg), "image/jpeg");
  EXPECT_EQ(detail::sniff_image("GIF89a...."), "image/gif");
  EXPECT_EQ(detail::sniff_image(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16)), "image/webp");
  EXPECT_FALSE(detail::sniff_image("%PDF-1.7"));
  EXPECT_TRUE(detail::checked_image(png, "", "x"));
  EXPECT_TRUE(detail::checked_image(jpeg, "image/jpg", "x"));
  const auto lie = detail::checked_image(jpeg, "image/png", "the form field 'image'");
  ASSERT_FALSE(lie);
  EXPECT_NE(lie.error().find("declared image/png but its bytes are image/jpeg"), std::string::npos) << lie.error();
  EXPECT_EQ(detail::percent_decode("what+is%20it%3F"), "what is it?");
  EXPECT_EQ(detail::query_param("/v1/describe?a=1&prompt=hi+there", "prompt"), "hi there");
}

// --- usage_scan --------------------------------------------------------------

TEST(UsageScan, ReadsAJsonAnswersUsage) {
  detail::usage_scan u;
  u.feed(described_ok);
  EXPECT_EQ(u.input(), 261u);
  EXPECT_EQ(u.output(), 6u);
}

TEST(UsageScan, AStreamsLastUsageWinsAcrossSplitPieces) {
  const std::string stream =
      "data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}],\"usage\":null}\n\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":34,"
      "\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\ndata: [DONE]\n\n";
  for (std::size_t cut = 1; cut < stream.size(); ++cut) {
    detail::usage_scan u;
    u.feed(std::string_view(stream).substr(0, cut));
    u.feed(std::string_view(stream).substr(cut));
    ASSERT_EQ(u.input(), 12u) << "cut at " << cut;
    ASSERT_EQ(u.output(), 34u) << "cut at " << cut;
  }
  detail::usage_scan a;  // Anthropic: input first, output at the end
  a.feed(R"(data: {"type":"message_start","message":{"usage":{"input_tokens":25,"output_tokens":1}}})");
  a.feed(R"(data: {"type":"message_delta","usage":{"output_tokens":15}})");
  EXPECT_EQ(a.input(), 25u);
  EXPECT_EQ(a.output(), 15u);
}

// --- the endpoint --------------------------------------------------------------

struct token_records {
  std::mutex mu;
  std::vector<std::string> paths;
  std::vector<std::optional<std::uint64_t>> in, out;
  serve::request_hook hook() {
    return [this](const serve::request_record& r) {
      std::lock_guard lock(mu);
      paths.emplace_back(r.path);
      in.push_back(r.input_tokens);
      out.push_back(r.output_tokens);
    };
  }
  /// Installs the hook on the gateway's executor (the fixture listened
  /// already; real use sets it before listen()).
  template <class Gateway>
  void install(Gateway& gw) {
    boost::asio::post(gw.get_executor(), boost::asio::use_future([&] { gw.on_request(hook()); })).get();
  }
  /// The hook runs after the answer is written: waits (bounded) for n records.
  void wait_for(std::size_t n) {
    for (int i = 0; i < 400; ++i) {
      {
        std::lock_guard lock(mu);
        if (paths.size() >= n) return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
};

TEST(GatewayDescribe, MultipartImageGoesInlineAndTheAnswerNamesWhoServedIt) {
  gateway_over_servers g(ok_reply, ok_reply);
  const auto a = post_as(g.port, "/v1/describe", "multipart/form-data; boundary=zz",
                         form("zz", {image_part(png), prompt_part("What colour is it?")}));
  ASSERT_EQ(a.status, 200u) << a.body;
  const auto v = json::parse(a.body).as_object();
  EXPECT_EQ(v.at("description").as_string(), "A small red square.");
  EXPECT_EQ(v.at("provider").as_string(), "groq");
  EXPECT_EQ(v.at("model").as_string(), "default-model");
  EXPECT_TRUE(v.at("key").as_string().starts_with("GROQ_API_KEY_"));
  EXPECT_EQ(v.at("attempts").as_int64(), 1);
  EXPECT_EQ(a.header("x-keypool-provider"), "groq");
  EXPECT_EQ(a.header("x-keypool-key"), std::string(v.at("key").as_string()));
  EXPECT_EQ(a.body.find("FAKE-"), std::string::npos) << "a secret in the answer";
  const auto got = g.groq.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "/openai/v1/chat/completions");
  EXPECT_NE(got[0].body.find("data:image/png;base64,"), std::string::npos) << got[0].body;
  EXPECT_NE(got[0].body.find("What colour is it?"), std::string::npos);
}

TEST(GatewayDescribe, RawBodyWithPromptInTheQueryAndTokensForTheHook) {
  token_records rec;
  gateway_over_servers g(ok_reply, ok_reply);
  rec.install(g.gw);
  const auto a = post_as(g.port, "/v1/describe?prompt=Count+the+pixels", "image/png", png);
  ASSERT_EQ(a.status, 200u) << a.body;
  const auto got = g.groq.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].body.find("Count the pixels"), std::string::npos) << got[0].body;
  rec.wait_for(1);
  std::lock_guard lock(rec.mu);
  ASSERT_EQ(rec.paths.size(), 1u);
  EXPECT_EQ(rec.in[0], 261u);
  EXPECT_EQ(rec.out[0], 6u);
}

TEST(GatewayDescribe, DefaultPromptWhenNoneIsGiven) {
  gateway_over_servers g(ok_reply, ok_reply);
  ASSERT_EQ(post_as(g.port, "/v1/describe", "image/jpeg", jpeg).status, 200u);
  const auto got = g.groq.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0].body.find("Describe this image."), std::string::npos);
  EXPECT_NE(got[0].body.find("data:image/jpeg;base64,"), std::string::npos);
}

TEST(GatewayDescribe, BadInputIs400BeforeAnyAttempt) {
  gateway_over_servers g(ok_reply, ok_reply);
  struct bad {
    std::string type, body, says;
  };
  const std::vector<bad> cases{
      {"text/plain", "hello", "(got text/plain)"},
      {"image/png", "not an image", "is not a PNG, JPEG, WebP or GIF image"},
      {"image/png", jpeg, "declared image/png but its bytes are image/jpeg"},
      {"image/png", "", "is empty"},
      {"multipart/form-data; boundary=zz", form("zz", {prompt_part("hi")}), "no field 'image'"},
      {"multipart/form-data; boundary=zz", "--zz\r\n" + image_part(png), "closing boundary"},
  };
  for (const auto& c : cases) {
    const auto a = post_as(g.port, "/v1/describe", c.type, c.body);
    EXPECT_EQ(a.status, 400u) << c.type;
    EXPECT_NE(a.body.find(c.says), std::string::npos) << a.body;
    const auto v = json::parse(a.body).as_object();
    EXPECT_EQ(v.at("error").at("code").as_string(), "invalid_image");
  }
  EXPECT_EQ(g.groq.requests().size(), 0u);
}

TEST(GatewayDescribe, ExpectContinueGets100BeforeTheBody) {
  gateway_over_servers g(ok_reply, ok_reply);
  boost::asio::io_context ioc;
  boost::beast::tcp_stream s(ioc);
  s.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), g.port));
  boost::asio::write(s, boost::asio::buffer("POST /v1/describe HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
                                            "Expect: 100-continue\r\nContent-Length: " +
                                            std::to_string(png.size()) + "\r\n\r\n"));
  std::string got;
  // A head, or an error after 5 s (sync reads would ignore the stream's timeout).
  const auto read_head = [&] {
    std::size_t n = 0;
    boost::asio::async_read_until(s, boost::asio::dynamic_buffer(got), "\r\n\r\n",
                                  [&](boost::system::error_code, std::size_t k) { n = k; });
    ioc.restart();
    ioc.run_for(std::chrono::seconds(5));
    return n;
  };
  const auto head_end = read_head();
  ASSERT_GT(head_end, 0u) << "no 100 Continue before the body";
  EXPECT_EQ(got.substr(0, head_end), "HTTP/1.1 100 Continue\r\n\r\n");
  boost::asio::write(s, boost::asio::buffer(png));
  got.erase(0, head_end);
  ASSERT_GT(read_head(), 0u);
  EXPECT_TRUE(got.starts_with("HTTP/1.1 200 OK\r\n")) << got;
}

TEST(GatewayDescribe, BodyOverTheLimitIs413) {
  serve::gateway_options o;
  o.max_body = 1024;
  gateway_over_servers g(ok_reply, ok_reply, o);
  const auto a = post_as(g.port, "/v1/describe", "image/png", png + std::string(4096, 'x'));
  EXPECT_EQ(a.status, 413u) << a.body;
  EXPECT_EQ(g.groq.requests().size(), 0u);
}

TEST(GatewayDescribe, FailsOverToTheNextProviderAndSaysSo) {
  gateway_over_servers g(rate_limited, ok_reply);
  const auto a = post_as(g.port, "/v1/describe", "image/png", png);
  ASSERT_EQ(a.status, 200u) << a.body;
  const auto v = json::parse(a.body).as_object();
  EXPECT_EQ(v.at("provider").as_string(), "mistral");
  EXPECT_EQ(v.at("key").as_string(), "MISTRAL_API_KEY_1");
  EXPECT_EQ(v.at("attempts").as_int64(), 3);  // both groq keys, then mistral
}

TEST(GatewayDescribe, EveryKeyLockedIs429WithRetryAfter) {
  gateway_over_servers g(rate_limited, rate_limited);
  const auto a = post_as(g.port, "/v1/describe", "image/png", png);
  EXPECT_EQ(a.status, 429u) << a.body;
  EXPECT_FALSE(a.header("retry-after").empty());
  EXPECT_EQ(a.body.find("FAKE-"), std::string::npos);
}

TEST(GatewayPage, ServesASelfContainedPageWithoutTheGatewayKey) {
  serve::gateway_options o;
  o.gateway_keys = {"gateway-key-FAKE"};
  gateway_over_servers g(ok_reply, ok_reply, o);
  keypool::test::client c(g.port);
  const auto page = c.get("/");
  ASSERT_EQ(page.status, 200u);
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("id=\"describe\""), std::string::npos);
  EXPECT_NE(page.body.find("/v1/describe"), std::string::npos);
  EXPECT_EQ(page.body.find("http://"), std::string::npos) << "the page loads nothing from elsewhere";
  EXPECT_EQ(page.body.find("https://"), std::string::npos) << "the page loads nothing from elsewhere";
  // The endpoint itself needs the key.
  EXPECT_EQ(post_as(g.port, "/v1/describe", "image/png", png).status, 401u);
  EXPECT_EQ(post_as(g.port, "/v1/describe", "image/png", png, "Authorization: Bearer gateway-key-FAKE\r\n").status,
            200u);
}

TEST(GatewayTokens, PassThroughAnswersReportTheirUsage) {
  token_records rec;
  gateway_over_servers g(ok_reply, ok_reply);
  rec.install(g.gw);
  keypool::test::client c(g.port);
  const auto a = c.post("/v1/chat/completions", R"({"model":"auto","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(a.status, 200u) << a.body;
  const auto bad = c.post("/v1/chat/completions", "{not json");
  ASSERT_EQ(bad.status, 400u);
  rec.wait_for(2);
  std::lock_guard lock(rec.mu);
  ASSERT_EQ(rec.paths.size(), 2u);
  EXPECT_EQ(rec.in[0], 261u);
  EXPECT_EQ(rec.out[0], 6u);
  EXPECT_FALSE(rec.in[1]);  // an error answer has no usage
}

}  // namespace

}  // namespace serve_describe_test
