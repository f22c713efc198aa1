/// URL parsing, proxy selection, base64 and the wire codecs without any
/// network. Every key in here is obviously fake.

#include <keypool/http/proxy.hpp>
#include <keypool/http/url.hpp>
#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/base64.hpp>
#include <keypool/wire/detail/json_writer.hpp>
#include <keypool/wire/detail/openai_answer.hpp>
#include <keypool/wire/gemini_generate_content.hpp>
#include <keypool/wire/openai_chat.hpp>
#include <keypool/wire/provider_text.hpp>
#include <keypool/wire/sse.hpp>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace http_wire_test {
namespace {

namespace http = keypool::http;
namespace wire = keypool::wire;
namespace json = boost::json;

constexpr const char* fake_key = "test-FAKE-key-not-real-0000";

// ---------------------------------------------------------------- url

TEST(Url, ParsesTheUsualForms) {
  auto u = http::parse_url("https://api.groq.com/openai/v1").value();
  EXPECT_EQ(u.scheme, http::scheme::https);
  EXPECT_EQ(u.host, "api.groq.com");
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(u.target, "/openai/v1");
  EXPECT_EQ(u.authority(), "api.groq.com:443");
  EXPECT_EQ(u.host_header(), "api.groq.com");

  u = http::parse_url("HTTP://LocalHost:8080").value();
  EXPECT_EQ(u.scheme, http::scheme::http);
  EXPECT_EQ(u.host, "localhost");
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.target, "/");
  EXPECT_EQ(u.host_header(), "localhost:8080");

  u = http::parse_url("http://[::1]:9000/x?y=1").value();
  EXPECT_EQ(u.host, "::1");
  EXPECT_EQ(u.authority(), "[::1]:9000");
  EXPECT_EQ(u.target, "/x?y=1");

  u = http::parse_url("https://h?q").value();
  EXPECT_EQ(u.target, "/?q");
  EXPECT_EQ(http::parse_url("https://a.b:8443/p").value().to_string(), "https://a.b:8443/p");
}

TEST(Url, RejectsBadInputWithAReason) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "missing scheme"},
      {"api.openai.com/v1", "missing scheme"},
      {"ftp://x/", "unsupported scheme"},
      {"https://", "empty host"},
      {"https:///path", "empty host"},
      {"https://host:/", "empty port"},
      {"https://host:0/", "port must be"},
      {"https://host:65536/", "port must be"},
      {"https://host:12ab/", "port must be"},
      {"https://user:secret@host/", "credentials"},
      {"https://ho st/", "whitespace"},
      {"https://host/\n", "whitespace"},
      {"https://host/#frag", "fragment"},
      {"https://[::1/", "unterminated"},
      {"https://bad$host/", "invalid character"},
  };
  for (const auto& [input, why] : cases) {
    auto r = http::parse_url(input);
    ASSERT_FALSE(r) << input;
    EXPECT_NE(r.error().message.find(why), std::string::npos) << input << " -> " << r.error().message;
  }
  // Credentials are never echoed back.
  auto r = http::parse_url("https://user:hunter2@host/");
  EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
  auto q = http::parse_url("ftp://host/?key=AIzaFAKEFAKE");
  EXPECT_EQ(q.error().message.find("AIzaFAKE"), std::string::npos) << q.error().message;
  // An '@' in the query is not the end of a userinfo: what follows it is no
  // host and is not shown (found by fuzz_wire_decode).
  auto a = http::parse_url("https://host:99999/v1?mail=a@tokenFAKE.part");
  ASSERT_FALSE(a);
  EXPECT_EQ(a.error().message.find("tokenFAKE"), std::string::npos) << a.error().message;
}

TEST(Url, LoopbackIsDecidedOnTheTextAlone) {
  for (const char* h : {"localhost", "LOCALHOST", "api.localhost", "127.0.0.1", "127.1.2.3", "::1"})
    EXPECT_TRUE(http::is_loopback_host(h)) << h;
  for (const char* h :
       {"localhost.example.com", "127.0.0.1.nip.io", "10.0.0.1", "128.0.0.1", "example.com", "127.0.0.256", "::2", ""})
    EXPECT_FALSE(http::is_loopback_host(h)) << h;
}

TEST(Url, JoinPath) {
  EXPECT_EQ(http::join_path("/v1/", "/chat/completions"), "/v1/chat/completions");
  EXPECT_EQ(http::join_path("", "messages"), "/messages");
}

// ---------------------------------------------------------------- proxy

TEST(Proxy, NoProxyRulesAndLoopbackBypass) {
  http::proxy_options o{"http://proxy.corp:3128", "internal.example, .svc.local,10.1.2.3:443"};
  auto use = [&](const char* host) { return http::select_proxy(o, host).value().has_value(); };
  EXPECT_TRUE(use("api.openai.com"));
  EXPECT_FALSE(use("internal.example"));
  EXPECT_FALSE(use("a.internal.example"));
  EXPECT_TRUE(use("notinternal.example"));
  EXPECT_FALSE(use("x.svc.local"));
  EXPECT_TRUE(use("svc.local"));
  EXPECT_FALSE(use("10.1.2.3"));
  EXPECT_FALSE(use("localhost"));
  EXPECT_FALSE(use("127.0.0.1"));
  auto ep = http::select_proxy(o, "api.openai.com").value().value();
  EXPECT_EQ(ep.authority(), "proxy.corp:3128");
  EXPECT_TRUE(ep.userinfo.empty());

  o.no_proxy = "*";
  EXPECT_FALSE(use("api.openai.com"));
  EXPECT_FALSE(http::select_proxy(http::proxy_options{}, "api.openai.com").value().has_value());
}

TEST(Proxy, BareHostPortAndCredentials) {
  auto ep = http::select_proxy({"u:p@10.0.0.5:8080", ""}, "api.x.ai").value().value();
  EXPECT_EQ(ep.host, "10.0.0.5");
  EXPECT_EQ(ep.port, 8080);
  EXPECT_EQ(ep.userinfo, "u:p");
  auto bad = http::select_proxy({"socks5://10.0.0.5:1080", ""}, "api.x.ai");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("HTTPS_PROXY"), std::string::npos);
}

// ---------------------------------------------------------------- base64

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> v[] = {{"", ""},
                                                   {"f", "Zg=="},
                                                   {"fo", "Zm8="},
                                                   {"foo", "Zm9v"},
                                                   {"foob", "Zm9vYg=="},
                                                   {"fooba", "Zm9vYmE="},
                                                   {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, enc] : v) {
    EXPECT_EQ(wire::base64::encode(plain), enc);
    EXPECT_EQ(wire::base64::decode(enc), plain);
  }
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(wire::base64::decode(wire::base64::encode(all)), all);
  EXPECT_EQ(wire::base64::decode("Zm9vYg"), "foob");  // unpadded
  EXPECT_FALSE(wire::base64::decode("Zm9v!"));
  EXPECT_FALSE(wire::base64::decode("Z"));
}

/// The encoder's SSSE3 steps (twelve bytes), six-byte steps, three-byte steps
/// and padded tail, at every length and offset they meet, against the
/// textbook six bits at a time.
TEST(Base64, EveryLengthMatchesABitByBitEncoder) {
  auto reference = [](std::string_view in) {
    static constexpr char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (unsigned char c : in) {
      acc = (acc << 8) | c;
      bits += 8;
      while (bits >= 6) {
        bits -= 6;
        out.push_back(a[(acc >> bits) & 63]);
      }
    }
    if (bits > 0) out.push_back(a[(acc << (6 - bits)) & 63]);
    while (out.size() % 4 != 0) out.push_back('=');
    return out;
  };
  std::string bytes;
  std::uint32_t x = 12345;
  for (int i = 0; i < 100; ++i) {
    x = x * 1103515245u + 12345u;
    bytes.push_back(static_cast<char>(x >> 16));
  }
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    const std::string_view in(bytes.data(), n);
    EXPECT_EQ(wire::base64::encode(in), reference(in)) << n << " bytes";
    std::string appended = "data:,";
    wire::base64::encode_to(appended, in);
    EXPECT_EQ(appended, "data:," + reference(in)) << n << " bytes";
  }
  // Every byte value at every position of a 16-byte load and every lane of
  // a vector step (all 64 characters, each offset-table range), unaligned.
  std::string all;
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>((i * 7 + r) & 0xff));
  for (std::size_t off = 0; off < 16; ++off)
    for (const std::size_t n : {std::size_t{16}, std::size_t{27}, std::size_t{28}, std::size_t{29}, all.size() - off}) {
      const std::string_view in(all.data() + off, n);
      EXPECT_EQ(wire::base64::encode(in), reference(in)) << "offset " << off << ", " << n << " bytes";
    }
#if KEYPOOL_BASE64_SSSE3
  RecordProperty("ssse3", wire::base64::detail::has_ssse3() ? "used" : "not available");
#endif
}

// ---------------------------------------------------------------- encoders

wire::chat_request request_with_image() {
  wire::chat_request r;
  r.model = "m";
  r.prompt = "describe";
  r.images.push_back({"\xFF\xD8\xFF", "image/jpeg"});
  r.system = "be brief";
  return r;
}

TEST(OpenAiChat, TextOnlyUsesAStringContent) {
  wire::chat_request r;
  r.model = "gpt-4o";
  r.prompt = "hi";
  auto e = wire::openai_chat::encode(r, fake_key).value();
  EXPECT_EQ(e.path, "/v1/chat/completions");
  const auto body = json::parse(e.body).as_object();
  EXPECT_EQ(body.at("messages").at(0).at("content").as_string(), "hi");
  EXPECT_FALSE(body.contains("temperature"));
  ASSERT_EQ(e.headers.size(), 2u);
  EXPECT_EQ(e.headers[1].name, "Authorization");
  EXPECT_TRUE(e.headers[1].sensitive);
}

/// decode() reads the common answer shape in one SAX pass and leaves the
/// rest to the tree decoder: both must give the same result, field for
/// field, error for error, on answers of every shape around the common one.
TEST(OpenAiChat, FastPathAgreesWithTheTreeDecoder) {
  std::uint32_t seed = 2026;
  auto next = [&seed](std::uint32_t n) {
    seed = seed * 1664525u + 1013904223u;
    return (seed >> 8) % n;
  };
  auto pick = [&](std::initializer_list<const char*> v) {
    return std::string(*(v.begin() + next(static_cast<std::uint32_t>(v.size()))));
  };
  auto count = [&] {
    return pick(
        {"812", "0", "-3", "1e3", "2.5", "1e30", "18446744073709551615", "\"12\"", "null", "true", "{}", "[1]"});
  };
  auto text = [&] {
    return pick({"\"A cat.\"", "\"\"", "\"caf\\u00e9 \\\"q\\\" \\n\"", "null", "42",
                 "[{\"type\":\"text\",\"text\":\"part\"}]", "{}", "false"});
  };
  auto member = [&](std::string name, std::string value) { return "\"" + name + "\":" + value; };
  auto object = [&](std::vector<std::string> members) {
    for (std::size_t i = members.size(); i > 1; --i)
      std::swap(members[i - 1], members[next(static_cast<std::uint32_t>(i))]);
    std::string o = "{";
    for (const auto& m : members) o += (o.size() > 1 ? "," : "") + m;
    return o + "}";
  };
  int common = 0, other = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::string> message{member("role", "\"assistant\"")};
    if (next(8) != 0) message.push_back(member("content", next(2) ? "\"A grey square.\"" : text()));
    if (next(6) == 0) message.push_back(member("tool_calls", "[{\"id\":\"t\",\"function\":{\"name\":\"f\"}}]"));
    if (next(20) == 0) message.push_back(member("content", "\"again\""));
    std::vector<std::string> choice{member("index", "0")};
    if (next(12) != 0) choice.push_back(member("message", next(15) ? object(message) : text()));
    if (next(5) != 0) choice.push_back(member("finish_reason", next(2) ? "\"stop\"" : text()));
    if (next(10) == 0) choice.push_back(member("usage", object({member("prompt_tokens", "7")})));
    std::string choices = "[";
    const auto n_choices = next(10) == 0 ? next(3) : 1;
    for (std::uint32_t i = 0; i < n_choices; ++i)
      choices += std::string(i ? "," : "") + (i == 0 && next(15) == 0 ? text() : object(choice));
    choices += "]";
    std::vector<std::string> root{member("id", "\"chatcmpl-1\""), member("object", "\"chat.completion\"")};
    if (next(10) != 0) root.push_back(member("model", next(3) ? "\"gpt-4o-2024-08-06\"" : text()));
    if (next(15) != 0) root.push_back(member("choices", next(20) ? choices : text()));
    if (next(4) != 0) {
      std::vector<std::string> usage;
      if (next(8) != 0) usage.push_back(member("prompt_tokens", next(2) ? "812" : count()));
      if (next(8) != 0) usage.push_back(member("completion_tokens", next(2) ? "9" : count()));
      if (next(3) == 0) usage.push_back(member("total_tokens", count()));
      if (next(25) == 0) usage.push_back(member("prompt_tokens", "1"));
      root.push_back(member("usage", next(15) ? object(usage) : count()));
    }
    if (next(8) == 0) root.push_back(member("error", pick({"null", "{\"message\":\"boom\"}", "\"boom\"", "3"})));
    if (next(8) == 0) root.push_back(member("x_groq", "{\"id\":\"req\",\"usage\":{\"prompt_tokens\":5}}"));
    if (next(30) == 0) root.push_back(member("model", "\"twice\""));
    if (next(10) == 0) root.push_back(member("deep", "[[[[[[[[[{\"choices\":[],\"message\":1}]]]]]]]]]"));
    std::string body = object(root);
    switch (next(25)) {
      case 0: body.resize(next(static_cast<std::uint32_t>(body.size()))); break;  // truncated
      case 1: body += " x"; break;                                                // trailing text
      case 2: body = " \n" + body + "\n"; break;
      default: break;
    }
    const auto fast = wire::detail::scan_openai_answer(body);
    (fast ? common : other)++;
    const auto tree = wire::openai_chat::decode_tree(body);
    const auto both = wire::openai_chat::decode(body);
    if (fast) {
      ASSERT_TRUE(tree) << body << "\n" << tree.error().message;
    }
    ASSERT_EQ(both.has_value(), tree.has_value()) << body;
    if (tree) {
      EXPECT_EQ(both->text, tree->text) << body;
      EXPECT_EQ(both->model, tree->model) << body;
      EXPECT_EQ(both->finish_reason, tree->finish_reason) << body;
      EXPECT_EQ(both->usage.input_tokens, tree->usage.input_tokens) << body;
      EXPECT_EQ(both->usage.output_tokens, tree->usage.output_tokens) << body;
    } else {
      EXPECT_EQ(both.error().code, tree.error().code) << body;
      EXPECT_EQ(both.error().message, tree.error().message) << body;
    }
  }
  EXPECT_GT(common, 5000);  // both paths were exercised
  EXPECT_GT(other, 2000);
}

TEST(OpenAiChat, FastPathTakesTheCommonAnswerAndLeavesTheRest) {
  const std::string ok =
      R"({"id":"x","model":"m-1","choices":[{"index":0,"message":{"role":"assistant","content":"Hi \"there\""},)"
      R"("finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3}})";
  const auto r = wire::detail::scan_openai_answer(ok);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->text, "Hi \"there\"");
  EXPECT_EQ(r->model, "m-1");
  EXPECT_EQ(r->finish_reason, "stop");
  EXPECT_EQ(r->usage.input_tokens, 12u);
  EXPECT_EQ(r->usage.output_tokens, 3u);
  for (const char* other : {R"({"error":{"message":"no"}})", R"({"choices":[]})", R"({"model":"m"})",
                            R"({"choices":[{"message":{"content":[{"type":"text","text":"a"}]}}]})",
                            R"({"choices":[{"message":{"content":"a","content":"b"}}]})", "[1]", "", "{"})
    EXPECT_FALSE(wire::detail::scan_openai_answer(other)) << other;
}

TEST(OpenAiChat, ImageForms) {
  using form = wire::openai_chat::image_form;
  auto encode = [](form f) {
    wire::openai_chat::options o;
    o.images = f;
    o.base_path = "/api/paas/v4";
    o.max_tokens_field = "max_completion_tokens";
    return json::parse(wire::openai_chat::encode(request_with_image(), fake_key, o).value().body).as_object();
  };
  auto b = encode(form::data_url_object);
  EXPECT_EQ(b.at("messages").at(0).at("role").as_string(), "system");
  EXPECT_TRUE(b.contains("max_completion_tokens"));
  EXPECT_EQ(b.at("messages").at(1).at("content").at(1).at("image_url").at("url").as_string(),
            "data:image/jpeg;base64,/9j/");
  b = encode(form::data_url_string);
  EXPECT_EQ(b.at("messages").at(1).at("content").at(1).at("image_url").as_string(), "data:image/jpeg;base64,/9j/");
  b = encode(form::raw_base64_object);
  EXPECT_EQ(b.at("messages").at(1).at("content").at(1).at("image_url").at("url").as_string(), "/9j/");
  b = encode(form::inline_img_tag);
  EXPECT_EQ(b.at("messages").at(1).at("content").as_string(), "describe <img src=\"data:image/jpeg;base64,/9j/\" />");
}

/// Every byte, alone and between others, comes out of the writer exactly as
/// Boost.JSON's serializer writes it (the encoders' text did not change when
/// they stopped building a tree).
TEST(JsonWriter, EscapesEveryByteAsBoostJsonDoes) {
  for (int c = 0; c < 256; ++c) {
    const std::string s = std::string("a") + static_cast<char>(c) + "b" + static_cast<char>(c);
    std::string out;
    wire::detail::json_writer(out).value(s);
    EXPECT_EQ(out, json::serialize(json::string(s))) << "byte " << c;
  }
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  std::string out;
  wire::detail::json_writer w(out);
  w.begin_object().key(all).value(all).end_object();
  json::object o;
  o[all] = all;
  EXPECT_EQ(out, json::serialize(o));
}

/// Long texts go eight bytes at a time: every byte value at every position of
/// a 19-byte text (two blocks and a tail), and runs of them, still escape
/// exactly as Boost.JSON does.
TEST(JsonWriter, EscapesInLongTextsAsBoostJsonDoes) {
  const std::string base = "The quick brown fox";  // 19 bytes: nothing to escape
  for (int c = 0; c < 256; ++c)
    for (std::size_t at = 0; at < base.size(); ++at) {
      std::string s = base;
      s[at] = static_cast<char>(c);
      std::string out;
      wire::detail::json_writer(out).value(s);
      ASSERT_EQ(out, json::serialize(json::string(s))) << "byte " << c << " at " << at;
    }
  std::string mixed;
  for (int i = 0; i < 300; ++i)
    mixed += (i % 7 == 0) ? std::string("\"\n\\\x01\x7f\xC3\xA9") : std::string("plain text ");
  std::string out;
  wire::detail::json_writer(out).value(mixed);
  EXPECT_EQ(out, json::serialize(json::string(mixed)));
}

TEST(JsonWriter, CommasNestingAndNumbers) {
  std::string out;
  wire::detail::json_writer w(out);
  w.begin_object().key("a").begin_array().value(true).value(false).begin_object().end_object();
  w.begin_array().end_array().value(0u).value(std::uint32_t{4294967295u}).end_array();
  w.key("t").value(0.7).key("small").value(1e-300).key("big").value(123456.789);
  w.key("nan").value(std::nan("")).key("inf").value(-HUGE_VAL);
  w.key("s").begin_string().text("data:").text("\"q\"").base64("\xFF\xD8\xFF").end_string().end_object();
  EXPECT_EQ(out, R"({"a":[true,false,{},[],0,4294967295],"t":0.7,"small":1e-300,"big":123456.789,"nan":null,)"
                 R"("inf":null,"s":"data:\"q\"/9j/"})");
  const auto v = json::parse(out).as_object();  // and it reads back exactly
  EXPECT_EQ(v.at("t").as_double(), 0.7);
  EXPECT_EQ(v.at("small").as_double(), 1e-300);
  EXPECT_EQ(v.at("big").as_double(), 123456.789);
}

TEST(Encoders, TemperatureInShortestForm) {
  auto r = request_with_image();
  r.temperature = 0.7;
  EXPECT_TRUE(wire::openai_chat::encode(r, fake_key).value().body.find(R"("temperature":0.7)") != std::string::npos);
  EXPECT_TRUE(wire::anthropic_messages::encode(r, fake_key).value().body.find(R"("temperature":0.7)") !=
              std::string::npos);
  const auto ge = wire::gemini_generate_content::encode(r, fake_key).value().body;
  EXPECT_EQ(json::parse(ge).at("generationConfig").at("temperature").as_double(), 0.7);
}

/// A payload far larger than the reserved guess, and text whose escapes
/// make it six times longer than itself, must come out whole and the same
/// every time, in all three formats.
TEST(Encoders, LargeImagesAndEscapedTextComeOutWhole) {
  wire::chat_request r;
  r.model = "m";
  r.prompt = "say \"hi\"\n\ttab \x01 caf\xC3\xA9 \xF0\x9F\x98\x80 \\";
  r.system = std::string(5000, 's') + std::string(3000, '\x01');  // 18 000 bytes escaped
  std::string bytes;
  for (int i = 0; i < 100 * 1024; ++i) bytes.push_back(static_cast<char>(i * 7));
  r.images.push_back({bytes, "image/png"});
  r.images.push_back({bytes.substr(0, 5), "image/webp"});
  const auto b64 = wire::base64::encode(bytes);

  const auto oa_body = wire::openai_chat::encode(r, fake_key).value().body;
  EXPECT_EQ(wire::openai_chat::encode(r, fake_key).value().body, oa_body);
  const auto oa = json::parse(oa_body).as_object();
  EXPECT_EQ(oa.at("messages").at(0).at("content").as_string(), r.system);
  EXPECT_EQ(oa.at("messages").at(1).at("content").at(0).at("text").as_string(), r.prompt);
  EXPECT_EQ(oa.at("messages").at(1).at("content").at(1).at("image_url").at("url").as_string(),
            "data:image/png;base64," + b64);
  EXPECT_EQ(oa.at("messages").at(1).at("content").at(2).at("image_url").at("url").as_string(),
            "data:image/webp;base64," + wire::base64::encode(bytes.substr(0, 5)));

  const auto an_body = wire::anthropic_messages::encode(r, fake_key).value().body;
  EXPECT_EQ(wire::anthropic_messages::encode(r, fake_key).value().body, an_body);
  const auto an = json::parse(an_body).as_object();
  EXPECT_EQ(an.at("system").as_string(), r.system);
  EXPECT_EQ(an.at("messages").at(0).at("content").at(0).at("source").at("data").as_string(), b64);
  EXPECT_EQ(an.at("messages").at(0).at("content").at(2).at("text").as_string(), r.prompt);

  const auto ge_body = wire::gemini_generate_content::encode(r, fake_key).value().body;
  EXPECT_EQ(wire::gemini_generate_content::encode(r, fake_key).value().body, ge_body);
  const auto ge = json::parse(ge_body).as_object();
  EXPECT_EQ(ge.at("systemInstruction").at("parts").at(0).at("text").as_string(), r.system);
  EXPECT_EQ(ge.at("contents").at(0).at("parts").at(0).at("text").as_string(), r.prompt);
  EXPECT_EQ(ge.at("contents").at(0).at("parts").at(1).at("inlineData").at("data").as_string(), b64);
  EXPECT_EQ(ge.at("generationConfig").at("maxOutputTokens").as_int64(), 1024);
}

/// Decoding parses into a stack buffer too: a large answer must come back
/// whole, and each decode must be independent of the previous one.
TEST(Decoders, LargeAnswersSurviveTheScratchBuffer) {
  const std::string text(20000, 'x');
  const auto body = R"({"model":"m-1","choices":[{"message":{"content":")" + text +
                    R"("},"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":4}})";
  for (int i = 0; i < 2; ++i) {
    auto d = wire::openai_chat::decode(body).value();
    EXPECT_EQ(d.text, text);
    EXPECT_EQ(d.model, "m-1");
    EXPECT_EQ(d.finish_reason, "length");
    EXPECT_EQ(d.usage, (wire::usage{3, 4}));
  }
}

TEST(Encoders, RejectBadRequests) {
  auto r = request_with_image();
  r.images[0].mime_type = "image/png\"}";
  auto e = wire::openai_chat::encode(r, fake_key);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, wire::encode_errc::invalid_mime_type);
  r = request_with_image();
  r.model.clear();
  EXPECT_EQ(wire::anthropic_messages::encode(r, fake_key).error().code, wire::encode_errc::empty_model);
  r = request_with_image();
  EXPECT_EQ(wire::anthropic_messages::encode(r, "").error().code, wire::encode_errc::empty_secret);
  r.model = "../../v1/files";
  auto g = wire::gemini_generate_content::encode(r, fake_key);
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error().code, wire::encode_errc::invalid_model);
  r.model = "models/gemini-2.5-pro";
  EXPECT_EQ(wire::gemini_generate_content::encode(r, fake_key).value().path,
            "/v1beta/models/gemini-2.5-pro:generateContent");
}

TEST(Encoders, ImageOnlyRequestsHaveNoEmptyTextPart) {
  // Anthropic answers 400 "text content blocks must be non-empty" to an
  // empty text block; no format sends one.
  auto r = request_with_image();
  r.prompt.clear();
  const auto an = json::parse(wire::anthropic_messages::encode(r, fake_key).value().body);
  const auto& an_content = an.at("messages").at(0).at("content").as_array();
  ASSERT_EQ(an_content.size(), 1u);
  EXPECT_EQ(an_content[0].at("type"), "image");
  const auto ge = json::parse(wire::gemini_generate_content::encode(r, fake_key).value().body);
  const auto& parts = ge.at("contents").at(0).at("parts").as_array();
  ASSERT_EQ(parts.size(), 1u);
  EXPECT_TRUE(parts[0].as_object().contains("inlineData"));
  const auto oa = json::parse(wire::openai_chat::encode(r, fake_key).value().body);
  const auto& oa_content = oa.at("messages").at(1).at("content").as_array();
  ASSERT_EQ(oa_content.size(), 1u);
  EXPECT_EQ(oa_content[0].at("type"), "image_url");
  wire::openai_chat::options tag;
  tag.images = wire::openai_chat::image_form::inline_img_tag;
  const auto oa_tag = json::parse(wire::openai_chat::encode(r, fake_key, tag).value().body);
  EXPECT_EQ(oa_tag.at("messages").at(1).at("content").as_string().subview().substr(0, 15), "<img src=\"data:");
  // With a prompt, the text part is still there (and first, for Gemini and OpenAI).
  r.prompt = "describe";
  EXPECT_EQ(json::parse(wire::gemini_generate_content::encode(r, fake_key).value().body)
                .at("contents")
                .at(0)
                .at("parts")
                .at(0)
                .at("text"),
            "describe");
}

TEST(Encoders, RefuseEmptyRequestsAndTextThatIsNotUtf8) {
  wire::chat_request r;
  r.model = "m";
  for (auto* enc : {+[](const wire::chat_request& q) { return wire::openai_chat::encode(q, fake_key); },
                    +[](const wire::chat_request& q) { return wire::anthropic_messages::encode(q, fake_key); },
                    +[](const wire::chat_request& q) { return wire::gemini_generate_content::encode(q, fake_key); }}) {
    r.prompt.clear();
    r.system.clear();
    ASSERT_FALSE(enc(r));
    EXPECT_EQ(enc(r).error().code, wire::encode_errc::empty_request);
    r.prompt = "caf\xE9 au lait";  // Latin-1, not UTF-8
    ASSERT_FALSE(enc(r));
    EXPECT_EQ(enc(r).error().code, wire::encode_errc::invalid_text);
    EXPECT_NE(enc(r).error().message.find("prompt is not valid UTF-8 (byte 3)"), std::string::npos)
        << enc(r).error().message;
    r.prompt = "caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9D\x84\x9E";  // é ✓ 𝄞
    r.system = "\xED\xA0\x80";                               // a UTF-16 surrogate
    ASSERT_FALSE(enc(r));
    EXPECT_NE(enc(r).error().message.find("system prompt is not valid UTF-8 (byte 0)"), std::string::npos);
    r.system = "ok";
    const auto body = enc(r).value().body;
    EXPECT_NE(body.find("caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9D\x84\x9E"), std::string::npos);
    EXPECT_NO_THROW((void)json::parse(body));
  }
}

TEST(Encoders, Utf8CheckAgreesWithBoostJson) {
  // Boost.JSON's parser rejects invalid UTF-8 in strings; the encoders'
  // check must accept exactly what it accepts. Random byte strings biased
  // towards the edges of the multi-byte ranges.
  constexpr unsigned char interesting[] = {0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0,
                                           0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef,
                                           0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xf8, 0xfe, 0xff};
  std::uint32_t seed = 12345;
  auto next = [&seed] { return seed = seed * 1664525u + 1013904223u; };
  int valid = 0, invalid = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string s;
    const auto len = next() % 7;
    for (std::uint32_t i = 0; i < len; ++i) s.push_back(static_cast<char>(interesting[next() % sizeof interesting]));
    const bool ours = wire::detail::invalid_utf8_at(s) == std::string_view::npos;
    boost::system::error_code ec;
    (void)json::parse("\"" + s + "\"", ec);
    ASSERT_EQ(ours, !ec) << "bytes: " << json::serialize(json::string(s));
    (ours ? valid : invalid)++;
  }
  EXPECT_GT(valid, 1000);  // both outcomes were exercised
  EXPECT_GT(invalid, 1000);
  // ASCII goes eight bytes at a time: a stray byte anywhere in a long ASCII
  // text is still found, at its own offset, and a valid sequence there passes.
  for (std::size_t len = 1; len <= 40; ++len)
    for (std::size_t at = 0; at < len; ++at) {
      std::string s(len, 'a');
      s[at] = '\xff';
      ASSERT_EQ(wire::detail::invalid_utf8_at(s), at) << len << " bytes";
      s[at] = '\x80';
      ASSERT_EQ(wire::detail::invalid_utf8_at(s), at) << len << " bytes";
      s.replace(at, 1, "\xC3\xA9");
      ASSERT_EQ(wire::detail::invalid_utf8_at(s), std::string_view::npos) << len << " bytes";
    }
}

TEST(Encoders, AnthropicAndGeminiSystemAndHeaders) {
  auto a = wire::anthropic_messages::encode(request_with_image(), fake_key).value();
  EXPECT_EQ(json::parse(a.body).at("system").as_string(), "be brief");
  ASSERT_EQ(a.headers.size(), 3u);
  EXPECT_EQ(a.headers[1].name, "x-api-key");
  EXPECT_TRUE(a.headers[1].sensitive);
  EXPECT_EQ(a.headers[2].value, "2023-06-01");
  auto g = wire::gemini_generate_content::encode(request_with_image(), fake_key).value();
  EXPECT_EQ(json::parse(g.body).at("systemInstruction").at("parts").at(0).at("text").as_string(), "be brief");
  EXPECT_EQ(g.headers[1].name, "x-goog-api-key");
  EXPECT_EQ(g.path.find(fake_key), std::string::npos);
}

// ---------------------------------------------------------------- decoders

TEST(Decoders, MalformedTruncatedAndEmptyBodies) {
  using wire::decode_errc;
  const std::pair<const char*, decode_errc> cases[] = {
      {"", decode_errc::empty_body},
      {"  \n", decode_errc::empty_body},
      {"{\"choices\":[{\"message\":{\"content\":\"hel", decode_errc::truncated_json},
      {"{\"choices\":[", decode_errc::truncated_json},
      {"{\"choices\":]}", decode_errc::invalid_json},
      {"<html>bad gateway</html>", decode_errc::invalid_json},
      {"{} trailing", decode_errc::invalid_json},
      {"[1,2]", decode_errc::unexpected_shape},
      {"{\"id\":\"x\"}", decode_errc::unexpected_shape},
      {"{\"choices\":[]}", decode_errc::no_output},
      {"{\"choices\":[{\"message\":{\"content\":42}}]}", decode_errc::unexpected_shape},
      {"{\"error\":{\"message\":\"Rate limit exceeded\",\"code\":\"1302\"}}", decode_errc::provider_error},
  };
  for (const auto& [body, code] : cases) {
    auto d = wire::openai_chat::decode(body);
    ASSERT_FALSE(d) << body;
    EXPECT_EQ(d.error().code, code) << body << " -> " << d.error().message;
    EXPECT_EQ(d.error().message.rfind("openai_chat: ", 0), 0u) << d.error().message;
  }
  EXPECT_NE(wire::openai_chat::decode(cases[11].first).error().message.find("Rate limit exceeded"), std::string::npos);
  // The same guarantees hold for the other formats.
  EXPECT_EQ(wire::anthropic_messages::decode("{\"content\":[{\"type\":\"te").error().code, decode_errc::truncated_json);
  EXPECT_EQ(wire::gemini_generate_content::decode("{\"candidates\":").error().code, decode_errc::truncated_json);
  EXPECT_EQ(
      wire::anthropic_messages::decode(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})")
          .error()
          .code,
      decode_errc::provider_error);
  EXPECT_EQ(wire::anthropic_messages::decode(R"({"content":[{"type":"text","text":7}]})").error().code,
            decode_errc::unexpected_shape);
}

TEST(Decoders, OpenAiTolerance) {
  // null content (tool calls only), usage as doubles, missing usage.
  auto d = wire::openai_chat::decode(
      R"({"choices":[{"message":{"content":null},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5.0,"completion_tokens":-1}})");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->text, "");
  EXPECT_EQ(d->finish_reason, "tool_calls");
  EXPECT_EQ(d->usage, (wire::usage{5, 0}));
  auto z = wire::openai_chat::decode(
      R"({"choices":[{"message":{"content":"ok","reasoning_content":"..."},"finish_reason":"stop"}]})");
  ASSERT_TRUE(z);
  EXPECT_EQ(z->text, "ok");
  EXPECT_EQ(z->usage, (wire::usage{0, 0}));
}

TEST(Decoders, GeminiBlockedPromptIsNoOutput) {
  auto d = wire::gemini_generate_content::decode(R"({"promptFeedback":{"blockReason":"SAFETY"}})");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, wire::decode_errc::no_output);
  EXPECT_NE(d.error().message.find("SAFETY"), std::string::npos);
  auto s = wire::gemini_generate_content::decode(R"({"candidates":[{"finishReason":"SAFETY"}]})");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->text, "");
  EXPECT_EQ(s->finish_reason, "SAFETY");
}

// ---------------------------------------------------------------- streaming

TEST(Sse, EventsSplitAnywhereAndAllLineEndings) {
  const std::string stream =
      ": comment\r\nevent: first\r\ndata: a\r\ndata:b\r\n\r\n"
      "data: second\n\nid: 7\rretry: 10\rdata: third\r\r"
      "event: empty\n\n"  // no data: not dispatched
      "data: {\"x\": 1}\n\n";
  for (std::size_t step = 1; step <= stream.size(); ++step) {
    wire::sse_parser p;
    std::vector<wire::sse_event> got;
    for (std::size_t i = 0; i < stream.size(); i += step)
      ASSERT_TRUE(p.feed(std::string_view(stream).substr(i, step), [&](const wire::sse_event& e) {
        got.push_back(e);
        return true;
      }));
    ASSERT_EQ(got.size(), 4u) << "step " << step;
    EXPECT_EQ(got[0].event, "first");
    EXPECT_EQ(got[0].data, "a\nb");
    EXPECT_EQ(got[1].event, "");
    EXPECT_EQ(got[1].data, "second");
    EXPECT_EQ(got[2].data, "third");
    EXPECT_EQ(got[3].data, "{\"x\": 1}");
    EXPECT_FALSE(p.pending());
  }
  wire::sse_parser small(16);
  EXPECT_FALSE(small.feed("data: " + std::string(64, 'x'), [](const wire::sse_event&) { return true; }));
  EXPECT_TRUE(small.overflowed());
}

/// Feeds `body` one byte at a time; returns the decoded response and the
/// text deltas seen.
template <class Codec>
std::pair<wire::decode_result, std::string> stream_bytewise(std::string_view body) {
  wire::chat_stream<Codec> s;
  std::string deltas;
  for (char c : body)
    if (!s.feed(std::string_view(&c, 1), [&](std::string_view t) {
          deltas += t;
          deltas += '|';
        }))
      break;
  return {s.finish(), deltas};
}

TEST(Streaming, OpenAiChunksAndGroqUsage) {
  const std::string body =
      "data: {\"model\":\"m\",\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"A \"}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"cat.\"},\"finish_reason\":\"stop\"}],"
      "\"x_groq\":{\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2}}}\n\n"
      "data: [DONE]\n\n";
  auto [r, deltas] = stream_bytewise<wire::openai_chat>(body);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text, "A cat.");
  EXPECT_EQ(deltas, "A |cat.|");
  EXPECT_EQ(r->finish_reason, "stop");
  EXPECT_EQ(r->model, "m");
  EXPECT_EQ(r->usage, (wire::usage{9, 2}));
  auto cut = stream_bytewise<wire::openai_chat>(
      body.substr(0, body.find("data: {\"choices\":[{\"delta\":{\"content\":\"cat")));
  ASSERT_FALSE(cut.first);
  EXPECT_EQ(cut.first.error().code, wire::decode_errc::truncated_stream);
  auto err = stream_bytewise<wire::openai_chat>("data: {\"error\":{\"message\":\"overloaded\"}}\n\n");
  ASSERT_FALSE(err.first);
  EXPECT_EQ(err.first.error().code, wire::decode_errc::provider_error);
  auto bad = stream_bytewise<wire::openai_chat>("data: {\"choices\":[\n\n");
  ASSERT_FALSE(bad.first);
  EXPECT_EQ(bad.first.error().code, wire::decode_errc::truncated_json);
}

TEST(Streaming, AnthropicEvents) {
  const std::string body =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-x\","
      "\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
      "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
      "event: ping\ndata: {\"type\": \"ping\"}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
      "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
      "\"delta\":{\"type\":\"text_delta\",\"text\":\" world\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
      "\"usage\":{\"output_tokens\":15}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  auto [r, deltas] = stream_bytewise<wire::anthropic_messages>(body);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text, "Hello world");
  EXPECT_EQ(deltas, "Hello| world|");
  EXPECT_EQ(r->finish_reason, "end_turn");
  EXPECT_EQ(r->model, "claude-x");
  EXPECT_EQ(r->usage, (wire::usage{25, 15}));
  auto cut = stream_bytewise<wire::anthropic_messages>(body.substr(0, body.find("event: message_stop")));
  EXPECT_EQ(cut.first.error().code, wire::decode_errc::truncated_stream);
  auto err = stream_bytewise<wire::anthropic_messages>(
      "event: error\ndata: "
      "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");
  EXPECT_EQ(err.first.error().code, wire::decode_errc::provider_error);
  EXPECT_NE(err.first.error().message.find("Overloaded"), std::string::npos);
}

TEST(Streaming, GeminiChunks) {
  const std::string body =
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"The \"}],\"role\":\"model\"}}],"
      "\"usageMetadata\":{\"promptTokenCount\":8},\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n"
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"sky.\"}],\"role\":\"model\"},"
      "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":8,\"candidatesTokenCount\":3},"
      "\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n";
  auto [r, deltas] = stream_bytewise<wire::gemini_generate_content>(body);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text, "The sky.");
  EXPECT_EQ(deltas, "The |sky.|");
  EXPECT_EQ(r->finish_reason, "STOP");
  EXPECT_EQ(r->usage, (wire::usage{8, 3}));
  auto cut = stream_bytewise<wire::gemini_generate_content>(body.substr(0, body.find("data: ", 10)));
  EXPECT_EQ(cut.first.error().code, wire::decode_errc::truncated_stream);
  wire::gemini_generate_content::options o;
  o.stream = true;
  EXPECT_EQ(wire::gemini_generate_content::encode(request_with_image(), fake_key, o).value().path,
            "/v1beta/models/m:streamGenerateContent?alt=sse");
}

TEST(Streaming, GeminiUsageOnlyLastChunk) {
  // Google may close the stream with a chunk of usageMetadata alone (no
  // candidates) after the one with finishReason.
  const std::string body =
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"The \"}],\"role\":\"model\"}}],"
      "\"usageMetadata\":{\"promptTokenCount\":5},\"modelVersion\":\"gemini-2.5-flash\"}\r\n\r\n"
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"sky.\"}],\"role\":\"model\"},"
      "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":2}}\r\n\r\n"
      "data: {\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":7,\"totalTokenCount\":12},"
      "\"modelVersion\":\"gemini-2.0-flash\",\"responseId\":\"r1\"}\r\n\r\n";
  auto [r, deltas] = stream_bytewise<wire::gemini_generate_content>(body);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text, "The sky.");
  EXPECT_EQ(deltas, "The |sky.|");
  EXPECT_EQ(r->finish_reason, "STOP");
  EXPECT_EQ(r->model, "gemini-2.0-flash");
  EXPECT_EQ(r->usage, (wire::usage{5, 7}));
  // Without a finishReason before it, a usage-only chunk does not end the stream.
  auto cut = stream_bytewise<wire::gemini_generate_content>(body.substr(0, body.find("data: ", 10)) +
                                                            body.substr(body.rfind("data: ")));
  ASSERT_FALSE(cut.first);
  EXPECT_EQ(cut.first.error().code, wire::decode_errc::truncated_stream);
  // A whole (non-streamed) response without candidates is still an error.
  auto whole = wire::gemini_generate_content::decode(body.substr(body.rfind("data: ") + 6));
  ASSERT_FALSE(whole);
  EXPECT_EQ(whole.error().code, wire::decode_errc::no_output);
}

TEST(Streaming, GeminiUsageOnlyChunkBeforeFinish) {
  // Usage alone between text chunks; the finishReason chunk carries none, so
  // the usage-only chunk's counts are the answer's. An empty candidates array
  // reads as none.
  const std::string body =
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],\"role\":\"model\"}}]}\n\n"
      "data: {\"candidates\":[],\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":2,"
      "\"thoughtsTokenCount\":3}}\n\n"
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" there\"}],\"role\":\"model\"},"
      "\"finishReason\":\"MAX_TOKENS\"}],\"modelVersion\":\"gemini-3-flash-preview\"}\n\n";
  auto [r, deltas] = stream_bytewise<wire::gemini_generate_content>(body);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->text, "Hi there");
  EXPECT_EQ(deltas, "Hi| there|");
  EXPECT_EQ(r->finish_reason, "MAX_TOKENS");
  EXPECT_EQ(r->model, "gemini-3-flash-preview");
  EXPECT_EQ(r->usage, (wire::usage{4, 5, 0, 3}));  // thoughts are output, and reasoning
}

TEST(Streaming, GeminiChunkWithoutCandidatesStillFails) {
  // A blocked prompt carries usageMetadata too, but is no answer.
  auto blocked = stream_bytewise<wire::gemini_generate_content>(
      "data: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"},"
      "\"usageMetadata\":{\"promptTokenCount\":5,\"totalTokenCount\":5}}\n\n");
  ASSERT_FALSE(blocked.first);
  EXPECT_EQ(blocked.first.error().code, wire::decode_errc::no_output);
  EXPECT_NE(blocked.first.error().message.find("prompt blocked: SAFETY"), std::string::npos);
  auto blocked_late = stream_bytewise<wire::gemini_generate_content>(
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"ok\"}]},\"finishReason\":\"STOP\"}]}\n\n"
      "data: {\"promptFeedback\":{\"blockReason\":\"OTHER\"},\"usageMetadata\":{\"promptTokenCount\":5}}\n\n");
  ASSERT_FALSE(blocked_late.first);
  EXPECT_EQ(blocked_late.first.error().code, wire::decode_errc::no_output);
  // Neither candidates nor usageMetadata.
  auto empty = stream_bytewise<wire::gemini_generate_content>(
      "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"ok\"}]},\"finishReason\":\"STOP\"}]}\n\n"
      "data: {\"modelVersion\":\"gemini-2.0-flash\"}\n\n");
  ASSERT_FALSE(empty.first);
  EXPECT_EQ(empty.first.error().code, wire::decode_errc::no_output);
}

// ================================================== provider text (docs/security.md)

TEST(ProviderText, ScrubMasksTheWholeKeyAndEveryRunOfEightOfItsCharacters) {
  const std::string key = "sk-proj-FAKEtestKEYnotREAL0123456789xaEu";
  const std::string mask =
      "sk-proj-\xE2\x80\xA6"
      "aEu";
  EXPECT_EQ(wire::scrub_secret("key " + key + " end", key, mask), "key " + mask + " end");
  // Cut at every position, from either side, and a run from the middle.
  for (std::size_t p = 0; p <= key.size(); ++p) {
    const auto head = wire::scrub_secret("code " + key.substr(0, p) + "|", key, mask);
    const auto tail = wire::scrub_secret("|" + key.substr(p) + " tail", key, mask);
    for (std::size_t j = 0; j + 8 <= key.size(); ++j) {
      const auto run = key.substr(j, 8);
      if (run == "sk-proj-") continue;  // the vendor prefix the mask quotes itself
      EXPECT_EQ(head.find(run), std::string::npos) << p << ": " << head;
      EXPECT_EQ(tail.find(run), std::string::npos) << p << ": " << tail;
    }
  }
  EXPECT_EQ(wire::scrub_secret("x" + key.substr(9, 8) + "y", key, mask), "x" + mask + "y");
  EXPECT_EQ(wire::scrub_secret("x" + key.substr(9, 7) + "y", key, mask), "x" + key.substr(9, 7) + "y");
  // The mask is not an echo: scrubbing twice changes nothing.
  const auto once = wire::scrub_secret(key + " and " + key.substr(3), key, mask);
  EXPECT_EQ(wire::scrub_secret(once, key, mask), once);
  EXPECT_EQ(wire::scrub_secret("abc short abc", "abc", "***"), "*** short ***");
  EXPECT_EQ(wire::scrub_secret("text", "", "***"), "text");
}

TEST(ProviderText, PrintableTextReplacesControlsAndCutsAtACharacterBoundary) {
  const std::string rep = "\xEF\xBF\xBD";
  EXPECT_EQ(wire::printable_text("a\x1b]0;title\x07z"), "a" + rep + "]0;title" + rep + "z");
  EXPECT_EQ(wire::printable_text("\x1b[2J\x7f"), rep + "[2J" + rep);
  EXPECT_EQ(wire::printable_text("c1 \xC2\x9B"
                                 "31m, nbsp \xC2\xA0"),
            "c1 " + rep + "31m, nbsp \xC2\xA0");
  EXPECT_EQ(wire::printable_text("bad \xFF\xC3 end"), "bad " + rep + rep + " end");
  EXPECT_EQ(wire::printable_text("caf\xC3\xA9", 4), "caf...");
  EXPECT_EQ(wire::printable_text("caf\xC3\xA9", 5), "caf\xC3\xA9");
  EXPECT_EQ(wire::printable_text("abc", 3), "abc");
  EXPECT_EQ(wire::printable_text("abcd", 3), "abc...");
}

/// The decoders cut a provider's message at 200 bytes: never inside a
/// character (the JSON output must stay UTF-8), and with no control
/// character left for a terminal to act on.
TEST(ProviderText, DecodedProviderMessagesAreCutAtCharacterBoundariesAndPrintable) {
  for (std::size_t pad = 190; pad < 205; ++pad) {
    const std::string body = R"({"error":{"message":")" + std::string(pad, 'a') + "\xC3\xA9\xE2\x82\xAC" +
                             R"(\u001b]0;pwned\u0007\u001b[2J"}})";
    auto d = wire::openai_chat::decode(body);
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, wire::decode_errc::provider_error);
    const auto& m = d.error().message;
    EXPECT_EQ(wire::detail::invalid_utf8_at(m), std::string::npos) << pad;
    for (char c : m) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20 || c == 0x7f) << pad << ": " << m;
  }
}

}  // namespace

}  // namespace http_wire_test
