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
using chain_t = keypool::chain<groq_pool, mistral_pool>;

constexpr const char* openai_ok =
    R"({"id":"chatcmpl-1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":1}})";

http::route route_to(const test_server& s, const char* id, std::string prefix) {
  return {providers::find_builtin(id)->with_base_url(s.base_url() + prefix), {"default-model"}};
}

/// groq (2 keys) then mistral (1 key), each behind its scripted server.
struct gateway_over_servers {
  test_server groq;
  test_server mistral;
  groq_pool gp{keypool::test::fake_keys("GROQ", 2)};
  mistral_pool mp{keypool::test::fake_keys("MISTRAL", 1)};
  chain_t chain{gp, mp};
  keypool::test::io_thread io;
  serve::gateway<chain_t> gw;
  std::uint16_t port = 0;

  gateway_over_servers(keypool::test::handler_fn g, keypool::test::handler_fn m, serve::gateway_options o = {})
      : groq(std::move(g)),
        mistral(std::move(m)),
        gw(chain, io.transport, {route_to(groq, "groq", "/openai/v1"), route_to(mistral, "mistral", "/v1")},
           with_port0(std::move(o))) {
    port = gw.listen();
    io.start();
  }
  ~gateway_over_servers() {
    gw.stop();
    io.stop();
  }
  static serve::gateway_options with_port0(serve::gateway_options o) {
    o.port = 0;
    return o;
  }
};

scripted_reply ok_reply(const received_request&) { return scripted_reply::json(openai_ok); }
scripted_reply rate_limited(const received_request&) {
  auto r = scripted_reply::json(R"({"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}})", 429);
  r.headers.emplace_back("retry-after", "30");
  return r;
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

}  // namespace
