// Every selection strategy × every lockout policy through one behavioural
// suite, then each policy's own rules.
#include <keypool/clock/detail/vdso.hpp>
#include <keypool/keypool.hpp>

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace kp = keypool;
using namespace std::chrono_literals;

namespace {

struct groq {
  static kp::provider_info info() { return {"groq", "GROQ"}; }
};

std::vector<kp::key_spec> keys(int n) {
  std::vector<kp::key_spec> out;
  for (int i = 1; i <= n; ++i)
    out.push_back({"GROQ_API_KEY_" + std::to_string(i), "gsk_fake_test_key_" + std::to_string(i)});
  return out;
}

template <class S, class L>
struct combo {
  using pool =
      kp::basic_pool<groq, kp::policy::selection<S>, kp::policy::lockout<L>, kp::policy::clock<kp::clock::manual>>;
  static constexpr bool locks = !std::is_same_v<L, kp::lockout::none>;
};

template <class T>
class every_policy : public ::testing::Test {};

using combos = ::testing::Types<
    combo<kp::selection::round_robin, kp::lockout::fixed>, combo<kp::selection::round_robin, kp::lockout::retry_after>,
    combo<kp::selection::round_robin, kp::lockout::exponential>, combo<kp::selection::round_robin, kp::lockout::none>,
    combo<kp::selection::strict_round_robin, kp::lockout::fixed>,
    combo<kp::selection::strict_round_robin, kp::lockout::retry_after>,
    combo<kp::selection::strict_round_robin, kp::lockout::exponential>,
    combo<kp::selection::strict_round_robin, kp::lockout::none>, combo<kp::selection::weighted, kp::lockout::fixed>,
    combo<kp::selection::weighted, kp::lockout::retry_after>, combo<kp::selection::weighted, kp::lockout::exponential>,
    combo<kp::selection::weighted, kp::lockout::none>, combo<kp::selection::random, kp::lockout::fixed>,
    combo<kp::selection::random, kp::lockout::retry_after>, combo<kp::selection::random, kp::lockout::exponential>,
    combo<kp::selection::random, kp::lockout::none>, combo<kp::selection::least_loaded, kp::lockout::fixed>,
    combo<kp::selection::least_loaded, kp::lockout::retry_after>,
    combo<kp::selection::least_loaded, kp::lockout::exponential>,
    combo<kp::selection::least_loaded, kp::lockout::none>>;
TYPED_TEST_SUITE(every_policy, combos);

TYPED_TEST(every_policy, EveryKeyGetsUsedAndCountsAddUp) {
  typename TypeParam::pool p(keys(4));
  std::map<std::string, int> seen;
  for (int i = 0; i < 400; ++i) {
    auto l = p.acquire();
    ASSERT_TRUE(l);
    ++seen[std::string(l->variable())];
    p.report(*l, kp::outcome::success());
  }
  EXPECT_EQ(seen.size(), 4u);
  for (auto& [k, n] : seen) EXPECT_GT(n, 40) << k;
  const auto s = p.snapshot();
  EXPECT_EQ(s.requests(), 400u);
  EXPECT_EQ(s.successes(), 400u);
}

TYPED_TEST(every_policy, RateLimitedKeyIsSkippedThenProbedOnce) {
  typename TypeParam::pool p(keys(3));
  // Rate-limit whichever key comes first, with a 10 s hint.
  auto first = p.acquire();
  ASSERT_TRUE(first);
  const std::string limited(first->variable());
  p.report(*first, kp::outcome::rate_limited(10s));
  for (int i = 0; i < 60; ++i) {
    auto l = p.acquire();
    ASSERT_TRUE(l);
    if (TypeParam::locks) {
      EXPECT_NE(l->variable(), limited);
    }
    p.report(*l, kp::outcome::success());
  }
  if (!TypeParam::locks) return;
  EXPECT_EQ(p.snapshot().rate_limited(), 1u);
  p.clock().advance(std::chrono::hours(2));  // past every policy's lockout
  // Exactly one probe of the recovered key while it is outstanding.
  std::vector<kp::lease> held;
  int probes = 0;
  for (int i = 0; i < 30; ++i) {
    auto l = p.acquire();
    ASSERT_TRUE(l);
    if (l->variable() == limited) {
      ++probes;
      EXPECT_TRUE(l->is_probe());
    }
    held.push_back(*l);
  }
  EXPECT_EQ(probes, 1);
  for (auto& l : held) p.report(l, kp::outcome::success());
  EXPECT_EQ(p.snapshot().available(), 3u);
}

TYPED_TEST(every_policy, InvalidKeyIsDisabledWhateverTheLockoutPolicy) {
  typename TypeParam::pool p(keys(2));
  auto l = p.acquire();
  const std::string bad(l->variable());
  p.report(*l, kp::outcome::invalid_key());
  for (int i = 0; i < 20; ++i) {
    auto m = p.acquire();
    ASSERT_TRUE(m);
    EXPECT_NE(m->variable(), bad);
    p.report(*m, kp::outcome::success());
  }
  EXPECT_EQ(p.snapshot().keys[bad == "GROQ_API_KEY_1" ? 0 : 1].state_name(), "invalid");
}

TYPED_TEST(every_policy, CallersMistakesAndProviderTroubleDoNotBurnKeys) {
  typename TypeParam::pool p(keys(2));
  for (int i = 0; i < 10; ++i) {
    auto l = p.acquire();
    ASSERT_TRUE(l);
    p.report(*l, i % 3 == 0   ? kp::outcome::bad_request()
                 : i % 3 == 1 ? kp::outcome::transient()
                              : kp::outcome::model_unavailable());
  }
  EXPECT_EQ(p.snapshot().available(), 2u);
  EXPECT_EQ(p.snapshot().failures(), 10u);
}

// ---- lockout policies -------------------------------------------------------

TEST(Lockout, FixedIgnoresRateHintsButHonoursQuotaResets) {
  kp::lockout::fixed f;
  EXPECT_EQ(f.lockout_for(kp::outcome::rate_limited(5s), {}), 60s);
  EXPECT_EQ(f.lockout_for(kp::outcome::quota_exhausted(5h), {}), 5h);
}

TEST(Lockout, RetryAfterUsesHintClampsAndFallsBack) {
  kp::lockout::retry_after r;
  EXPECT_EQ(r.lockout_for(kp::outcome::rate_limited(7s), {}), 7s);
  EXPECT_EQ(r.lockout_for(kp::outcome::rate_limited(), {}), 60s);
  EXPECT_EQ(r.lockout_for(kp::outcome::rate_limited(1ms), {}), 1s);
  EXPECT_EQ(r.lockout_for(kp::outcome::rate_limited(std::chrono::hours(24 * 365)), {}), 1h);
  EXPECT_EQ(r.lockout_for(kp::outcome::quota_exhausted(20h), {}), 20h);
}

// Issue 28 item 7: the default pool follows the provider's time.
TEST(Lockout, DefaultPoolFollowsTheProvidersHintAndSixtySecondsWithout) {
  using pool = kp::pool<groq>::with<kp::policy::clock<kp::clock::manual>>;
  auto locked_for = [](kp::outcome o) {
    pool p(keys(1));
    p.report(*p.acquire(), o);
    return p.snapshot().keys[0].available_in;
  };
  EXPECT_EQ(locked_for(kp::outcome::rate_limited(300s)), 300s);  // not back early into another 429
  EXPECT_EQ(locked_for(kp::outcome::rate_limited(15s)), 15s);    // not 45 s wasted
  EXPECT_EQ(locked_for(kp::outcome::rate_limited()), 60s);       // no hint: the documented 60 s
  EXPECT_EQ(locked_for(kp::outcome::rate_limited(2500ms)), 2500ms);
  EXPECT_EQ(locked_for(kp::outcome::rate_limited(1ms)), 1s);  // clamped to [1 s, 24 h]
  EXPECT_EQ(locked_for(kp::outcome::rate_limited(std::chrono::hours(24 * 365))), 24h);
  EXPECT_EQ(locked_for(kp::outcome::quota_exhausted(20h)), 20h);
  EXPECT_EQ(locked_for(kp::outcome::quota_exhausted(std::chrono::hours(24 * 365))), std::chrono::hours(31 * 24));
}

TEST(Lockout, DefaultPoolHintExtendsACurrentLockoutNeverShortens) {
  using pool = kp::pool<groq>::with<kp::policy::clock<kp::clock::manual>>;
  pool p(keys(1));
  auto a = *p.acquire();
  auto b = *p.acquire();
  auto c = *p.acquire();
  p.report(a, kp::outcome::rate_limited(15s));
  p.report(b, kp::outcome::rate_limited(300s));
  EXPECT_EQ(p.snapshot().keys[0].available_in, 300s);
  p.report(c, kp::outcome::rate_limited());  // 60 s: shorter, leaves it
  EXPECT_EQ(p.snapshot().keys[0].available_in, 300s);
}

TEST(Lockout, FixedStillGivesExactlySixtySeconds) {
  using fixed_pool =
      kp::basic_pool<groq, kp::policy::lockout<kp::lockout::fixed>, kp::policy::clock<kp::clock::manual>>;
  for (auto o : {kp::outcome::rate_limited(300s), kp::outcome::rate_limited(15s), kp::outcome::rate_limited()}) {
    fixed_pool p(keys(1));
    p.report(*p.acquire(), o);
    EXPECT_EQ(p.snapshot().keys[0].available_in, 60s);
  }
  // A default pool given lockout::fixed keeps fixed's behaviour.
  using pool = kp::pool<groq>::with<kp::policy::clock<kp::clock::manual>>;
  pool p(keys(1), {.lockout = kp::lockout::fixed{30s}});
  p.report(*p.acquire(), kp::outcome::rate_limited(300s));
  EXPECT_EQ(p.snapshot().keys[0].available_in, 30s);
  pool r(keys(1), {.lockout = kp::lockout::retry_after{.max = 2min}});
  r.report(*r.acquire(), kp::outcome::rate_limited(300s));
  EXPECT_EQ(r.snapshot().keys[0].available_in, 2min);
}

TEST(Lockout, ExponentialDoublesUpToCapWithBoundedJitter) {
  kp::lockout::exponential e{.base = 1s, .cap = 60s, .jitter_percent = 0};
  EXPECT_EQ(e.lockout_for(kp::outcome::rate_limited(), {.ejections = 0}), 1s);
  EXPECT_EQ(e.lockout_for(kp::outcome::rate_limited(), {.ejections = 3}), 8s);
  EXPECT_EQ(e.lockout_for(kp::outcome::rate_limited(), {.ejections = 40}), 60s);
  EXPECT_EQ(e.lockout_for(kp::outcome::rate_limited(90s), {.ejections = 0}), 90s);  // hint wins
  kp::lockout::exponential j{.base = 10s, .cap = 60s, .jitter_percent = 20};
  std::set<long long> values;
  for (std::uint64_t seed = 0; seed < 200; ++seed) {
    const auto d = j.lockout_for(kp::outcome::rate_limited(), {.seed = seed});
    EXPECT_GE(d, 8s);
    EXPECT_LE(d, 12s);
    values.insert(d.count());
  }
  EXPECT_GT(values.size(), 50u);  // actually jittered
}

TEST(Lockout, ExponentialGrowsInThePoolAndDecaysAfterSuccesses) {
  using pool =
      kp::basic_pool<groq, kp::policy::lockout<kp::lockout::exponential>, kp::policy::clock<kp::clock::manual>>;
  pool p(keys(1), {.lockout = {.base = 1s, .cap = 1min, .jitter_percent = 0}});
  auto fail = [&] {
    auto l = p.acquire();
    EXPECT_TRUE(l);
    p.report(*l, kp::outcome::rate_limited());
    return *p.snapshot().keys[0].available_in;
  };
  EXPECT_EQ(fail(), 1s);
  p.clock().advance(1s);
  EXPECT_EQ(fail(), 2s);
  p.clock().advance(2s);
  EXPECT_EQ(fail(), 4s);
  p.clock().advance(4s);
  for (int i = 0; i < 3; ++i) {  // three successes undo three ejections
    auto l = p.acquire();
    p.report(*l, kp::outcome::success());
  }
  EXPECT_EQ(fail(), 1s);
}

TEST(Lockout, LaterLongerHintExtendsShorterNeverShortens) {
  using pool =
      kp::basic_pool<groq, kp::policy::lockout<kp::lockout::retry_after>, kp::policy::clock<kp::clock::manual>>;
  pool p(keys(1));
  // Three requests in flight on the key (each lease is reported once).
  auto a = *p.acquire();
  auto b = *p.acquire();
  auto c = *p.acquire();
  p.report(a, kp::outcome::rate_limited(30s));
  p.report(b, kp::outcome::rate_limited(90s));  // a second in-flight request, longer hint
  EXPECT_EQ(p.snapshot().keys[0].available_in, 90s);
  p.report(c, kp::outcome::rate_limited(5s));
  EXPECT_EQ(p.snapshot().keys[0].available_in, 90s);
}

TEST(Lockout, OneBurstOfFailuresIsOneLockout) {
  // Six requests in flight on one key all get the same 429: one lockout at
  // the base time, not base × 2^5. The probe's failure after it escalates.
  using pool =
      kp::basic_pool<groq, kp::policy::lockout<kp::lockout::exponential>, kp::policy::clock<kp::clock::manual>>;
  pool p(keys(1), {.lockout = {.base = 5s, .cap = 5min, .jitter_percent = 0}});
  std::vector<kp::lease> in_flight;
  for (int i = 0; i < 6; ++i) in_flight.push_back(*p.acquire());
  for (const auto& l : in_flight) p.report(l, kp::outcome::rate_limited());
  EXPECT_EQ(p.snapshot().keys[0].available_in, 5s);
  EXPECT_EQ(p.snapshot().keys[0].count(kp::outcome_kind::rate_limited), 6u);  // all counted
  p.clock().advance(5s);
  auto probe = *p.acquire();
  ASSERT_TRUE(probe.is_probe());
  p.report(probe, kp::outcome::rate_limited());
  EXPECT_EQ(p.snapshot().keys[0].available_in, 10s);
}

TEST(Lockout, AbsurdDurationsSaturateInsteadOfWrapping) {
  // now + milliseconds::max() must not wrap round to "already over".
  constexpr auto forever = std::chrono::milliseconds::max();
  using fixed_pool = kp::basic_pool<groq, kp::policy::clock<kp::clock::manual>>;
  fixed_pool a(keys(1), {.lockout = kp::lockout::fixed{forever}});
  a.report(*a.acquire(), kp::outcome::rate_limited());
  EXPECT_FALSE(a.acquire());
  fixed_pool b(keys(1), {.recheck_disabled_after = forever});
  b.report(*b.acquire(), kp::outcome::invalid_key());
  EXPECT_FALSE(b.acquire());
  fixed_pool c(keys(1), {.lockout = kp::lockout::fixed{1s}, .probe_timeout = forever});
  c.report(*c.acquire(), kp::outcome::rate_limited());
  c.clock().advance(1s);
  ASSERT_TRUE(c.acquire());   // the probe, never reported
  EXPECT_FALSE(c.acquire());  // and nobody else gets the key meanwhile
  // exponential: doubling towards a huge cap, and jitter, stay in range.
  const kp::lockout::exponential e{.base = std::chrono::hours(24 * 365 * 1000), .cap = forever};
  for (std::uint32_t ej : {0u, 10u, 30u, 63u})
    EXPECT_GT(e.lockout_for(kp::outcome::rate_limited(), {1, ej, 7}).count(), 0);
  EXPECT_EQ(e.lockout_for(kp::outcome::rate_limited(), {1, 63, 7}), forever);
}

TEST(Lockout, NoneNeverLocks) {
  using pool = kp::basic_pool<groq, kp::policy::lockout<kp::lockout::none>, kp::policy::clock<kp::clock::manual>>;
  pool p(keys(1));
  for (int i = 0; i < 5; ++i) {
    auto l = p.acquire();
    ASSERT_TRUE(l);
    p.report(*l, kp::outcome::rate_limited(30s));
  }
  EXPECT_EQ(p.snapshot().keys[0].count(kp::outcome_kind::rate_limited), 5u);
}

// ---- disabling, probes, half-open ---------------------------------------------

using manual_pool = kp::basic_pool<groq, kp::policy::clock<kp::clock::manual>>;

TEST(Probe, DisabledKeyIsRecheckedBySingleProbeAndEnableWorks) {
  manual_pool p(keys(1), {.recheck_disabled_after = 10min});
  auto l = *p.acquire();
  p.report(l, kp::outcome::out_of_credit());
  EXPECT_EQ(p.snapshot().keys[0].state_name(), "out_of_credit");
  p.clock().advance(10min);
  auto probe = *p.acquire();
  EXPECT_EQ(probe.variable(), "GROQ_API_KEY_1");
  EXPECT_TRUE(probe.is_probe());
  p.report(probe, kp::outcome::out_of_credit());  // still no credit
  EXPECT_EQ(p.snapshot().keys[0].available_in, 10min);
  EXPECT_TRUE(p.enable("GROQ_API_KEY_1"));
  EXPECT_TRUE(p.snapshot().keys[0].available());
  EXPECT_FALSE(p.enable("GROQ_API_KEY_9"));
}

TEST(Probe, NeverRecheckedWhenIntervalIsZero) {
  manual_pool p(keys(1), {.recheck_disabled_after = 0ms});
  p.report(*p.acquire(), kp::outcome::invalid_key());
  p.clock().advance(std::chrono::hours(24 * 30));
  auto r = p.acquire();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "All GROQ API keys are invalid");
}

TEST(Probe, LostProbePassesToAnotherCallerAfterTimeout) {
  manual_pool p(keys(1), {.lockout = kp::lockout::fixed{1s}, .probe_timeout = 5s});
  p.report(*p.acquire(), kp::outcome::rate_limited());
  p.clock().advance(1s);
  auto lost = *p.acquire();  // never reported
  EXPECT_TRUE(lost.is_probe());
  EXPECT_FALSE(p.acquire());
  p.clock().advance(5s);
  auto second = p.acquire();
  ASSERT_TRUE(second);
  EXPECT_TRUE(second->is_probe());
  p.report(lost, kp::outcome::success());  // stale probe: ignored
  EXPECT_EQ(p.snapshot().keys[0].status, kp::key_status::probing);
  p.report(*second, kp::outcome::success());
  EXPECT_TRUE(p.snapshot().keys[0].available());
}

TEST(Probe, ModelUnavailableDuringProbeStillProvesTheKey) {
  manual_pool p(keys(1), {.lockout = kp::lockout::fixed{1s}});
  p.report(*p.acquire(), kp::outcome::rate_limited());
  p.clock().advance(1s);
  p.report(*p.acquire(), kp::outcome::model_unavailable());
  EXPECT_TRUE(p.snapshot().keys[0].available());
}

// ---- accounts, daily limits ----------------------------------------------------

TEST(Account, LimitOnOneKeyLocksTheWholeAccount) {
  auto k = keys(4);
  k[0].account = k[1].account = "team-a";
  k[2].account = "team-b";
  manual_pool p(k);
  p.report(*p.acquire(), kp::outcome::rate_limited());  // key 1, team-a
  const auto s = p.snapshot();
  EXPECT_EQ(s.keys[0].state_name(), "rate_limited");
  EXPECT_EQ(s.keys[1].state_name(), "rate_limited");
  EXPECT_EQ(s.keys[2].state_name(), "available");
  EXPECT_EQ(s.keys[3].state_name(), "available");
  // An invalid key is that key's own problem.
  manual_pool q(k);
  q.report(*q.acquire(), kp::outcome::invalid_key());
  EXPECT_TRUE(q.snapshot().keys[1].available());
}

TEST(Daily, KeySkippedAtLimitAndBackAtUtcMidnight) {
  auto k = keys(2);
  k[0].daily_limit = 3;
  manual_pool p(k);  // manual clock starts 2026-01-01 10:00 UTC
  int first = 0;
  for (int i = 0; i < 10; ++i) {
    auto l = *p.acquire();
    first += l.variable() == "GROQ_API_KEY_1";
    p.report(l, kp::outcome::success());
  }
  EXPECT_EQ(first, 3);
  auto s = p.snapshot();
  EXPECT_EQ(s.keys[0].state_name(), "quota_exhausted");
  EXPECT_EQ(s.keys[0].daily_used, 3u);
  EXPECT_EQ(s.keys[0].available_in, 14h);  // until 2026-01-02 00:00 UTC
  p.clock().advance(14h);
  int back = 0;
  for (int i = 0; i < 4; ++i) {
    auto l = *p.acquire();
    back += l.variable() == "GROQ_API_KEY_1";
    p.report(l, kp::outcome::success());
  }
  EXPECT_EQ(back, 2);
  EXPECT_EQ(p.snapshot().keys[0].daily_used, 2u);
}

TEST(Daily, BudgetSpentDuringALockoutLocksUntilTheDayEnds) {
  auto k = keys(1);
  k[0].daily_limit = 2;
  manual_pool p(k);  // 2026-01-01 10:00 UTC
  auto a = *p.acquire();
  auto b = *p.acquire();  // the day's budget is used
  p.report(a, kp::outcome::success());
  p.report(b, kp::outcome::rate_limited());  // locked for 60 s
  p.clock().advance(61s);
  auto r = p.acquire();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "All GROQ API keys are out of quota; next available in 13 h 58 min")
      << "not \"next available in 0 s\" for the rest of the day";
  EXPECT_EQ(p.snapshot().keys[0].state_name(), "quota_exhausted");
  EXPECT_EQ(p.snapshot().keys[0].available_in, 14h - 61s);
}

TEST(Daily, LimitHoldsAfterARecoveryAndFollowsAReload) {
  auto k = keys(2);
  k[0].daily_limit = 4;
  manual_pool p(k);  // 2026-01-01 10:00 UTC
  auto a = *p.acquire();
  ASSERT_EQ(a.variable(), "GROQ_API_KEY_1");
  p.report(a, kp::outcome::rate_limited());  // one of its 4 used; locked 60 s
  p.clock().advance(60s);
  // Back through a probe that succeeds: the lockout and the recovery must not
  // lose the key's limit (the pick path reads it from the state word).
  int first = 0;
  for (int i = 0; i < 12; ++i) {
    auto l = *p.acquire();
    first += l.variable() == "GROQ_API_KEY_1";
    p.report(l, kp::outcome::success());
  }
  EXPECT_EQ(first, 3) << "the recovered key went past its daily limit of 4";
  EXPECT_EQ(p.snapshot().keys[0].daily_used, 4u);
  // A reload that gives the kept key 2 a limit counts it from then on.
  k[1].daily_limit = 2;
  p.reload(k);
  int second = 0;
  for (int i = 0; i < 6; ++i) {
    auto r = p.acquire();
    if (!r) break;
    second += r->variable() == "GROQ_API_KEY_2";
    p.report(*r, kp::outcome::success());
  }
  EXPECT_EQ(second, 2) << "the limit a reload added was not applied";
  EXPECT_EQ(p.snapshot().keys[1].state_name(), "quota_exhausted");
}

/// A fleet-wide daily budget the test can drain (what state::redis does).
struct drainable_budget {
  std::shared_ptr<std::uint32_t> left = std::make_shared<std::uint32_t>(0);
  void publish(const kp::state_change&) noexcept {}
  std::optional<std::uint32_t> reserve_daily(std::string_view, std::string_view, const kp::provider_day&, std::uint32_t,
                                             std::uint32_t want) noexcept {
    const auto got = std::min(*left, want);
    *left -= got;
    return got;
  }
};
static_assert(kp::shared_budget_backend<drainable_budget>);

TEST(Daily, NoProbeOnceTheFleetsBudgetIsSpent) {
  auto k = keys(1);
  k[0].daily_limit = 5;
  drainable_budget fleet;
  *fleet.left = 1;
  kp::basic_pool<groq, kp::policy::clock<kp::clock::manual>, kp::policy::state<drainable_budget>> p(k,
                                                                                                    {.state = fleet});
  p.report(*p.acquire(), kp::outcome::rate_limited());  // the fleet's last unit, then 60 s locked
  p.clock().advance(61s);
  auto r = p.acquire();  // the lockout is over, but other instances spent the day's budget
  ASSERT_FALSE(r) << "a probe went out beyond the fleet's daily budget";
  EXPECT_EQ(p.snapshot().keys[0].state_name(), "quota_exhausted");
  EXPECT_EQ(p.snapshot().keys[0].available_in, 14h - 61s);
}

/// drainable_budget that runs `during` inside the call: what another thread
/// can do between the probe's state change and the budget's answer.
struct interrupting_budget : drainable_budget {
  std::shared_ptr<std::function<void()>> during = std::make_shared<std::function<void()>>();
  std::optional<std::uint32_t> reserve_daily(std::string_view a, std::string_view b, const kp::provider_day& d,
                                             std::uint32_t limit, std::uint32_t want) noexcept {
    if (*during) std::exchange(*during, {})();
    return drainable_budget::reserve_daily(a, b, d, limit, want);
  }
};
static_assert(kp::shared_budget_backend<interrupting_budget>);

TEST(Daily, AProbeRefusedByTheBudgetIsNotLeftProbingByAConcurrentReload) {
  // The fleet's budget is spent, so the probe's key is locked for the day; a
  // reload that drops the key's limit meanwhile flips the key's daily-limit
  // flag, which must not make that lock miss and leave the key probing (no
  // caller would get it until the probe times out).
  auto k = keys(1);
  k[0].daily_limit = 5;
  interrupting_budget fleet;
  *fleet.left = 1;
  kp::basic_pool<groq, kp::policy::clock<kp::clock::manual>, kp::policy::state<interrupting_budget>> p(
      k, {.state = fleet});
  p.report(*p.acquire(), kp::outcome::rate_limited());
  p.clock().advance(61s);
  auto unlimited = k;
  unlimited[0].daily_limit = 0;
  *fleet.during = [&] { p.reload(unlimited); };
  EXPECT_FALSE(p.acquire()) << "a probe went out beyond the fleet's daily budget";
  ASSERT_FALSE(*fleet.during) << "the reload did not run inside the probe";
  EXPECT_NE(p.snapshot().keys[0].status, kp::key_status::probing);
  EXPECT_EQ(p.snapshot().keys[0].state_name(), "quota_exhausted");
}

// ---- selection specifics -------------------------------------------------------

TEST(Selection, WeightedFollowsWeightsSmoothly) {
  auto k = keys(3);
  k[0].weight = 5;
  using pool = kp::basic_pool<groq, kp::policy::selection<kp::selection::weighted>>;
  pool p(k);
  std::string order;
  for (int i = 0; i < 7; ++i) {
    auto l = *p.acquire();
    order += l.variable().back();
    p.report(l, kp::outcome::success());
  }
  EXPECT_EQ(order, "1121311");  // smooth: never all five in a row
}

TEST(Selection, WeightedScheduleLengthIsTheStrategysParameter) {
  // Weights 100 and 1 scaled to a schedule of 4 entries: 3 and 1.
  auto k = keys(2);
  k[0].weight = 100;
  static_assert(kp::selection::weighted::max_schedule == 4096);
  static_assert(kp::max_schedule_v<kp::selection::random_weighted> == kp::default_max_schedule);
  kp::basic_pool<groq, kp::policy::selection<kp::selection::basic_weighted<4>>> p(k);
  std::map<std::string, int> got;
  for (int i = 0; i < 400; ++i) {
    auto l = *p.acquire();
    ++got[std::string(l.variable())];
    p.report(l, kp::outcome::success());
  }
  EXPECT_EQ(got["GROQ_API_KEY_1"], 300);
  EXPECT_EQ(got["GROQ_API_KEY_2"], 100);
}

TEST(Selection, ALockedHeavyKeysShareIsSpreadEvenly) {
  // Weights 10, 1, 1 with key 1 locked: keys 2 and 3 are equal, so each
  // takes half of the traffic (before: 80 / 20, key 2 being first in line).
  auto k = keys(3);
  k[0].weight = 10;
  for (int strategy = 0; strategy < 2; ++strategy) {
    std::map<std::string, int> got;
    auto run = [&](auto& p) {
      for (;;) {  // lock key 1 on its next turn
        auto l = *p.acquire();
        const bool first = l.variable() == "GROQ_API_KEY_1";
        p.report(l, first ? kp::outcome::rate_limited() : kp::outcome::success());
        if (first) break;
      }
      for (int i = 0; i < 1200; ++i) {
        auto l = *p.acquire();
        ++got[std::string(l.variable())];
        p.report(l, kp::outcome::success());
      }
    };
    if (strategy == 0) {
      kp::basic_pool<groq, kp::policy::selection<kp::selection::weighted>, kp::policy::clock<kp::clock::manual>> p(k);
      run(p);
    } else {
      kp::basic_pool<groq, kp::policy::selection<kp::selection::random_weighted>, kp::policy::clock<kp::clock::manual>>
          p(k);
      run(p);
    }
    EXPECT_EQ(got["GROQ_API_KEY_1"], 0);
    EXPECT_GT(got["GROQ_API_KEY_2"], 480) << "strategy " << strategy;
    EXPECT_GT(got["GROQ_API_KEY_3"], 480) << "strategy " << strategy;
  }
}

TEST(Selection, StrictRoundRobinIsOneGlobalOrderAcrossThreads) {
  using pool = kp::basic_pool<groq, kp::policy::selection<kp::selection::strict_round_robin>>;
  pool p(keys(3));
  std::string order;
  for (int i = 0; i < 3; ++i) {
    std::thread t([&] {  // each pick on a fresh thread
      auto l = *p.acquire();
      order += l.variable().back();
      p.report(l, kp::outcome::success());
    });
    t.join();
  }
  EXPECT_EQ(order, "123");
}

TEST(Selection, RoundRobinRotatesPerThread) {
  kp::basic_pool<groq> p(keys(3));
  std::string a, b;
  std::thread ta([&] {
    for (int i = 0; i < 4; ++i) {
      auto l = *p.acquire();
      a += l.variable().back();
      p.report(l, kp::outcome::success());
    }
  });
  ta.join();
  ASSERT_EQ(a, "1231");
  // A second thread alive at the same time as the first has its own rotation.
  std::atomic<int> step{0};
  std::thread t1([&] {
    auto l = *p.acquire();
    a = std::string(1, l.variable().back());
    step = 1;
    while (step != 2) std::this_thread::yield();
  });
  std::thread t2([&] {
    while (step != 1) std::this_thread::yield();
    auto l = *p.acquire();
    b = std::string(1, l.variable().back());
    step = 2;
  });
  t1.join();
  t2.join();
  EXPECT_NE(a, b) << "two live threads use two shards";
}

TEST(Selection, LeastLoadedAvoidsBusyKeys) {
  using pool = kp::basic_pool<groq, kp::policy::selection<kp::selection::least_loaded>>;
  pool p(keys(2));
  std::vector<kp::lease> busy;
  for (int i = 0; i < 50; ++i) busy.push_back(*p.acquire());  // never reported
  int k1 = 0;
  for (auto& l : busy) k1 += l.variable() == "GROQ_API_KEY_1";
  EXPECT_NEAR(k1, 25, 3);  // in-flight counts balance the two
  for (auto& l : busy) p.report(l, kp::outcome::success());
}

// ---- custom policies (docs/policies.md shows these) ----------------------------

/// Always the last key: a strategy in six lines.
struct last_key_first {
  struct thread_state {};
  std::uint32_t next(thread_state&, const kp::candidates& c) noexcept { return c.size() - 1; }
};

/// Lock for as many seconds as the key has failed in a row.
struct linear_lockout {
  std::chrono::milliseconds lockout_for(const kp::outcome&, const kp::lockout_context& c) const noexcept {
    return std::chrono::seconds(c.consecutive_failures);
  }
};

TEST(Custom, UserStrategyAndLockoutPlugIn) {
  using pool = kp::basic_pool<groq, kp::policy::selection<last_key_first>, kp::policy::lockout<linear_lockout>,
                              kp::policy::clock<kp::clock::manual>>;
  pool p(keys(3));
  auto l = *p.acquire();
  EXPECT_EQ(l.variable(), "GROQ_API_KEY_3");
  p.report(l, kp::outcome::rate_limited());
  EXPECT_EQ(p.snapshot().keys[2].available_in, 1s);
  EXPECT_EQ(p.acquire()->variable(), "GROQ_API_KEY_1");  // falls back when its choice is locked
}

TEST(Compose, PolicyTagsAreOrderIndependentAndRebindable) {
  using a = kp::basic_pool<groq, kp::policy::lockout<kp::lockout::none>, kp::policy::selection<kp::selection::random>>;
  using b = kp::basic_pool<groq, kp::policy::selection<kp::selection::random>, kp::policy::lockout<kp::lockout::none>>;
  static_assert(std::is_same_v<a::selection_type, b::selection_type>);
  static_assert(std::is_same_v<a::lockout_type, kp::lockout::none>);
  static_assert(std::is_same_v<kp::pool<groq>::selection_type, kp::selection::round_robin>);
  static_assert(std::is_same_v<kp::pool<groq>::lockout_type, kp::lockout::hinted>);
  using c = kp::pool<groq>::with<kp::policy::clock<kp::clock::manual>>;
  static_assert(std::is_same_v<c::clock_type, kp::clock::manual>);
  static_assert(std::is_same_v<c::selection_type, kp::selection::round_robin>);
  SUCCEED();
}

// ---- reload ----------------------------------------------------------------------

TEST(Reload, KeptKeysKeepStateAndStatsNewKeysStartFresh) {
  manual_pool p(keys(3));
  for (int i = 0; i < 6; ++i) p.report(*p.acquire(), kp::outcome::success());
  p.report(*p.acquire(), kp::outcome::rate_limited());  // key 1 locked
  auto k = keys(4);
  k.erase(k.begin() + 1);             // drop key 2
  k[0].variable = "GROQ_API_KEY_10";  // same secret, renamed
  const auto r = p.reload(k);
  EXPECT_EQ(r.removed, std::vector<std::string>{"GROQ_API_KEY_2"});
  EXPECT_EQ(r.added, std::vector<std::string>{"GROQ_API_KEY_4"});
  EXPECT_EQ(r.kept.size(), 2u);
  const auto s = p.snapshot();
  ASSERT_EQ(s.keys.size(), 3u);
  EXPECT_EQ(s.keys[0].variable, "GROQ_API_KEY_10");
  EXPECT_EQ(s.keys[0].requests, 3u);
  EXPECT_EQ(s.keys[0].state_name(), "rate_limited");  // state survives the rename
  EXPECT_EQ(s.keys[1].requests, 2u);
  EXPECT_EQ(s.keys[2].requests, 0u);
  for (int i = 0; i < 10; ++i) {
    auto l = *p.acquire();
    EXPECT_NE(l.variable(), "GROQ_API_KEY_2");
    EXPECT_NE(l.variable(), "GROQ_API_KEY_10");
    p.report(l, kp::outcome::success());
  }
}

TEST(Reload, KeyListedAgainCountsAsAddedAndKeepsItsState) {
  manual_pool p(keys(3), {.recheck_disabled_after = 0ms});
  for (int i = 0; i < 2; ++i) {
    auto l = *p.acquire();
    p.report(l, l.variable() == "GROQ_API_KEY_1" ? kp::outcome::invalid_key() : kp::outcome::rate_limited());
  }
  auto three = keys(3);
  const auto removed = p.reload({three[2]});
  EXPECT_EQ(removed.removed, (std::vector<std::string>{"GROQ_API_KEY_1", "GROQ_API_KEY_2"}));
  const auto back = p.reload(keys(3));
  // Not in the previous set, so not "kept" (they were listed as kept before).
  EXPECT_EQ(back.added, (std::vector<std::string>{"GROQ_API_KEY_1", "GROQ_API_KEY_2"}));
  EXPECT_EQ(back.kept, (std::vector<std::string>{"GROQ_API_KEY_3"}));
  // What the pool learned about a secret holds: still invalid, still locked.
  const auto s = p.snapshot();
  EXPECT_EQ(s.keys[0].state_name(), "invalid");
  EXPECT_EQ(s.keys[1].state_name(), "rate_limited");
  EXPECT_EQ(s.keys[1].available_in, 60s);
  EXPECT_TRUE(p.enable("GROQ_API_KEY_1"));  // the way back with recheck_disabled_after = 0
  EXPECT_TRUE(p.snapshot().keys[0].available());
}

TEST(Reload, BadListChangesNothing) {
  manual_pool p(keys(2));
  auto k = keys(3);
  k[2].secret = "gsk_with space";
  try {
    p.reload(k);
    FAIL() << "expected invalid_key_spec";
  } catch (const kp::invalid_key_spec& e) {
    EXPECT_EQ(e.variable(), "GROQ_API_KEY_3");
    EXPECT_EQ(std::string(e.what()).find("gsk_with"), std::string::npos);  // never the secret
  }
  EXPECT_EQ(p.snapshot().keys.size(), 2u);
  manual_pool small(keys(1), {.capacity = 2});
  EXPECT_THROW(small.reload(keys(3)), std::length_error);
  EXPECT_EQ(small.snapshot().keys.size(), 1u);
}

// ---- clocks ----------------------------------------------------------------------

using ticker = kp::clock::detail::ticker;

/// Waits (yielding, up to 10 s of steady time) for the ticker to be in the
/// wanted state; a liveness check, not a timing assertion.
template <class Pred>
bool eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!pred() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  return pred();
}

// The coarse clock is read in the vDSO directly (clock/detail/vdso.hpp). The
// lookup must find the kernel's function wherever the kernel maps a vDSO on
// x86-64 Linux, and its readings must agree with the C library's.
TEST(Clock, VdsoClockGettimeIsFoundAndAgreesWithTheCLibrary) {
#ifdef KEYPOOL_VDSO_CLOCK
  if (::getauxval(AT_SYSINFO_EHDR) == 0) GTEST_SKIP() << "no vDSO mapped (e.g. under valgrind)";
  ASSERT_NE(kp::clock::detail::vdso_clock_gettime, nullptr) << "the vDSO parser missed __vdso_clock_gettime";
  for (const clockid_t id : {CLOCK_MONOTONIC_COARSE, CLOCK_MONOTONIC, CLOCK_REALTIME_COARSE}) {
    timespec before{}, ours{}, after{};
    ::clock_gettime(id, &before);
    kp::clock::detail::gettime(id, ours);
    ::clock_gettime(id, &after);
    const auto ns = [](const timespec& t) { return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec; };
    EXPECT_LE(ns(before), ns(ours)) << "clock " << id;
    EXPECT_LE(ns(ours), ns(after)) << "clock " << id;
  }
#else
  GTEST_SKIP() << "the direct vDSO call is built for x86-64 Linux only";
#endif
}

TEST(Clock, TickingReadsThePublishedSteadyTimeAndItAdvances) {
  kp::clock::ticking c;
  const auto before = kp::clock::steady{}.now();
  ASSERT_NE(ticker::published_ms.load(), 0) << "a ticking clock exists, so the ticker must have published";
  const auto first = c.coarse_now();
  EXPECT_LE(first, kp::clock::steady{}.now());
  EXPECT_GE(first, before - c.coarse_lag());
  EXPECT_TRUE(eventually([&] { return c.coarse_now() > first; })) << "the ticker thread never refreshed the time";
  EXPECT_NE(ticker::published_ms.load(), 0);
}

TEST(Clock, TickerStopsWithTheLastClockAndRestartsWithTheNext) {
  {
    kp::clock::ticking a;
    kp::clock::ticking b = a;  // copies keep it running too
    { kp::clock::ticking gone = b; }
    EXPECT_NE(ticker::published_ms.load(), 0);
  }
  EXPECT_TRUE(eventually([] { return ticker::published_ms.load() == 0; })) << "ticker outlived its last clock";
  kp::clock::ticking again;
  EXPECT_NE(ticker::published_ms.load(), 0);
  const auto first = again.coarse_now();
  EXPECT_TRUE(eventually([&] { return again.coarse_now() > first; }));
}

TEST(Clock, TickingChildOfForkReadsTheKernelClock) {
  kp::clock::ticking c;
  ASSERT_NE(ticker::published_ms.load(), 0);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // No ticker thread here: a frozen published time would stop the clock.
    const bool fell_back = ticker::published_ms.load() == 0;
    const auto lag = kp::clock::steady{}.now() - c.coarse_now();
    ::_exit(fell_back && lag >= 0ms && lag <= c.coarse_lag() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child kept the parent's frozen ticker time";
  EXPECT_NE(ticker::published_ms.load(), 0) << "the parent's ticker must keep running";
}

TEST(Clock, TickingPoolStampsLastUsed) {
  using ticking_pool = kp::pool<groq>::with<kp::policy::clock<kp::clock::ticking>>;
  ticking_pool p(keys(2));
  auto l = *p.acquire();
  p.report(l, kp::outcome::success());
  p.report(*p.acquire(), kp::outcome::rate_limited());
  const auto s = p.snapshot();
  ASSERT_TRUE(s.keys[0].last_used.has_value());
  EXPECT_LE(*s.keys[0].last_used, kp::clock::steady{}.now());
  EXPECT_GE(*s.keys[0].last_used, kp::clock::steady{}.now() - 10s);
  ASSERT_TRUE(s.keys[1].available_in.has_value());
  EXPECT_GT(*s.keys[1].available_in, 59s);  // lockouts still run on the fine clock
  EXPECT_EQ(p.acquire()->variable(), "GROQ_API_KEY_1");
}

// ---- keys: validation, redaction, fingerprint ----------------------------------

// A thread_local constructed before the thread's first pick is destroyed
// after the thread's slot is released; if it picks then, it must use the
// shared overflow shard, not the slot a new thread may already own.
manual_pool* late_pool = nullptr;
std::uint32_t late_slot = 0;
struct late_picker {
  bool touched = false;
  ~late_picker() {
    late_pool->report(*late_pool->acquire(), kp::outcome::success());
    late_slot = kp::detail::tls_slot;
  }
};
thread_local late_picker late_picker_instance;

TEST(ThreadSlot, PicksDuringThreadExitUseTheOverflowShard) {
  manual_pool p(keys(2));
  late_pool = &p;
  std::thread([&] {
    late_picker_instance.touched = true;  // constructed before the slot holder
    p.report(*p.acquire(), kp::outcome::success());
  }).join();
  EXPECT_EQ(late_slot, kp::detail::overflow_slot);
  EXPECT_EQ(p.snapshot().requests(), 2u);
  EXPECT_EQ(p.snapshot().successes(), 2u);
}

TEST(Keys, Sha256KnownVectors) {
  const auto h = kp::detail::sha256::hash("abc");
  EXPECT_EQ(kp::detail::to_hex(h.data(), h.size()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const auto e = kp::detail::sha256::hash("");
  EXPECT_EQ(kp::detail::to_hex(e.data(), e.size()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string million(1000000, 'a');
  const auto m = kp::detail::sha256::hash(million);
  EXPECT_EQ(kp::detail::to_hex(m.data(), m.size()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  EXPECT_EQ(kp::fingerprint("abc"), "ba7816bf8f01");
}

TEST(Keys, RedactionShowsPrefixAndTailOnlyForLongKeys) {
  EXPECT_EQ(kp::redact("gsk_fakefakefakefakefake9xQz"),
            "gsk_\xE2\x80\xA6"
            "9xQz");
  EXPECT_EQ(kp::redact("sk-ant-fakefakefakefakefakeAB12"),
            "sk-ant-\xE2\x80\xA6"
            "AB12");
  EXPECT_EQ(kp::redact("short"), "\xE2\x80\xA6");
  EXPECT_EQ(kp::redact("nvapi-short"), "nvapi-\xE2\x80\xA6");
}

TEST(Keys, WhitespaceAndControlCharactersRejectedByName) {
  EXPECT_FALSE(kp::secret_problem("gsk_ok").has_value());
  EXPECT_EQ(*kp::secret_problem(""), "empty value");
  EXPECT_EQ(*kp::secret_problem("ab\ncd"), "control character at position 3");
  EXPECT_EQ(*kp::secret_problem("ab cd"), "whitespace at position 3");
  EXPECT_EQ(*kp::secret_problem(std::string("ab\0cd", 5)), "control character at position 3");
  // Paste artefacts outside ASCII: a non-breaking space, a zero-width space, C1 NEL.
  EXPECT_EQ(*kp::secret_problem("gsk_ab\xC2\xA0"), "non-ASCII character at position 7");
  EXPECT_EQ(*kp::secret_problem("\xE2\x80\x8Bgsk_ab"), "non-ASCII character at position 1");
  EXPECT_EQ(*kp::secret_problem("gsk\xC2\x85x"), "non-ASCII character at position 4");
  using specs = std::vector<kp::key_spec>;
  EXPECT_THROW(manual_pool(specs{{"GROQ_API_KEY_1", "gsk\r"}}), kp::invalid_key_spec);
  EXPECT_THROW(manual_pool(specs{{"GROQ_API_KEY_1", "same"}, {"GROQ_API_KEY_2", "same"}}), kp::invalid_key_spec);
}

}  // namespace
