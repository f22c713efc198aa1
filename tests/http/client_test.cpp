/// The failover engine against loopback providers: key failover, provider
/// failover, model fallback, bad requests, budgets. Keys are obviously fake.

#include "support/client_fixtures.hpp"
#include "support/test_server.hpp"

#include <keypool/chain/chain.hpp>
#include <keypool/core/key.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/client.hpp>
#include <keypool/providers/builtin.hpp>

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <thread>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace http_client_test {
namespace {

using namespace std::chrono_literals;
namespace http = keypool::http;
namespace wire = keypool::wire;
namespace providers = keypool::providers;
using keypool::outcome_kind;
using keypool::test::fast_options;
using keypool::test::keys;
using keypool::test::received_request;
using keypool::test::scripted_reply;
using keypool::test::test_server;
using keypool::test::vision;

using groq_pool = keypool::basic_pool<providers::groq>;
using anthropic_pool = keypool::basic_pool<providers::anthropic>;

std::string openai_ok(const std::string& text) {
  return R"({"model":"m","choices":[{"message":{"content":")" + text +
         R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":2}})";
}

std::string model_of(const received_request& rq) {
  return std::string(boost::json::parse(rq.body).at("model").as_string());
}

http::route groq_route(const test_server& s, std::vector<std::string> models = {"vision-a"}) {
  return {providers::groq::descriptor().with_base_url(s.base_url() + "/openai/v1"), std::move(models)};
}

http::route anthropic_route(const test_server& s) {
  return {providers::anthropic::descriptor().with_base_url(s.base_url() + "/v1"), {"claude-test"}};
}

test_server anthropic_ok_server() {
  return test_server([](const received_request& rq) {
    EXPECT_EQ(rq.header("x-api-key").rfind("test-fake-ANTHROPIC-", 0), 0u);
    EXPECT_EQ(rq.header("anthropic-version"), "2023-06-01");
    return scripted_reply::json(
        R"({"type":"message","model":"claude-test","content":[{"type":"text","text":"from claude"}],)"
        R"("stop_reason":"end_turn","usage":{"input_tokens":7,"output_tokens":3}})");
  });
}

TEST(Client, RateLimitedKeyFailsOverToAnotherKeyOfTheSameProvider) {
  test_server groq([](const received_request& rq) {
    if (rq.header("Authorization") == "Bearer test-fake-GROQ-1") {
      auto r = scripted_reply::json(
          R"({"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}})", 429);
      r.headers = {{"retry-after", "30"}};
      return r;
    }
    return scripted_reply::json(openai_ok("hello"));
  });
  groq_pool gp(keys("GROQ", 2));
  auto chain = keypool::make_chain(gp);
  http::transport t(fast_options());
  http::client c(chain, t, {groq_route(groq)});

  auto r = c.chat(vision());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->response.text, "hello");
  EXPECT_EQ(r->key_variable, "GROQ_API_KEY_2");
  ASSERT_EQ(r->attempts.size(), 2u);
  EXPECT_EQ(r->attempts[0].key_variable, "GROQ_API_KEY_1");
  EXPECT_EQ(r->attempts[0].outcome.kind, outcome_kind::rate_limited);
  EXPECT_EQ(r->attempts[0].status, 429u);
  EXPECT_EQ(r->attempts[0].outcome.retry_after, std::optional<std::chrono::milliseconds>(30s));
  EXPECT_EQ(r->attempts[1].outcome.kind, outcome_kind::success);
  for (const auto& a : r->attempts) {
    EXPECT_EQ(a.provider, "groq");
    EXPECT_EQ(a.model, "vision-a");
    EXPECT_EQ(a.reason.find("test-fake"), std::string::npos);
  }
  // Key 1 is locked now: the next chat goes straight to key 2.
  auto again = c.chat(vision());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(again->attempts.size(), 1u);
  EXPECT_EQ(gp.snapshot().rate_limited(), 1u);
}

TEST(Client, TransientErrorMovesToTheNextProvider) {
  test_server groq([](const received_request&) {
    return scripted_reply::json(R"({"error":{"message":"Service Unavailable","type":"internal_server_error"}})", 503);
  });
  auto anthropic = anthropic_ok_server();
  groq_pool gp(keys("GROQ", 3));
  anthropic_pool ap(keys("ANTHROPIC", 1));
  auto chain = keypool::make_chain(gp, ap);
  http::transport t(fast_options());
  http::client c(chain, t, {groq_route(groq), anthropic_route(anthropic)});
  auto r = c.chat(vision());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->provider, "anthropic");
  EXPECT_EQ(r->response.text, "from claude");
  EXPECT_EQ(r->response.usage, (wire::usage{7, 3}));
  ASSERT_EQ(r->attempts.size(), 2u);
  EXPECT_EQ(r->attempts[0].outcome.kind, outcome_kind::transient);
  EXPECT_EQ(groq.requests().size(), 1u);  // one 503 is not blamed on the other keys
  EXPECT_EQ(gp.snapshot().available(), 3u);
}

TEST(Client, ConnectionFailureMovesToTheNextProvider) {
  std::uint16_t dead_port;
  {
    test_server s([](const received_request&) { return scripted_reply{}; });
    dead_port = s.port();
  }
  auto anthropic = anthropic_ok_server();
  groq_pool gp(keys("GROQ", 1));
  anthropic_pool ap(keys("ANTHROPIC", 1));
  auto chain = keypool::make_chain(gp, ap);
  http::transport t(fast_options());
  http::route dead{providers::groq::descriptor().with_base_url("http://127.0.0.1:" + std::to_string(dead_port) + "/v1"),
                   {"m"}};
  http::client c(chain, t, {dead, anthropic_route(anthropic)});
  auto r = c.chat(vision());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->provider, "anthropic");
  ASSERT_EQ(r->attempts.size(), 2u);
  EXPECT_EQ(r->attempts[0].status, 0u);
  EXPECT_NE(r->attempts[0].reason.find("connect_failed"), std::string::npos) << r->attempts[0].reason;
}

TEST(Client, BadRequestReturnsAtOnceAndBurnsNoKey) {
  test_server groq([](const received_request&) {
    return scripted_reply::json(
        R"({"error":{"message":"'messages' must contain at least one item","type":"invalid_request_error"}})", 400);
  });
  auto anthropic = anthropic_ok_server();
  groq_pool gp(keys("GROQ", 3));
  anthropic_pool ap(keys("ANTHROPIC", 1));
  auto chain = keypool::make_chain(gp, ap);
  http::transport t(fast_options());
  http::client c(chain, t, {groq_route(groq), anthropic_route(anthropic)});
  auto r = c.chat(vision());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::failover_errc::bad_request);
  EXPECT_EQ(r.error().status, 400u);
  EXPECT_NE(r.error().body.find("at least one item"), std::string::npos);
  EXPECT_EQ(r.error().attempts.size(), 1u);
  EXPECT_TRUE(anthropic.requests().empty());
  EXPECT_EQ(gp.snapshot().available(), 3u);
}

TEST(Client, UnavailableModelFallsBackToTheNextModelWithTheSameKey) {
  test_server groq([](const received_request& rq) {
    if (model_of(rq) == "retired-vision")
      return scripted_reply::json(
          R"({"error":{"message":"The model `retired-vision` has been decommissioned","type":"invalid_request_error",)"
          R"("code":"model_decommissioned"}})",
          400);
    return scripted_reply::json(openai_ok("new model"));
  });
  groq_pool gp(keys("GROQ", 2));
  auto chain = keypool::make_chain(gp);
  http::transport t(fast_options());
  http::client c(chain, t, {groq_route(groq, {"retired-vision", "current-vision"})});
  auto r = c.chat(vision());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->model, "current-vision");
  ASSERT_EQ(r->attempts.size(), 2u);
  EXPECT_EQ(r->attempts[0].outcome.kind, outcome_kind::model_unavailable);
  EXPECT_EQ(r->attempts[0].key_variable, r->attempts[1].key_variable);
  // Remembered for that key's account: the same key skips the retired model.
  auto again = c.chat(vision());  // round robin: the other key, which has not seen it yet
  auto third = c.chat(vision());  // back to the first key
  ASSERT_TRUE(again && third);
  EXPECT_EQ(third->attempts.size(), 1u);
  EXPECT_EQ(third->attempts[0].model, "current-vision");
  EXPECT_EQ(gp.snapshot().available(), 2u);
  // Forgotten on request: the next key tries the retired model first again.
  c.clear_unavailable_models();
  auto fourth = c.chat(vision());
  ASSERT_TRUE(fourth);
  ASSERT_EQ(fourth->attempts.size(), 2u);
  EXPECT_EQ(fourth->attempts[0].model, "retired-vision");
}

/// What one client learns reaches its hook, and a second client (a later run)
/// seeded with it skips the model for that key from its first request.
TEST(Client, UnavailableModelHookAndSeedCarryTheMemoryToAnotherClient) {
  test_server groq([](const received_request& rq) {
    if (model_of(rq) == "retired-vision")
      return scripted_reply::json(
          R"({"error":{"message":"The model `retired-vision` has been decommissioned","type":"invalid_request_error",)"
          R"("code":"model_decommissioned"}})",
          400);
    return scripted_reply::json(openai_ok("new model"));
  });
  groq_pool gp(keys("GROQ", 1));
  auto chain = keypool::make_chain(gp);
  http::transport t(fast_options());
  const auto route = groq_route(groq, {"retired-vision", "current-vision"});
  std::vector<http::unavailable_model> told;
  http::failover_options fo;
  fo.model_unavailable_ttl = 10min;
  fo.on_model_unavailable = [&told](const http::unavailable_model& m) { told.push_back(m); };
  const auto before = std::chrono::system_clock::now();
  {
    http::client first(chain, t, {route}, fo);
    ASSERT_TRUE(first.chat(vision()));
  }
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].provider, "groq");
  EXPECT_EQ(told[0].account, gp.snapshot().keys[0].fingerprint);  // no account: the key, never its secret
  EXPECT_EQ(told[0].model, "retired-vision");
  EXPECT_GE(told[0].until, before + 10min);
  EXPECT_LE(told[0].until, std::chrono::system_clock::now() + 10min);

  http::client second(chain, t, {route});
  second.remember_unavailable(told[0]);
  auto expired = told[0];
  expired.model = "current-vision";
  expired.until = std::chrono::system_clock::now() - 1s;  // over: ignored
  second.remember_unavailable(expired);
  auto r = second.chat(vision());
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->attempts.size(), 1u);
  EXPECT_EQ(r->attempts[0].model, "current-vision");
  EXPECT_EQ(told.size(), 1u);  // seeding tells nobody

  http::client fresh(chain, t, {route});
  auto f = fresh.chat(vision());
  ASSERT_TRUE(f);
  EXPECT_EQ(f->attempts.size(), 2u);  // without the seed the retired model is tried again
}

TEST(Client, AllKeysInvalidGivesTheStructuredError) {
  test_server groq([](const received_request&) {
    return scripted_reply::json(R"({"error":{"message":"Invalid API Key","type":"invalid_request_error",)"
                                R"("code":"invalid_api_key"}})",
                                401);
  });
  groq_pool gp(keys("GROQ", 2));
  auto chain = keypool::make_chain(gp);
  http::transport t(fast_options());
  http::client c(chain, t, {groq_route(groq)});
  auto r = c.chat(vision());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::failover_errc::all_unavailable) << r.error().message;
  EXPECT_NE(r.error().message.find("All GROQ API keys are invalid"), std::string::npos) << r.error().message;
  ASSERT_TRUE(r.error().unavailable.has_value());
  EXPECT_EQ(r.error().attempts.size(), 2u);
  for (const auto& a : r.error().attempts) EXPECT_EQ(a.outcome.kind, outcome_kind::invalid_key);
  EXPECT_EQ(r.error().message.find("test-fake"), std::string::npos);
}

TEST(Client, AttemptBudgetIsHonoured) {
  test_server groq([](const received_request&) {
    return scripted_reply::json(R"({"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}})", 429);
  });
  groq_pool gp(keys("GROQ", 5));
  auto chain = keypool::make_chain(gp);
  http::transport t(fast_options());
  http::failover_options fo;
  fo.max_attempts = 2;
  http::client c(chain, t, {groq_route(groq)}, fo);
  auto r = c.chat(vision());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::failover_errc::attempts_exhausted) << r.error().message;
  EXPECT_EQ(r.error().attempts.size(), 2u);
  EXPECT_EQ(groq.requests().size(), 2u);
}

TEST(Client, AsyncChatWithACoroutine) {
  test_server groq([](const received_request&) { return scripted_reply::json(openai_ok("async")); });
  groq_pool gp(keys("GROQ", 1));
  auto chain = keypool::make_chain(gp);
  boost::asio::io_context ioc;
  http::transport t(ioc.get_executor(), fast_options());
  http::client c(chain, t, {groq_route(groq)});
  std::string text;
  boost::asio::co_spawn(
      ioc,
      [&]() -> boost::asio::awaitable<void> {
        auto r = co_await c.async_chat(vision(), boost::asio::use_awaitable);
        text = r ? r->response.text : r.error().message;
      },
      boost::asio::detached);
  ioc.run();
  EXPECT_EQ(text, "async");
}

/// co_chat: the same chat awaited inside a coroutine already on the
/// transport's executor (no coroutine spawned for it): failover, attempts,
/// the completion count and the statistics hook all as with async_chat.
TEST(Client, CoChatFailsOverAndRunsTheHookLikeAsyncChat) {
  test_server groq([](const received_request& rq) {
    if (rq.header("Authorization") == "Bearer test-fake-GROQ-1")
      return scripted_reply::json(R"({"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}})", 429);
    return scripted_reply::json(openai_ok("awaited"));
  });
  groq_pool gp(keys("GROQ", 2));
  auto chain = keypool::make_chain(gp);
  boost::asio::io_context ioc;
  auto o = fast_options();
  o.implicit_strand = true;  // one thread runs ioc
  http::transport t(ioc.get_executor(), o);
  http::client c(chain, t, {groq_route(groq)});
  int hook_calls = 0;
  c.on_statistics([&](const http::statistics_event& e) {
    ++hook_calls;
    EXPECT_TRUE(e.outcome);
  });
  std::vector<http::chat_outcome> outcomes;
  boost::asio::co_spawn(
      t.get_executor(),
      [&]() -> boost::asio::awaitable<void> {
        for (int i = 0; i < 2; ++i) outcomes.push_back(co_await c.co_chat(vision()));
      },
      boost::asio::detached);
  ioc.run();
  ASSERT_EQ(outcomes.size(), 2u);
  ASSERT_TRUE(outcomes[0]) << outcomes[0].error().message;
  EXPECT_EQ(outcomes[0]->response.text, "awaited");
  ASSERT_TRUE(outcomes[1]) << outcomes[1].error().message;
  // Key 1 answers 429 once (an attempt of its own) and is locked out after.
  EXPECT_EQ(outcomes[0]->attempts.size() + outcomes[1]->attempts.size(), 3u);
  for (const auto& o : outcomes) {
    EXPECT_EQ(o->key_variable, "GROQ_API_KEY_2");
    if (o->attempts.size() == 2) {
      EXPECT_EQ(o->attempts[0].key_variable, "GROQ_API_KEY_1");
      EXPECT_EQ(o->attempts[0].outcome.kind, keypool::outcome_kind::rate_limited);
    }
  }
  EXPECT_EQ(c.completed(), 2u);
  EXPECT_EQ(hook_calls, 2);
}

TEST(Client, RouteMismatchIsRejectedAtConstruction) {
  groq_pool gp(keys("GROQ", 1));
  auto chain = keypool::make_chain(gp);
  http::transport t(fast_options());
  http::route wrong{providers::anthropic::descriptor(), {"m"}};
  EXPECT_THROW(http::client(chain, t, {wrong}), std::invalid_argument);
}

TEST(Client, WaitsForTheEarliestKeyWhenAskedTo) {
  std::atomic<int> calls{0};
  test_server groq([&](const received_request&) {
    if (calls++ == 0)
      return scripted_reply::json(R"({"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}})", 429);
    return scripted_reply::json(openai_ok("after the wait"));
  });
  groq_pool::options po;
  po.lockout = keypool::lockout::fixed{std::chrono::milliseconds(300)};
  groq_pool gp(keys("GROQ", 1), po);
  auto chain = keypool::make_chain(gp);
  http::transport t(fast_options());

  http::client fail_fast(chain, t, {groq_route(groq)});
  auto r1 = fail_fast.chat(vision());
  ASSERT_FALSE(r1);
  EXPECT_EQ(r1.error().code, http::failover_errc::all_unavailable);
  ASSERT_TRUE(r1.error().unavailable);
  EXPECT_TRUE(r1.error().unavailable->next_available().has_value());
  EXPECT_NE(r1.error().message.find("rate limited"), std::string::npos) << r1.error().message;

  http::failover_options fo;
  fo.wait_for_key = true;
  fo.deadline = 5s;
  http::client patient(chain, t, {groq_route(groq)}, fo);
  const auto start = std::chrono::steady_clock::now();
  auto r2 = patient.chat(vision());
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_EQ(r2->response.text, "after the wait");
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
}

TEST(Client, SharedByManyThreads) {
  // Key 1 is always rate limited; the others answer. Every chat succeeds.
  test_server groq([](const received_request& rq) {
    if (rq.header("Authorization") == "Bearer test-fake-GROQ-1")
      return scripted_reply::json(R"({"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}})", 429);
    return scripted_reply::json(openai_ok("ok"));
  });
  groq_pool gp(keys("GROQ", 3));
  auto chain = keypool::make_chain(gp);
  boost::asio::io_context ioc;
  auto work = boost::asio::make_work_guard(ioc);
  std::vector<std::thread> io_threads;
  for (int i = 0; i < 2; ++i) io_threads.emplace_back([&] { ioc.run(); });
  {
    http::transport t(ioc.get_executor(), fast_options());
    http::client c(chain, t, {groq_route(groq)});
    std::atomic<int> ok{0};
    std::vector<std::thread> callers;
    for (int n = 0; n < 4; ++n)
      callers.emplace_back([&] {
        for (int i = 0; i < 20; ++i)
          if (auto r = c.chat(vision()); r && r->response.text == "ok") ++ok;
      });
    for (auto& th : callers) th.join();
    EXPECT_EQ(ok.load(), 80);
  }
  work.reset();
  for (auto& th : io_threads) th.join();
  EXPECT_EQ(gp.snapshot().rate_limited(), 1u);
}

// ---------------------------------------------------------------- streaming

std::vector<std::string> anthropic_stream_chunks() {
  return {
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-test\","
      "\"usage\":{\"input_tokens\":11,\"output_tokens\":1}}}\n\n",
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
      "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\n",
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
      "\"delta\":{\"type\":\"text_delta\",\"text\":\"lo\"}}\n\n",
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
      "\"usage\":{\"output_tokens\":4}}\n\n",
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"};
}

TEST(ClientStreaming, FailsOverBeforeTheFirstDeltaThenStreams) {
  test_server groq([](const received_request& rq) {
    EXPECT_TRUE(boost::json::parse(rq.body).at("stream").as_bool());
    return scripted_reply::json(R"({"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}})", 429);
  });
  test_server anthropic([](const received_request& rq) {
    EXPECT_TRUE(boost::json::parse(rq.body).at("stream").as_bool());
    scripted_reply r;
    r.content_type = "text/event-stream";
    r.chunks = anthropic_stream_chunks();
    r.chunk_delay = 5ms;
    return r;
  });
  groq_pool gp(keys("GROQ", 1));
  anthropic_pool ap(keys("ANTHROPIC", 1));
  auto chain = keypool::make_chain(gp, ap);
  http::transport t(fast_options());
  http::client c(chain, t, {groq_route(groq), anthropic_route(anthropic)});
  std::vector<std::string> deltas;
  auto r = c.chat_stream(vision(), [&](std::string_view d) { deltas.emplace_back(d); });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(deltas, (std::vector<std::string>{"Hel", "lo"}));
  EXPECT_EQ(r->response.text, "Hello");
  EXPECT_EQ(r->response.usage, (wire::usage{11, 4}));
  EXPECT_EQ(r->provider, "anthropic");
  ASSERT_EQ(r->attempts.size(), 2u);
  EXPECT_EQ(r->attempts[0].outcome.kind, outcome_kind::rate_limited);
}

TEST(ClientStreaming, BrokenStreamAfterTextIsNotRetried) {
  test_server anthropic([](const received_request&) {
    scripted_reply r;
    r.content_type = "text/event-stream";
    r.chunks = anthropic_stream_chunks();
    r.cut_after = 3;  // message_start and two deltas, then the connection drops
    return r;
  });
  test_server groq([](const received_request&) { return scripted_reply::json(openai_ok("should not be used")); });
  anthropic_pool ap(keys("ANTHROPIC", 1));
  groq_pool gp(keys("GROQ", 1));
  auto chain = keypool::make_chain(ap, gp);
  http::transport t(fast_options());
  http::client c(chain, t, {anthropic_route(anthropic), groq_route(groq)});
  std::string text;
  auto r = c.chat_stream(vision(), [&](std::string_view d) { text += d; });
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::failover_errc::stream_failed) << r.error().message;
  EXPECT_EQ(text, "Hello");
  EXPECT_TRUE(groq.requests().empty());
  EXPECT_EQ(ap.snapshot().available(), 1u);  // not the key's fault
}

TEST(ClientStreaming, TruncatedStreamBeforeAnyTextFailsOver) {
  test_server anthropic([](const received_request&) {
    scripted_reply r;
    r.content_type = "text/event-stream";
    r.chunks = anthropic_stream_chunks();
    r.cut_after = 1;  // only message_start
    return r;
  });
  test_server groq([](const received_request&) {
    scripted_reply r;
    r.content_type = "text/event-stream";
    r.chunks = {"data: {\"choices\":[{\"delta\":{\"content\":\"ok\"},\"finish_reason\":\"stop\"}]}\n\n",
                "data: [DONE]\n\n"};
    return r;
  });
  anthropic_pool ap(keys("ANTHROPIC", 1));
  groq_pool gp(keys("GROQ", 1));
  auto chain = keypool::make_chain(ap, gp);
  http::transport t(fast_options());
  http::client c(chain, t, {anthropic_route(anthropic), groq_route(groq)});
  std::string text;
  auto r = c.chat_stream(vision(), [&](std::string_view d) { text += d; });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(text, "ok");
  EXPECT_EQ(r->provider, "groq");
  ASSERT_EQ(r->attempts.size(), 2u);
  EXPECT_EQ(r->attempts[0].outcome.kind, outcome_kind::transient);
}

TEST(ClientStreaming, ThrowingTextCallbackDoesNotLeakAConnectionSlot) {
  test_server s([](const received_request& rq) {
    if (rq.body.find("\"stream\":true") != std::string::npos) {
      scripted_reply r;
      r.content_type = "text/event-stream";
      r.chunks = {"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n", "data: [DONE]\n\n"};
      return r;
    }
    return scripted_reply::json(openai_ok("plain"));
  });
  groq_pool gp(keys("GROQ", 2));
  auto chain = keypool::make_chain(gp);
  auto o = fast_options();
  o.pool.max_connections_per_host = 1;
  http::transport t(o);
  http::client c(chain, t, {groq_route(s)}, {.deadline = 1500ms});
  auto r1 = c.chat_stream(vision(), [](std::string_view) { throw std::runtime_error("ui closed"); });
  ASSERT_FALSE(r1);
  EXPECT_EQ(t.stats().open, 0u);
  auto r2 = c.chat(vision());
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_EQ(r2->response.text, "plain");
}

TEST(Client, InterimResponseDoesNotHandOneChatsAnswerToTheNext) {
  // A 103 before the answer to request 1: misread, request 2 (another key)
  // received request 1's answer.
  std::atomic<int> n{0};
  test_server s([&](const received_request&) {
    const int i = n++;
    if (i == 0) {
      const std::string body = openai_ok("answer 1");
      scripted_reply r;
      r.raw =
          "HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n"
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
          std::to_string(body.size()) + "\r\n\r\n" + body;
      return r;
    }
    return scripted_reply::json(openai_ok("answer " + std::to_string(i + 1)));
  });
  groq_pool gp(keys("GROQ", 2));
  auto chain = keypool::make_chain(gp);
  http::transport t(fast_options());
  http::client c(chain, t, {groq_route(s)});
  auto r1 = c.chat(vision());
  ASSERT_TRUE(r1) << r1.error().message;
  EXPECT_EQ(r1->response.text, "answer 1");
  auto r2 = c.chat(vision());
  ASSERT_TRUE(r2) << r2.error().message;
  EXPECT_EQ(r2->response.text, "answer 2");
}

TEST(Client, MaxDeadlineMeansNoDeadline) {
  test_server s([](const received_request&) { return scripted_reply::json(openai_ok("ok")); });
  groq_pool gp(keys("GROQ", 1));
  auto chain = keypool::make_chain(gp);
  http::transport t(fast_options());
  http::client c(
      chain, t, {groq_route(s)},
      {.deadline = std::chrono::milliseconds::max(), .model_unavailable_ttl = std::chrono::milliseconds::max()});
  auto r = c.chat(vision());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->response.text, "ok");
}

// ======================================================= echoed secrets

/// A fake key of `n` characters after `prefix`, the same on every run.
std::string long_fake_key(std::string_view prefix, std::size_t n) {
  static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string k(prefix);
  std::uint32_t x = 2463534242u + static_cast<std::uint32_t>(n);
  while (k.size() < n) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    k += alphabet[x % alphabet.size()];
  }
  return k;
}

/// No run of 8 consecutive characters of `key` is left in `text`, once the
/// key's redacted form (which may quote a vendor prefix) is set aside.
void expect_no_key_run(std::string text, const std::string& key, std::string_view where) {
  const std::string mask = keypool::redact(key);
  for (auto at = text.find(mask); at != std::string::npos; at = text.find(mask, at)) text.erase(at, mask.size());
  for (std::size_t j = 0; j + 8 <= key.size(); ++j)
    if (text.find(key.substr(j, 8)) != std::string::npos) {
      ADD_FAILURE() << where << ": '" << key.substr(j, 8) << "' of the key is left in: " << text;
      return;
    }
}

/// A server that echoes the key it was sent, cut at every position: a
/// prefix as the error code (the classifier keeps 48 characters of it), the
/// rest in the message and a header, and in a 2xx error body whose message
/// the decoder cuts at 200 bytes so that only the key's first characters
/// stay. No run of 8 of the key's characters may reach the caller.
TEST(Client, KeysEchoedCutAtAnyPositionNeverReachTheCaller) {
  std::atomic<std::size_t> cut{0};
  std::atomic<bool> two_xx{false};
  test_server s([&](const received_request& rq) {
    const std::string key = rq.header("Authorization").substr(7);
    const std::size_t p = cut.load();
    if (two_xx.load()) {
      const std::string pad(p < 200 ? 200 - p : 0, 'x');
      return scripted_reply::json(R"({"error":{"message":")" + pad + key + R"("}})", 200);
    }
    auto r = scripted_reply::json(R"({"error":{"message":"invalid header )" + std::string(150, 'm') + key.substr(p) +
                                      R"(","type":"invalid_request_error","code":")" + key.substr(0, p) + R"("}})",
                                  400);
    r.headers = {{"x-echo", key.substr(p / 2)}};
    return r;
  });
  http::transport t(fast_options());
  for (const auto& key : {long_fake_key("sk-proj-", 40), long_fake_key("gsk_", 120), long_fake_key("", 200)}) {
    for (std::size_t p = 1; p <= key.size(); ++p) {
      cut = p;
      for (bool ok_status : {false, true}) {
        two_xx = ok_status;
        groq_pool gp({{"GROQ_API_KEY_1", key}});
        auto chain = keypool::make_chain(gp);
        http::client c(chain, t, {groq_route(s)});
        auto r = c.chat(vision());
        ASSERT_FALSE(r);
        const std::string where = std::to_string(key.size()) + "-character key cut at " + std::to_string(p);
        expect_no_key_run(r.error().message, key, where + ", message");
        expect_no_key_run(r.error().body, key, where + ", body");
        ASSERT_FALSE(r.error().attempts.empty());
        for (const auto& a : r.error().attempts) expect_no_key_run(a.reason, key, where + ", attempt");
      }
    }
  }
}

/// The response is scrubbed as it arrives: its header values and body no
/// longer hold the key, whole or cut.
TEST(Client, ScrubResponseMasksHeadersAndBody) {
  const std::string key = long_fake_key("sk-", 64);
  const std::string mask = keypool::redact(key);
  http::response r;
  r.status = 401;
  r.headers.set("x-echo", "Bearer " + key.substr(0, 30));
  r.headers.insert("x-other", "fine");
  r.body = "{\"code\":\"" + key.substr(10, 48) + "\",\"message\":\"" + key + "\"}";
  http::scrub_response(r, key, mask);
  expect_no_key_run(r.body, key, "body");
  expect_no_key_run(std::string(*r.header("x-echo")), key, "header");
  EXPECT_EQ(r.header("x-other"), "fine");
  EXPECT_EQ(r.body, "{\"code\":\"" + mask + "\",\"message\":\"" + mask + "\"}");
}

}  // namespace

}  // namespace http_client_test
