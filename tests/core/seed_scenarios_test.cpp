// The seed guide's "How It Works" and "Troubleshooting" sections, as tests,
// driven by a manual clock.
#include <keypool/keypool.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace kp = keypool;
using namespace std::chrono_literals;

namespace {

struct nvidia {
  static kp::provider_info info() { return {"nvidia", "NVIDIA"}; }
};

using test_pool = kp::basic_pool<nvidia, kp::policy::clock<kp::clock::manual>>;

std::vector<kp::key_spec> keys(int n, const std::string& prefix = "NVIDIA") {
  std::vector<kp::key_spec> out;
  for (int i = 1; i <= n; ++i)
    out.push_back({prefix + "_API_KEY_" + std::to_string(i), "nvapi-fake-test-" + std::to_string(i)});
  return out;
}

std::string take(test_pool& p, kp::outcome o = kp::outcome::success()) {
  auto l = p.acquire();
  if (!l) return "error: " + l.error().message();
  std::string v(l->variable());
  p.report(*l, o);
  return v;
}

}  // namespace

TEST(Seed, RoundRobinOrderIsOneTwoThreeOne) {
  test_pool p(keys(3));
  EXPECT_EQ(take(p), "NVIDIA_API_KEY_1");
  EXPECT_EQ(take(p), "NVIDIA_API_KEY_2");
  EXPECT_EQ(take(p), "NVIDIA_API_KEY_3");
  EXPECT_EQ(take(p), "NVIDIA_API_KEY_1");  // cycle repeats
}

TEST(Seed, RateLimitedKeyFailsOverToKeyTwo) {
  test_pool p(keys(3));
  EXPECT_EQ(take(p, kp::outcome::rate_limited()), "NVIDIA_API_KEY_1");
  EXPECT_EQ(take(p), "NVIDIA_API_KEY_2");  // auto switch to key 2
  EXPECT_EQ(take(p), "NVIDIA_API_KEY_3");
  EXPECT_EQ(take(p), "NVIDIA_API_KEY_2");  // key 1 stays out of rotation
}

TEST(Seed, LockedForExactlySixtySeconds) {
  test_pool p(keys(1));
  EXPECT_EQ(take(p, kp::outcome::rate_limited()), "NVIDIA_API_KEY_1");  // "rate limited at 10:00"
  p.clock().advance(59'999ms);
  EXPECT_FALSE(p.acquire().has_value());
  p.clock().advance(1ms);  // "available again at 10:01"
  EXPECT_EQ(take(p), "NVIDIA_API_KEY_1");
}

TEST(Seed, AllKeysRateLimitedMessage) {
  test_pool p(keys(3));
  for (int i = 0; i < 3; ++i) take(p, kp::outcome::rate_limited());
  p.clock().advance(18s);
  auto r = p.acquire();
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message(), "All NVIDIA API keys are rate limited; next available in 42 s");
  EXPECT_EQ(r.error().provider(), "NVIDIA");
  ASSERT_EQ(r.error().keys().size(), 3u);
  EXPECT_EQ(r.error().keys()[0].variable, "NVIDIA_API_KEY_1");
  EXPECT_EQ(r.error().next_available(), std::chrono::milliseconds(42'000));
  EXPECT_THROW(p.acquire_or_throw(), kp::unavailable_exception);
}

TEST(Seed, InvalidKeyMessageAndMixedReasons) {
  test_pool p(keys(2));
  take(p, kp::outcome::invalid_key());
  auto r = p.acquire();
  ASSERT_TRUE(r);
  p.report(*r, kp::outcome::rate_limited());
  auto e = p.acquire();
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message(), "No NVIDIA API key is available (1 invalid, 1 rate limited); next available in 1 min");
  test_pool q(keys(2));
  take(q, kp::outcome::invalid_key());
  take(q, kp::outcome::invalid_key());
  EXPECT_EQ(q.acquire().error().message(), "All NVIDIA API keys are invalid; next available in 15 min");
}

TEST(Seed, StatisticsCountRequestsFailuresAndLastUsed) {
  test_pool p(keys(3));
  for (int i = 0; i < 9; ++i) take(p);
  p.clock().advance(5s);
  take(p, kp::outcome::transient());  // key 1: a provider-wide 5xx, not the key's fault
  p.clock().advance(2s);
  const auto s = p.snapshot();
  ASSERT_EQ(s.keys.size(), 3u);
  EXPECT_EQ(s.keys[0].requests, 4u);
  EXPECT_EQ(s.keys[0].failures(), 1u);
  EXPECT_EQ(s.keys[0].count(kp::outcome_kind::transient), 1u);
  EXPECT_TRUE(s.keys[0].available());  // transient does not lock the key
  EXPECT_EQ(s.keys[1].requests, 3u);
  EXPECT_EQ(s.keys[1].successes(), 3u);
  EXPECT_EQ(s.keys[0].last_used_ago, std::chrono::milliseconds(2000));
  EXPECT_EQ(s.keys[1].last_used_ago, std::chrono::milliseconds(7000));
  EXPECT_EQ(s.requests(), 10u);
  EXPECT_EQ(s.available(), 3u);
}

TEST(Seed, TextReportMatchesTheGuideFormat) {
  test_pool p(keys(2));
  take(p);
  take(p, kp::outcome::rate_limited());
  take(p);
  const std::string text = kp::report::text(p.snapshot());
  EXPECT_EQ(text, "\xF0\x9F\x93\x8A API KEY STATISTICS\n" + std::string(80, '=') +
                      "\n\n\xF0\x9F\x94\x91 NVIDIA\n"
                      "   Total keys: 2\n"
                      "   Available: 1\n"
                      "   Rate limited: 1\n"
                      "   \xE2\x9C\x85 NVIDIA_API_KEY_1: 2 requests, 0 failures\n"
                      "   \xE2\x8F\xB3 NVIDIA_API_KEY_2: 1 requests, 1 failures (rate limited, available in 1 min)\n");
}

TEST(Seed, TableShowsTheKeyAvailableOnceItsMinuteIsOver) {
  // "Rate limited at 10:00 -> Available again at 10:01", also in the table
  // when nobody has picked the key since (its state word changes on a pick).
  test_pool p(keys(2));
  take(p, kp::outcome::rate_limited());
  p.clock().advance(60s);
  const auto s = p.snapshot();
  EXPECT_TRUE(s.keys[0].available());
  EXPECT_FALSE(s.keys[0].available_in);
  EXPECT_EQ(s.available(), 2u);
  EXPECT_EQ(s.rate_limited(), 0u);
  const std::string text = kp::report::text(s);
  EXPECT_NE(text.find("   Available: 2\n   Rate limited: 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\xE2\x9C\x85 NVIDIA_API_KEY_1: 1 requests, 1 failures\n"), std::string::npos) << text;
  p.clock().advance(-1ms);  // a millisecond earlier it was still locked
  EXPECT_EQ(p.snapshot().keys[0].available_in, 1ms);
}

TEST(Seed, ConsecutiveFailuresResetBySuccess) {
  test_pool p(keys(1), {.lockout = kp::lockout::fixed{1ms}});
  take(p, kp::outcome::rate_limited());
  p.clock().advance(1ms);
  take(p, kp::outcome::rate_limited());  // the probe fails again
  EXPECT_EQ(p.snapshot().keys[0].consecutive_failures, 2u);
  p.clock().advance(1ms);
  take(p);  // probe succeeds
  EXPECT_EQ(p.snapshot().keys[0].consecutive_failures, 0u);
  EXPECT_TRUE(p.snapshot().keys[0].available());
}

TEST(Seed, NoKeysConfigured) {
  test_pool p({});
  auto r = p.acquire();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "No NVIDIA API keys configured");
}
