/// Cost accounting, spend caps and the statistics hook of the failover
/// client, through real HTTP against loopback providers that report usage.
/// Keys are obviously fake.

#include "support/client_fixtures.hpp"
#include "support/test_server.hpp"

#include <keypool/chain/chain.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/client.hpp>
#include <keypool/json/spend_json.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/spend/spend.hpp>

#include <gtest/gtest.h>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <clocale>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace http_spend_test {
namespace {

using namespace std::chrono_literals;
namespace http = keypool::http;
namespace wire = keypool::wire;
namespace providers = keypool::providers;
using keypool::test::fast_options;
using keypool::test::keys;
using keypool::test::received_request;
using keypool::test::scripted_reply;
using keypool::test::test_server;
using keypool::test::vision;

using openai_pool = keypool::basic_pool<providers::openai>;
using groq_pool = keypool::basic_pool<providers::groq>;
using anthropic_pool = keypool::basic_pool<providers::anthropic>;

/// An OpenAI-style answer with usage: 1000 prompt + 500 completion tokens.
std::string openai_usage_body(const char* text = "ok") {
  return std::string(R"({"model":"gpt-4o-2024-08-06","choices":[{"message":{"content":")") + text +
         R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":1000,"completion_tokens":500}})";
}

test_server openai_server() {
  return test_server([](const received_request&) { return scripted_reply::json(openai_usage_body()); });
}

http::route openai_route(const test_server& s) {
  return {providers::openai::descriptor().with_base_url(s.base_url() + "/v1"), {"gpt-4o"}};
}

http::route groq_route(const test_server& s) {
  return {providers::groq::descriptor().with_base_url(s.base_url() + "/openai/v1"), {"vision-a"}};
}

http::route anthropic_route(const test_server& s) {
  return {providers::anthropic::descriptor().with_base_url(s.base_url() + "/v1"), {"claude-test"}};
}

TEST(PriceTable, FromCatalogUsesOnePriceForInputAndOutput) {
  const auto t = http::price_table::from_catalog(providers::catalog::builtin());
  // gpt-4o is listed twice (GPT-4o at $5, GPT-4 Vision mapped to it at $10):
  // the entry tried first wins.
  ASSERT_TRUE(t.find("openai", "gpt-4o"));
  EXPECT_EQ(*t.find("openai", "gpt-4o"), (http::model_price{5.0, 5.0}));
  // Seed-era identifiers are priced like their successors.
  ASSERT_TRUE(t.find("anthropic", "claude-3-5-sonnet-20241022"));
  EXPECT_DOUBLE_EQ(t.find("anthropic", "claude-3-5-sonnet-20241022")->output_per_mtok, 3.0);
  EXPECT_EQ(*t.find("groq", "qwen/qwen3.6-27b"), (http::model_price{0, 0}));
  EXPECT_FALSE(t.find("openai", "no-such-model"));
}

TEST(SpendLedger, CountsExactlyUnderConcurrency) {
  http::price_table prices;
  prices.set("openai", "m", {1.0, 3.0});  // 1 in + 1 out token = 4e-6 USD = 4000 n$
  http::spend_ledger ledger(prices);
  const auto h = ledger.provider("openai", "OPENAI");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      const std::string var = "OPENAI_API_KEY_" + std::to_string(t % 2 + 1);
      for (int i = 0; i < 1000; ++i) ledger.record(h, var, "fp" + std::to_string(t % 2), "m", {1, 1});
    });
  for (auto& th : threads) th.join();
  const auto s = ledger.snapshot();
  EXPECT_EQ(s.requests, 4000u);
  EXPECT_NEAR(s.cost_usd, 4000 * 4e-6, 1e-12);
  ASSERT_EQ(s.keys.size(), 2u);
  EXPECT_EQ(s.keys[0].requests + s.keys[1].requests, 4000u);
  ASSERT_EQ(s.models.size(), 1u);
  EXPECT_EQ(s.models[0].input_tokens, 4000u);
  ledger.reset();
  EXPECT_EQ(ledger.snapshot().requests, 0u);
  EXPECT_EQ(ledger.spent("openai"), 0.0);
}

TEST(SpendLedger, CapReasonWhileAnotherClientRegistersTheProvider) {
  // A second client on a shared ledger re-registers the provider (rewriting
  // its display name) while chats read the cap message: a data race that
  // ThreadSanitizer reports without the lock in cap_reason().
  http::spend_ledger ledger;
  const auto h = ledger.provider("openai", "OPENAI");
  ledger.set_cap("openai", 0);
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!stop.load()) {
      const auto why = ledger.cap_reason(h);
      if (!why || (why->rfind("OPENAI spend cap", 0) != 0 && why->rfind("OpenAI spend cap", 0) != 0)) ++bad;
    }
  });
  for (int i = 0; i < 2000; ++i) ledger.provider("openai", i % 2 ? "OpenAI" : "OPENAI");
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(SpendLedger, NumbersIgnoreTheProcessLocale) {
  // An application that calls setlocale(LC_ALL, "") under de_DE gets decimal
  // commas from printf; dollar amounts and Prometheus text must not.
  const std::string dir = ::testing::TempDir() + "keypool-locale";
  std::filesystem::create_directories(dir);
  if (std::system(("localedef -i de_DE -f UTF-8 '" + dir + "/de_DE.UTF-8' >/dev/null 2>&1").c_str()) != 0)
    GTEST_SKIP() << "cannot build a de_DE locale here (localedef, locale sources)";
  ::setenv("LOCPATH", dir.c_str(), 1);
  const std::string saved = std::setlocale(LC_NUMERIC, nullptr);
  if (!std::setlocale(LC_NUMERIC, "de_DE.UTF-8")) GTEST_SKIP() << "de_DE locale not loadable";
  char probe[16];
  std::snprintf(probe, sizeof probe, "%.1f", 1.5);
  EXPECT_STREQ(probe, "1,5");  // the locale is in effect
  EXPECT_EQ(http::format_usd(5.0), "$5.00");
  EXPECT_EQ(http::format_usd(0.000075), "$0.000075");
  http::spend_snapshot s;
  s.keys.push_back({"openai", "OPENAI", "OPENAI_API_KEY_1", "fp", "gpt-4o", 1, 10, 20, 0.0125});
  const auto prom = http::spend_prometheus(s);
  std::setlocale(LC_NUMERIC, saved.c_str());
  ::unsetenv("LOCPATH");
  EXPECT_NE(prom.find("} 0.0125\n"), std::string::npos) << prom;
  EXPECT_EQ(prom.find("0,0125"), std::string::npos) << prom;
}

TEST(Spend, CostAccumulatesPerKeyProviderAndModelThroughHttp) {
  auto openai = openai_server();
  test_server anthropic([](const received_request&) {
    return scripted_reply::json(
        R"({"type":"message","model":"claude-test","content":[{"type":"text","text":"from claude"}],)"
        R"("stop_reason":"end_turn","usage":{"input_tokens":7,"output_tokens":3}})");
  });
  test_server groq([](const received_request&) { return scripted_reply::json(openai_usage_body()); });
  openai_pool op(keys("OPENAI", 2));
  anthropic_pool ap(keys("ANTHROPIC", 1));
  groq_pool gp(keys("GROQ", 1));

  auto ledger = std::make_shared<http::spend_ledger>();  // built-in catalog: gpt-4o at $5/Mtok
  ledger->set_price("anthropic", "claude-test", {3.0, 15.0});
  http::failover_options fo;
  fo.spend = ledger;
  http::transport t(fast_options());

  auto oc = keypool::make_chain(op);
  http::client c1(oc, t, {openai_route(openai)}, fo);
  for (int i = 0; i < 3; ++i) {
    auto r = c1.chat(vision());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_NEAR(r->cost_usd, 1500 * 5.0 / 1e6, 1e-12);  // 0.0075
  }
  // A second client sharing the ledger: Anthropic with separate in/out prices,
  // Groq with a model the catalog does not price.
  auto ac = keypool::make_chain(ap, gp);
  http::client c2(ac, t, {anthropic_route(anthropic), groq_route(groq)}, fo);
  auto r = c2.chat(vision());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NEAR(r->cost_usd, (7 * 3.0 + 3 * 15.0) / 1e6, 1e-12);
  auto gc = keypool::make_chain(gp);
  http::client c3(gc, t, {groq_route(groq)}, fo);
  ASSERT_TRUE(c3.chat(vision()));

  const auto s = ledger->snapshot();
  EXPECT_EQ(s.requests, 5u);
  EXPECT_NEAR(s.cost_usd, 3 * 0.0075 + 0.000066, 1e-12);
  const auto* o = s.provider("openai");
  ASSERT_NE(o, nullptr);
  EXPECT_EQ(o->provider, "OPENAI");
  EXPECT_EQ(o->requests, 3u);
  EXPECT_EQ(o->input_tokens, 3000u);
  EXPECT_EQ(o->output_tokens, 1500u);
  EXPECT_NEAR(o->cost_usd, 0.0225, 1e-12);
  EXPECT_FALSE(o->cap_usd);
  // Per key: round robin spread the three requests over both OpenAI keys.
  std::uint64_t openai_rows = 0, openai_requests = 0;
  for (const auto& k : s.keys) {
    EXPECT_EQ(k.variable.find("test-fake"), std::string::npos);
    EXPECT_FALSE(k.fingerprint.empty());
    if (k.provider_id == "openai") {
      ++openai_rows;
      openai_requests += k.requests;
      EXPECT_EQ(k.model, "gpt-4o");
      EXPECT_TRUE(k.priced);
    }
    if (k.provider_id == "groq") {
      EXPECT_FALSE(k.priced);  // "vision-a" has no price
      EXPECT_EQ(k.cost_usd, 0.0);
      EXPECT_EQ(k.requests, 1u);
    }
  }
  EXPECT_EQ(openai_rows, 2u);
  EXPECT_EQ(openai_requests, 3u);
  ASSERT_EQ(s.models.size(), 3u);  // anthropic/claude-test, groq/vision-a, openai/gpt-4o

  const auto text = http::spend_text(s);
  EXPECT_NE(text.find("\xF0\x9F\x92\xB0 SPEND"), std::string::npos) << text;
  EXPECT_NE(text.find("OPENAI: $0.0225, 3 requests"), std::string::npos) << text;
  EXPECT_NE(text.find("GROQ_API_KEY_1 vision-a: no price"), std::string::npos) << text;

  const auto json = boost::json::serialize(keypool::json::to_json(s));
  EXPECT_NE(json.find("\"cost_usd\""), std::string::npos);
  EXPECT_NE(json.find("\"variable\":\"OPENAI_API_KEY_1\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"cap_usd\":null"), std::string::npos) << json;
  EXPECT_EQ(json.find("test-fake"), std::string::npos);

  const auto prom = http::spend_prometheus(s);
  EXPECT_NE(prom.find("# TYPE keypool_spend_usd_total counter"), std::string::npos);
  EXPECT_NE(prom.find("keypool_spend_tokens_total{provider=\"anthropic\",key=\"ANTHROPIC_API_KEY_1\""),
            std::string::npos)
      << prom;
  EXPECT_NE(prom.find("model=\"claude-test\"} 6.6e-05"), std::string::npos) << prom;
  EXPECT_EQ(prom.find("test-fake"), std::string::npos);
}

TEST(Spend, StreamedAnswersAreCostedToo) {
  test_server anthropic([](const received_request&) {
    scripted_reply r;
    r.content_type = "text/event-stream";
    r.chunks = {
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-test\","
        "\"usage\":{\"input_tokens\":1000,\"output_tokens\":1}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hi\"}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},"
        "\"usage\":{\"output_tokens\":200}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"};
    return r;
  });
  anthropic_pool ap(keys("ANTHROPIC", 1));
  auto chain = keypool::make_chain(ap);
  http::transport t(fast_options());
  http::route rt = anthropic_route(anthropic);
  rt.models = {"claude-sonnet-4-6"};  // $3/Mtok in the built-in catalog
  http::client c(chain, t, {rt});
  std::string text;
  auto r = c.chat_stream(vision(), [&](std::string_view d) { text += d; });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(text, "Hi");
  EXPECT_NEAR(r->cost_usd, 1200 * 3.0 / 1e6, 1e-12);
  EXPECT_NEAR(c.spend().spent("anthropic"), 0.0036, 1e-12);
}

TEST(Spend, CapSkipsTheProviderWithAClearReason) {
  auto openai = openai_server();
  test_server groq([](const received_request&) { return scripted_reply::json(openai_usage_body("from groq")); });
  openai_pool op(keys("OPENAI", 1));
  groq_pool gp(keys("GROQ", 1));
  auto chain = keypool::make_chain(op, gp);
  http::transport t(fast_options());
  http::client c(chain, t, {openai_route(openai), groq_route(groq)});
  c.spend().set_cap("openai", 0.01);  // each OpenAI answer costs $0.0075

  for (int i = 0; i < 2; ++i) {  // $0.0075, then $0.015: the second crosses the cap
    auto r = c.chat(vision());
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->provider, "openai");
    EXPECT_TRUE(r->skipped.empty());
  }
  auto r = c.chat(vision());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->provider, "groq");
  EXPECT_EQ(r->response.text, "from groq");
  ASSERT_EQ(r->skipped.size(), 1u);
  EXPECT_EQ(r->skipped[0].provider, "openai");
  EXPECT_EQ(r->skipped[0].reason, "OPENAI spend cap of $0.01 reached ($0.015 spent)");
  ASSERT_EQ(r->attempts.size(), 1u);  // no attempt was spent on OpenAI
  EXPECT_EQ(openai.requests().size(), 2u);

  const auto s = c.spend().snapshot();
  ASSERT_NE(s.provider("openai"), nullptr);
  EXPECT_TRUE(s.provider("openai")->cap_reached);
  EXPECT_EQ(s.provider("openai")->cap_usd, std::optional<double>(0.01));
  EXPECT_NE(http::spend_text(s).find("OPENAI: $0.015 of $0.01 cap (cap reached, skipped)"), std::string::npos)
      << http::spend_text(s);
  EXPECT_NE(http::spend_prometheus(s).find("keypool_spend_cap_reached{provider=\"openai\"} 1"), std::string::npos);

  // Raising the cap brings the provider back.
  c.spend().set_cap("openai", 1.0);
  auto back = c.chat(vision());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->provider, "openai");
}

TEST(Spend, EveryProviderCappedIsAStructuredError) {
  auto openai = openai_server();
  openai_pool op(keys("OPENAI", 2));
  auto chain = keypool::make_chain(op);
  http::transport t(fast_options());
  http::client c(chain, t, {openai_route(openai)});
  c.spend().set_cap("openai", 0);  // a cap of 0: never use this paid provider
  auto r = c.chat(vision());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::failover_errc::all_unavailable);
  EXPECT_NE(r.error().message.find("OPENAI spend cap of $0.00 reached ($0.00 spent)"), std::string::npos)
      << r.error().message;
  ASSERT_EQ(r.error().skipped.size(), 1u);
  EXPECT_TRUE(r.error().attempts.empty());
  EXPECT_TRUE(openai.requests().empty());
  EXPECT_EQ(op.snapshot().available(), 2u);  // no key was touched
}

TEST(Spend, CapReasonJoinsTheChainErrorWhenOtherKeysAreUnavailable) {
  test_server groq([](const received_request&) {
    return scripted_reply::json(R"({"error":{"message":"Invalid API Key","code":"invalid_api_key"}})", 401);
  });
  auto openai = openai_server();
  groq_pool gp(keys("GROQ", 1));
  openai_pool op(keys("OPENAI", 1));
  auto chain = keypool::make_chain(gp, op);
  http::transport t(fast_options());
  http::client c(chain, t, {groq_route(groq), openai_route(openai)});
  c.spend().set_cap("openai", 0);
  auto r = c.chat(vision());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::failover_errc::all_unavailable);
  EXPECT_NE(r.error().message.find("All GROQ API keys are invalid"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("OPENAI spend cap of $0.00 reached"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().attempts.size(), 1u);
}

TEST(StatisticsHook, RunsAfterEachChatWithPoolsAndSpend) {
  std::atomic<int> n{0};
  test_server openai([&](const received_request&) {
    if (n++ == 2)
      return scripted_reply::json(R"({"error":{"message":"bad image","type":"invalid_request_error"}})", 400);
    return scripted_reply::json(openai_usage_body());
  });
  openai_pool op(keys("OPENAI", 2));
  auto chain = keypool::make_chain(op);
  http::transport t(fast_options());
  http::client c(chain, t, {openai_route(openai)});

  std::vector<std::uint64_t> seen;
  std::vector<bool> ok;
  std::string last_text;
  c.on_statistics([&](const http::statistics_event& e) {
    seen.push_back(e.completed);
    ok.push_back(static_cast<bool>(e.outcome));
    EXPECT_EQ(e.pools.size(), 1u);
    EXPECT_EQ(e.pools[0].provider_id, "openai");
    last_text = http::statistics_text(e);
  });
  for (int i = 0; i < 3; ++i) (void)c.chat(vision());
  // Blocking chat() returns after the hook ran: no waiting needed.
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{1, 2, 3}));
  EXPECT_EQ(ok, (std::vector<bool>{true, true, false}));  // errors are reported too
  EXPECT_NE(last_text.find("API KEY STATISTICS"), std::string::npos) << last_text;
  EXPECT_NE(last_text.find("OPENAI_API_KEY_1: "), std::string::npos) << last_text;
  EXPECT_NE(last_text.find("SPEND"), std::string::npos) << last_text;
  EXPECT_NE(last_text.find("OPENAI: $0.015, 2 requests"), std::string::npos) << last_text;
  EXPECT_EQ(last_text.find("test-fake"), std::string::npos);

  // Every second chat only; a throwing hook does not break the chat.
  seen.clear();
  http::statistics_options so;
  so.every_n_requests = 2;
  c.on_statistics(
      [&](const http::statistics_event& e) {
        seen.push_back(e.completed);
        throw std::runtime_error("the application's problem");
      },
      so);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(c.chat(vision()));
  EXPECT_EQ(seen, (std::vector<std::uint64_t>{4, 6}));
  EXPECT_EQ(c.completed(), 7u);

  // Removed: no more calls.
  c.on_statistics({});
  (void)c.chat(vision());
  EXPECT_EQ(seen.size(), 2u);
}

TEST(StatisticsHook, MinIntervalThrottles) {
  auto openai = openai_server();
  openai_pool op(keys("OPENAI", 1));
  auto chain = keypool::make_chain(op);
  http::transport t(fast_options());
  http::client c(chain, t, {openai_route(openai)});
  std::atomic<int> calls{0};
  http::statistics_options so;
  so.min_interval = std::chrono::hours(1);
  c.on_statistics([&](const http::statistics_event&) { ++calls; }, so);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.chat(vision()));
  EXPECT_EQ(calls.load(), 1);  // the first completion, then nothing within the hour
}

}  // namespace

}  // namespace http_spend_test
