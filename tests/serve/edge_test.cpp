// The gateway's edge: gateway keys, the listen-address rule, size limits,
// timeouts, the in-flight cap, the small endpoints, readiness, the hook,
// stop and drain; and the Anthropic endpoint (pass-through and the simple
// translations).

#include "serve/support/gateway_fixture.hpp"

#include <keypool/clock/manual.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/serve/gateway.hpp>

#include <gtest/gtest.h>

#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/parse.hpp>

#include <chrono>
#include <string>
#include <thread>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace serve_edge_test {
namespace {

using namespace std::chrono_literals;
using keypool::test::openai_ok;
using keypool::test::received_request;
using keypool::test::scripted_reply;
namespace serve = keypool::serve;
namespace providers = keypool::providers;

using groq_pool = keypool::basic_pool<providers::groq>;
using mistral_pool = keypool::basic_pool<providers::mistral>;
using anthropic_pool = keypool::basic_pool<providers::anthropic>;
using servers = keypool::test::gateway_over_servers<groq_pool, mistral_pool>;

scripted_reply ok_reply(const received_request&) { return scripted_reply::json(openai_ok); }
constexpr const char* chat = R"({"model":"auto","messages":[]})";

serve::gateway_options with_keys() {
  serve::gateway_options o;
  o.gateway_keys = {"gw-FAKE-key-one", "gw-FAKE-key-two"};
  return o;
}

TEST(GatewayKeys, MissingOrWrongKeyGets401InTheCallersFormat) {
  servers g(ok_reply, ok_reply, with_keys());
  keypool::test::client c(g.port);
  const auto none = c.post("/v1/chat/completions", chat);
  EXPECT_EQ(none.status, 401u);
  EXPECT_EQ(boost::json::parse(none.body).at("error").at("type").as_string(), "authentication_error");
  EXPECT_EQ(c.post("/v1/chat/completions", chat, {{"Authorization", "Bearer gw-FAKE-key-on"}}).status, 401u);
  EXPECT_EQ(c.post("/v1/chat/completions", chat, {{"x-api-key", "gw-FAKE-key-onex"}}).status, 401u);
  const auto anthropic = c.post("/v1/messages", chat);
  EXPECT_EQ(anthropic.status, 401u);
  EXPECT_EQ(boost::json::parse(anthropic.body).at("type").as_string(), "error");
  EXPECT_EQ(c.get("/stats").status, 401u);
  EXPECT_EQ(c.get("/healthz").status, 200u);  // probes need no key
  EXPECT_TRUE(g.groq.requests().empty());
}

TEST(GatewayKeys, RightKeyAsBearerOrXApiKeyIsAcceptedAndNeverForwarded) {
  servers g(ok_reply, ok_reply, with_keys());
  keypool::test::client c(g.port);
  EXPECT_EQ(c.post("/v1/chat/completions", chat, {{"Authorization", "Bearer gw-FAKE-key-two"}}).status, 200u);
  EXPECT_EQ(c.post("/v1/chat/completions", chat, {{"x-api-key", "gw-FAKE-key-one"}}).status, 200u);
  const auto got = g.groq.requests();
  ASSERT_EQ(got.size(), 2u);
  for (const auto& r : got) {
    EXPECT_EQ(r.header("authorization").rfind("Bearer FAKE-GROQ-secret-", 0), 0u);
    EXPECT_EQ(r.header("x-api-key"), "");
    for (const auto& f : r.headers) EXPECT_EQ(std::string(f.value()).find("gw-FAKE"), std::string::npos);
  }
}

TEST(GatewayKeys, NoKeyRefusesANonLoopbackAddress) {
  keypool::test::io_thread io;
  groq_pool gp(keypool::test::fake_keys("GROQ", 1));
  keypool::chain<groq_pool> chain(gp);
  serve::gateway_options o;
  o.address = "0.0.0.0";
  o.port = 0;
  serve::gateway<keypool::chain<groq_pool>> g(
      chain, io.transport, {{providers::groq::descriptor().with_base_url("http://127.0.0.1:1/v1"), {"m"}}}, o);
  try {
    g.listen();
    FAIL() << "listened on 0.0.0.0 without a gateway key";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("KEYPOOL_GATEWAY_KEY_1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("0.0.0.0"), std::string::npos) << e.what();
  }
  serve::gateway_options named = o;
  named.address = "localhost";
  serve::gateway<keypool::chain<groq_pool>> h(
      chain, io.transport, {{providers::groq::descriptor().with_base_url("http://127.0.0.1:1/v1"), {"m"}}}, named);
  EXPECT_THROW(h.listen(), std::invalid_argument);
}

TEST(GatewayLimits, OversizedBodyGets413AndOversizedHeadGets431) {
  serve::gateway_options o;
  o.max_body = 100;
  o.max_header = 1024;
  servers g(ok_reply, ok_reply, o);
  const auto a = keypool::test::client(g.port).post("/v1/chat/completions", std::string(1000, ' '));
  EXPECT_EQ(a.status, 413u);
  EXPECT_NE(a.body.find("100 bytes"), std::string::npos);
  const std::string chunked =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n200\r\n" +
      std::string(512, ' ') + "\r\n0\r\n\r\n";
  EXPECT_EQ(keypool::test::raw_exchange(g.port, chunked).rfind("HTTP/1.1 413", 0), 0u);
  const auto b = keypool::test::client(g.port).get("/healthz", {{"x-big", std::string(4096, 'a')}});
  EXPECT_EQ(b.status, 431u);
  EXPECT_TRUE(g.groq.requests().empty());
}

TEST(GatewayLimits, ASlowHeadIsCutOffAtTheHeaderTimeout) {
  serve::gateway_options o;
  o.header_timeout = 200ms;
  servers g(ok_reply, ok_reply, o);
  const auto start = std::chrono::steady_clock::now();
  // Half a request line, then nothing: the gateway closes without answering.
  const auto got = keypool::test::raw_exchange(g.port, "POST /v1/chat/comp", 10s);
  EXPECT_EQ(got, "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(GatewayLimits, RequestsBeyondTheInFlightCapGet503WithRetryAfter) {
  serve::gateway_options o;
  o.max_in_flight = 1;
  o.busy_retry_after = std::chrono::seconds(2);
  servers g(
      [](const received_request&) {
        auto r = scripted_reply::json(openai_ok);
        r.delay = 300ms;
        return r;
      },
      ok_reply, o);
  keypool::test::client slow(g.port);
  const std::string body = chat;
  const std::string raw =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
      body;
  boost::asio::write(slow.stream(), boost::asio::buffer(raw));
  for (int i = 0; i < 200 && g.gw.in_flight() == 0; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(g.gw.in_flight(), 1u);
  const auto busy = keypool::test::client(g.port).post("/v1/chat/completions", chat);
  EXPECT_EQ(busy.status, 503u);
  EXPECT_EQ(busy.header("retry-after"), "2");
  EXPECT_EQ(slow.read().status, 200u);
}

TEST(GatewayEndpoints, ModelsStatsMetricsHealth) {
  servers g(ok_reply, ok_reply);
  keypool::test::client c(g.port);
  ASSERT_EQ(c.post("/v1/chat/completions", chat).status, 200u);
  const auto models = c.get("/v1/models");
  ASSERT_EQ(models.status, 200u);
  const auto list = boost::json::parse(models.body);
  EXPECT_EQ(list.at("object").as_string(), "list");
  bool groq_default = false;
  for (const auto& m : list.at("data").as_array()) groq_default |= m.at("id").as_string() == "groq/default-model";
  EXPECT_TRUE(groq_default) << models.body;
  const auto text = c.get("/stats");
  EXPECT_EQ(text.status, 200u);
  EXPECT_NE(text.body.find("GROQ_API_KEY_1"), std::string::npos) << text.body;
  const auto json = c.get("/stats", {{"Accept", "application/json"}});
  EXPECT_EQ(json.header("content-type"), "application/json");
  EXPECT_NO_THROW(boost::json::parse(json.body));
  const auto metrics = c.get("/metrics");
  EXPECT_EQ(metrics.status, 200u);
  EXPECT_NE(metrics.body.find("GROQ_API_KEY_1"), std::string::npos);
  EXPECT_EQ(c.get("/healthz").status, 200u);
  EXPECT_EQ(c.get("/readyz").status, 200u);
  EXPECT_EQ(c.get("/nowhere").status, 404u);
  for (const auto* s : {text.body.c_str(), json.body.c_str(), metrics.body.c_str()})
    EXPECT_EQ(std::string(s).find("notREAL"), std::string::npos);
}

TEST(GatewayEndpoints, ReadyzFlipsTo503WhileEveryKeyIsLocked) {
  keypool::clock::manual clock;
  using manual_groq = keypool::basic_pool<providers::groq, keypool::policy::clock<keypool::clock::manual>>;
  using manual_mistral = keypool::basic_pool<providers::mistral, keypool::policy::clock<keypool::clock::manual>>;
  const auto limited = [](const received_request&) {
    auto r = scripted_reply::json(R"({"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}})", 429);
    r.headers.emplace_back("retry-after", "30");
    return r;
  };
  keypool::test::gateway_over_servers<manual_groq, manual_mistral> g(limited, limited, {}, {.clock = clock},
                                                                     {.clock = clock});
  keypool::test::client c(g.port);
  EXPECT_EQ(c.get("/readyz").status, 200u);
  EXPECT_EQ(c.post("/v1/chat/completions", chat).status, 429u);
  EXPECT_EQ(c.get("/readyz").status, 503u);
  EXPECT_FALSE(g.gw.ready());
  clock.advance(31s);
  EXPECT_EQ(c.get("/readyz").status, 200u);
}

TEST(GatewayHook, SeesEveryAnsweredRequestWithItsFacts) {
  servers g(ok_reply, ok_reply);
  keypool::test::records rec;
  // The hook is set before listen() in real use; here the fixture listened
  // already, so it is installed on the gateway's executor.
  boost::asio::post(g.gw.get_executor(), boost::asio::use_future([&] { g.gw.on_request(rec.hook()); })).get();
  keypool::test::client c(g.port);
  c.post("/v1/chat/completions", chat);
  c.get("/nowhere");
  // The hook runs after the answer is written: wait (bounded) for it.
  for (int i = 0; i < 400; ++i) {
    {
      std::lock_guard lock(rec.mu);
      if (rec.statuses.size() >= 2) break;
    }
    std::this_thread::sleep_for(5ms);
  }
  std::lock_guard lock(rec.mu);
  ASSERT_EQ(rec.statuses.size(), 2u);
  EXPECT_EQ(rec.statuses[0], 200u);
  EXPECT_EQ(rec.providers[0], "groq");
  EXPECT_EQ(rec.keys[0], "GROQ_API_KEY_1");
  EXPECT_EQ(rec.statuses[1], 404u);
}

TEST(GatewayStop, StopsAcceptingAndDrains) {
  servers g(ok_reply, ok_reply);
  keypool::test::client c(g.port);
  EXPECT_EQ(c.post("/v1/chat/completions", chat).status, 200u);
  g.gw.stop();
  EXPECT_TRUE(g.gw.async_drain(1s, boost::asio::use_future).get());
  for (int i = 0; i < 200 && g.gw.connections() > 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(g.gw.connections(), 0u);
  // The listener is closed: a new connection is refused.
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::socket s(ioc);
  boost::system::error_code ec;
  s.connect({boost::asio::ip::make_address("127.0.0.1"), g.port}, ec);
  EXPECT_TRUE(ec);
}

// ---- /v1/messages and translation -------------------------------------------

using anthropic_first = keypool::test::gateway_over_servers<anthropic_pool, groq_pool>;

constexpr const char* anthropic_ok =
    R"({"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5","content":[{"type":"text","text":"hello"}],)"
    R"("stop_reason":"end_turn","usage":{"input_tokens":5,"output_tokens":1}})";

scripted_reply anthropic_reply(const received_request&) { return scripted_reply::json(anthropic_ok); }

TEST(GatewayMessages, PassesThroughToAnthropicWithItsCredentials) {
  anthropic_first g(anthropic_reply, ok_reply, with_keys());
  keypool::test::client c(g.port);
  const std::string sent =
      R"({"model":"anthropic/claude-haiku-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}],"metadata":{"user_id":"u1"}})";
  const auto a = c.post("/v1/messages", sent, {{"x-api-key", "gw-FAKE-key-one"}, {"anthropic-version", "2023-06-01"}});
  ASSERT_EQ(a.status, 200u) << a.body;
  EXPECT_EQ(a.body, anthropic_ok);
  const auto got = g.first.requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].target, "/v1/messages");
  std::string expected = sent;
  expected.replace(expected.find("\"anthropic/claude-haiku-4-5\""), 28, "\"claude-haiku-4-5\"");
  EXPECT_EQ(got[0].body, expected);
  EXPECT_EQ(got[0].header("x-api-key"), "FAKE-ANTHROPIC-secret-1-notREAL");
  EXPECT_EQ(got[0].header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(a.header("x-keypool-key"), "ANTHROPIC_API_KEY_1");
}

TEST(GatewayMessages, OpenAIRequestIsTranslatedForAnthropicAndBack) {
  anthropic_first g(anthropic_reply, ok_reply);
  keypool::test::client c(g.port);
  const auto a = c.post(
      "/v1/chat/completions",
      R"({"model":"anthropic/claude-haiku-4-5","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]})");
  ASSERT_EQ(a.status, 200u) << a.body;
  const auto v = boost::json::parse(a.body);
  EXPECT_EQ(v.at("object").as_string(), "chat.completion");
  EXPECT_EQ(v.at("choices").at(0).at("message").at("content").as_string(), "hello");
  const auto sent = boost::json::parse(g.first.requests().at(0).body);
  EXPECT_EQ(sent.at("system").as_string(), "be brief");
  EXPECT_EQ(sent.at("model").as_string(), "claude-haiku-4-5");
}

TEST(GatewayMessages, AnthropicRequestIsTranslatedForAnOpenAIProvider) {
  anthropic_first g(anthropic_reply, ok_reply);
  keypool::test::client c(g.port);
  const auto a =
      c.post("/v1/messages", R"({"model":"groq/llama","max_tokens":5,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_EQ(a.status, 200u) << a.body;
  const auto v = boost::json::parse(a.body);
  EXPECT_EQ(v.at("type").as_string(), "message");
  EXPECT_EQ(v.at("content").at(0).at("text").as_string(), "hi");
  EXPECT_EQ(g.second.requests().at(0).target, "/openai/v1/chat/completions");
}

TEST(GatewayMessages, UntranslatableRequestNamesTheProviderAndFeature) {
  anthropic_first g(anthropic_reply, ok_reply);
  keypool::test::client c(g.port);
  const auto a =
      c.post("/v1/chat/completions",
             R"({"model":"anthropic/claude-haiku-4-5","seed":1,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(a.status, 400u);
  EXPECT_NE(a.body.find("anthropic: anthropic_messages: seed is not supported"), std::string::npos) << a.body;
  EXPECT_TRUE(g.first.requests().empty());
}

}  // namespace

}  // namespace serve_edge_test
