// The OpenAI pass-through against scripted servers: the body reaches the
// provider byte for byte with only the model replaced, the answer comes
// back as sent, streams are relayed, keys and providers fail over, and no
// secret reaches the caller.

#include "http/support/test_server.hpp"
#include "serve/support/gateway_fixture.hpp"

#include <keypool/providers/builtin.hpp>
#include <keypool/serve/gateway.hpp>

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <chrono>
#include <string>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace serve_passthrough_test {
namespace {

using namespace std::chrono_literals;
using keypool::test::received_request;
using keypool::test::scripted_reply;
using keypool::test::test_server;
namespace http = keypool::http;
namespace serve = keypool::serve;
namespace providers = keypool::providers;

using groq_pool = keypool::basic_pool<providers::groq>;
using mistral_pool = keypool::basic_pool<providers::mistral>;

using keypool::test::openai_ok;

using gateway_over_servers = keypool::test::gateway_over_servers<groq_pool, mistral_pool>;

scripted_reply ok_reply(const received_request&) { return scripted_reply::json(openai_ok); }
scripted_reply rate_limited(const received_request&) {
  auto r = scripted_reply::json(R"({"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}})", 429);
  r.headers.emplace_back("retry-after", "30");
  return r;
}

/// Writes a POST of `body` to /v1/chat/completions without reading.
void bhttp_request_raw(keypool::test::client& c, const std::string& body) {
  const std::string raw =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  boost::asio::write(c.stream(), boost::asio::buffer(raw));
}

TEST(GatewayPassThrough, ForwardsTheBodyByteForByteWithOnlyTheModelReplaced) {
  gateway_over_servers g(ok_reply, ok_reply);
  const std::string sent =
      R"({ "messages":[{"role":"user","content":"hi \"there\""}],"model" : "groq/llama-3.3-70b-versatile",)"
      R"("x_unknown":{"a":[1,2,{"b":"c\"}d"}]},"temperature":5e-1 ,"logit_bias":{"50256":-100}})";
  keypool::test::client c(g.port);
  const auto a = c.post("/v1/chat/completions", sent, {{"Authorization", "Bearer caller-token-FAKE"}});
  ASSERT_EQ(a.status, 200u) << a.body;
  EXPECT_EQ(a.body, openai_ok);
  const auto got = g.groq.requests();
  ASSERT_EQ(got.size(), 1u);
  std::string expected = sent;
  expected.replace(expected.find("\"groq/llama-3.3-70b-versatile\""), 30, "\"llama-3.3-70b-versatile\"");
  EXPECT_EQ(got[0].body, expected);
  EXPECT_EQ(got[0].target, "/openai/v1/chat/completions");
  EXPECT_EQ(got[0].header("authorization"), "Bearer FAKE-GROQ-secret-1-notREAL");
  EXPECT_EQ(a.header("x-keypool-provider"), "groq");
  EXPECT_EQ(a.header("x-keypool-model"), "llama-3.3-70b-versatile");
  EXPECT_EQ(a.header("x-keypool-key"), "GROQ_API_KEY_1");
  EXPECT_EQ(a.header("x-keypool-attempts"), "1");
}

TEST(GatewayPassThrough, AutoUsesTheRoutesModelAndKeepsTheConnection) {
  gateway_over_servers g(ok_reply, ok_reply);
  keypool::test::client c(g.port);
  for (int i = 0; i < 3; ++i) {
    const auto a = c.post("/v1/chat/completions", R"({"model":"auto","messages":[]})");
    ASSERT_EQ(a.status, 200u) << a.body;
  }
  const auto got = g.groq.requests();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(boost::json::parse(got[0].body).at("model").as_string(), "default-model");
  // Round robin over the two keys, on one upstream connection.
  EXPECT_EQ(got[1].header("authorization"), "Bearer FAKE-GROQ-secret-2-notREAL");
  EXPECT_EQ(g.groq.connections_accepted(), 1u);
}

TEST(GatewayPassThrough, RateLimitedKeyFailsOverToTheSecondKeyThenTheNextProvider) {
  gateway_over_servers g(rate_limited, ok_reply);
  keypool::test::client c(g.port);
  const auto a = c.post("/v1/chat/completions", R"({"model":"auto","messages":[]})");
  ASSERT_EQ(a.status, 200u) << a.body;
  EXPECT_EQ(g.groq.requests().size(), 2u);
  EXPECT_EQ(g.mistral.requests().size(), 1u);
  EXPECT_EQ(a.header("x-keypool-provider"), "mistral");
  EXPECT_EQ(a.header("x-keypool-key"), "MISTRAL_API_KEY_1");
  EXPECT_EQ(a.header("x-keypool-attempts"), "3");
  EXPECT_EQ(g.gp.snapshot().rate_limited(), 2u);
}

TEST(GatewayPassThrough, EveryKeyLockedAnswers429WithRetryAfter) {
  gateway_over_servers g(rate_limited, rate_limited);
  keypool::test::client c(g.port);
  const auto a = c.post("/v1/chat/completions", R"({"model":"auto","messages":[]})");
  ASSERT_EQ(a.status, 429u) << a.body;
  const auto retry = std::stoi(a.header("retry-after"));
  EXPECT_GE(retry, 29);
  EXPECT_LE(retry, 30);
  const auto e = boost::json::parse(a.body).at("error");
  const std::string msg(e.at("message").as_string());
  EXPECT_NE(msg.find("GROQ"), std::string::npos) << msg;
  EXPECT_NE(msg.find("rate limited"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("FAKE"), std::string::npos) << msg;
  // Once locked, no attempt at all: the next caller is told at once.
  const auto b = c.post("/v1/chat/completions", R"({"model":"auto","messages":[]})");
  EXPECT_EQ(b.status, 429u);
  EXPECT_EQ(b.header("x-keypool-attempts"), "0");
  EXPECT_EQ(g.groq.requests().size(), 2u);
}

std::vector<std::string> sse_chunks(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"t" + std::to_string(i) + "\"}}]}\n\n");
  out.push_back("data: [DONE]\n\n");
  return out;
}

scripted_reply streamed(const received_request&) {
  scripted_reply r;
  r.content_type = "text/event-stream";
  r.chunks = sse_chunks(3);
  r.chunk_delay = 2ms;
  return r;
}

TEST(GatewayStreaming, RelaysTheEventsAsSentAndKeepsTheConnection) {
  gateway_over_servers g(streamed, ok_reply);
  keypool::test::client c(g.port);
  const std::string body = R"({"model":"auto","stream":true,"messages":[]})";
  const auto a = c.post("/v1/chat/completions", body);
  ASSERT_EQ(a.status, 200u) << a.body;
  std::string all;
  for (const auto& ch : sse_chunks(3)) all += ch;
  EXPECT_EQ(a.body, all);
  EXPECT_EQ(a.header("content-type"), "text/event-stream");
  EXPECT_EQ(a.header("x-keypool-provider"), "groq");
  EXPECT_EQ(a.header("x-keypool-key"), "GROQ_API_KEY_1");
  EXPECT_EQ(a.header("x-keypool-attempts"), "1");
  EXPECT_EQ(g.groq.requests().at(0).header("accept"), "text/event-stream");
  const auto b = c.post("/v1/chat/completions", body);  // same connection: the chunked body ended cleanly
  EXPECT_EQ(b.status, 200u);
  EXPECT_EQ(b.header("x-keypool-key"), "GROQ_API_KEY_2");
}

TEST(GatewayStreaming, FailsOverBeforeTheFirstByte) {
  gateway_over_servers g(rate_limited, streamed);
  keypool::test::client c(g.port);
  const auto a = c.post("/v1/chat/completions", R"({"model":"auto","stream":true,"messages":[]})");
  ASSERT_EQ(a.status, 200u) << a.body;
  EXPECT_EQ(a.header("x-keypool-provider"), "mistral");
  EXPECT_EQ(a.header("x-keypool-attempts"), "3");
  EXPECT_NE(a.body.find("data: [DONE]"), std::string::npos);
}

TEST(GatewayStreaming, ACallerThatGoesAwayCancelsTheUpstreamRequest) {
  gateway_over_servers g(
      [](const received_request&) {
        scripted_reply r;
        r.content_type = "text/event-stream";
        r.chunks = sse_chunks(200);
        r.chunk_delay = 10ms;
        return r;
      },
      ok_reply);
  keypool::test::records rec;
  {
    keypool::test::client c(g.port);
    bhttp_request_raw(c, R"({"model":"auto","stream":true,"messages":[]})");
    // The head and the first event arrive while the upstream still streams.
    char buf[512];
    const auto n = c.stream().read_some(boost::asio::buffer(buf));
    EXPECT_NE(std::string(buf, n).find("200 OK"), std::string::npos);
  }  // closed mid-answer
  // Wait (bounded) until the gateway noticed and the request ended.
  for (int i = 0; i < 500 && (g.gw.in_flight() > 0 || g.io.transport.stats().open > 0); ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(g.gw.in_flight(), 0u);
  EXPECT_EQ(g.io.transport.stats().open, 0u);  // the upstream connection was closed, not pooled
  const auto k = g.gp.snapshot().keys.at(0);
  EXPECT_EQ(k.requests, 1u);
  EXPECT_EQ(k.successes(), 1u);
  EXPECT_TRUE(k.available());
}

TEST(GatewayErrors, ProviderBadRequestIsRelayedAs400WithoutFailover) {
  constexpr const char* bad = R"({"error":{"message":"messages: field required","type":"invalid_request_error"}})";
  gateway_over_servers g([](const received_request&) { return scripted_reply::json(bad, 400); }, ok_reply);
  keypool::test::client c(g.port);
  const auto a = c.post("/v1/chat/completions", R"({"model":"auto"})");
  EXPECT_EQ(a.status, 400u);
  EXPECT_EQ(a.body, bad);
  EXPECT_EQ(a.header("x-keypool-provider"), "groq");
  EXPECT_TRUE(g.mistral.requests().empty());
  EXPECT_EQ(g.gp.snapshot().available(), 2u);
}

TEST(GatewayErrors, NothingAnsweredGives502WithTheAttempts) {
  const auto broken = [](const received_request&) {
    return scripted_reply::json(R"({"error":{"message":"upstream exploded","type":"server_error"}})", 500);
  };
  gateway_over_servers g(broken, broken);
  keypool::test::client c(g.port);
  const auto a = c.post("/v1/chat/completions", R"({"model":"auto","messages":[]})");
  ASSERT_EQ(a.status, 502u) << a.body;
  const auto attempts = boost::json::parse(a.body).at("error").at("attempts").as_array();
  ASSERT_EQ(attempts.size(), 2u);
  EXPECT_EQ(attempts[0].at("provider").as_string(), "groq");
  EXPECT_EQ(attempts[0].at("model").as_string(), "default-model");
  EXPECT_EQ(attempts[0].at("key").as_string(), "GROQ_API_KEY_1");
  EXPECT_EQ(attempts[0].at("status").as_int64(), 500);
  EXPECT_EQ(attempts[1].at("provider").as_string(), "mistral");
  EXPECT_EQ(a.header("x-keypool-attempts"), "2");
}

TEST(GatewayErrors, NoSecretInAnyAnswerEvenWhenProvidersEchoIt) {
  const auto echo = [](const received_request& rq) {
    const auto key = rq.header("authorization").substr(7);
    auto r = scripted_reply::json(R"({"error":{"message":"Incorrect API key provided: )" + key +
                                      R"(","type":"invalid_request_error","code":"invalid_api_key"}})",
                                  401);
    r.headers.emplace_back("x-echo", key);
    return r;
  };
  gateway_over_servers g(echo, [](const received_request& rq) {
    const auto key = rq.header("authorization").substr(7);
    return scripted_reply::json(R"({"error":{"message":"bad gateway for )" + key + R"("}})", 400);
  });
  keypool::test::client c(g.port);
  std::string everything;
  for (int i = 0; i < 2; ++i) {
    const auto a = c.post("/v1/chat/completions", R"({"model":"auto","messages":[]})");
    everything += a.body;
    for (const auto& f : a.headers) everything += std::string(f.name_string()) + ": " + std::string(f.value()) + "\n";
  }
  for (const auto* prefix : {"GROQ", "MISTRAL"})
    for (const auto& k : keypool::test::fake_keys(prefix, 2)) EXPECT_EQ(everything.find(k.secret), std::string::npos);
  EXPECT_EQ(everything.find("secret-1-notREAL"), std::string::npos) << everything;
  EXPECT_EQ(everything.find("secret-2-notREAL"), std::string::npos) << everything;
}

TEST(GatewayRouting, ProviderSlashModelGoesToThatProviderOnly) {
  gateway_over_servers g(ok_reply, ok_reply);
  keypool::test::client c(g.port);
  const auto a = c.post("/v1/chat/completions", R"({"model":"mistral/mistral-small-latest","messages":[]})");
  ASSERT_EQ(a.status, 200u) << a.body;
  EXPECT_TRUE(g.groq.requests().empty());
  ASSERT_EQ(g.mistral.requests().size(), 1u);
  EXPECT_EQ(boost::json::parse(g.mistral.requests()[0].body).at("model").as_string(), "mistral-small-latest");
  EXPECT_EQ(a.header("x-keypool-model"), "mistral-small-latest");
}

TEST(GatewayRouting, ANamedRouteGoesToItsTargetsWithTheirModelsAndIsListed) {
  serve::gateway_options o;
  o.named_routes["fast"] = {"mistral/mistral-small-latest"};
  o.named_routes["both"] = {"mistral/mistral-small-latest", "groq/llama-3.1-8b-instant"};
  gateway_over_servers g(rate_limited, ok_reply, o);
  keypool::test::client c(g.port);
  auto a = c.post("/v1/chat/completions", R"({"model":"fast","messages":[]})");
  ASSERT_EQ(a.status, 200u) << a.body;
  EXPECT_TRUE(g.groq.requests().empty());
  ASSERT_EQ(g.mistral.requests().size(), 1u);
  EXPECT_EQ(boost::json::parse(g.mistral.requests()[0].body).at("model").as_string(), "mistral-small-latest");
  // Both targets, in the chain's order: groq's model is the route's, not its default.
  a = c.post("/v1/chat/completions", R"({"model":"both","messages":[]})");
  ASSERT_EQ(a.status, 200u) << a.body;
  ASSERT_FALSE(g.groq.requests().empty());
  EXPECT_EQ(boost::json::parse(g.groq.requests()[0].body).at("model").as_string(), "llama-3.1-8b-instant");
  EXPECT_EQ(a.header("x-keypool-provider"), "mistral");
  const auto models = c.get("/v1/models");
  EXPECT_NE(models.body.find(R"("id":"fast")"), std::string::npos) << models.body;
}

TEST(GatewayRouting, UnknownModelAndMalformedBodiesAreRefusedWithoutAnAttempt) {
  gateway_over_servers g(ok_reply, ok_reply);
  keypool::test::client c(g.port);
  const auto a = c.post("/v1/chat/completions", R"({"model":"no-such-model","messages":[]})");
  EXPECT_EQ(a.status, 404u);
  EXPECT_NE(a.body.find("no-such-model"), std::string::npos);
  EXPECT_NE(a.body.find("groq, mistral"), std::string::npos);
  const auto b = c.post("/v1/chat/completions", R"({"model":"auto","messages":[)");
  EXPECT_EQ(b.status, 400u);
  EXPECT_NE(b.body.find("not valid JSON"), std::string::npos);
  const auto d = c.post("/v1/chat/completions", R"([1,2])");
  EXPECT_EQ(d.status, 400u);
  EXPECT_TRUE(g.groq.requests().empty());
  EXPECT_TRUE(g.mistral.requests().empty());
}

}  // namespace

}  // namespace serve_passthrough_test
