// Documented promises that concurrency, reloads and misuse once broke
// (issue 27): a stale probe's verdict after many state changes, two 429s at
// once, a key listed again into a limited account, and leases reported to
// the wrong pool, empty or twice.
#include <keypool/keypool.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
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
    out.push_back({"GROQ_API_KEY_" + std::to_string(i), "gsk_fake_promise_key_" + std::to_string(i)});
  return out;
}

using manual_pool = kp::basic_pool<groq, kp::policy::clock<kp::clock::manual>>;
using exponential_pool =
    kp::basic_pool<groq, kp::policy::lockout<kp::lockout::exponential>, kp::policy::clock<kp::clock::manual>>;

exponential_pool::options exponential_options() { return {.lockout = {.base = 1s, .cap = 1h, .jitter_percent = 0}}; }

/// lockout::exponential that takes its time to decide (a few microseconds),
/// so that concurrent reports overlap between reading the key's state and
/// locking it: the window where two 429s could both escalate.
struct slow_exponential {
  kp::lockout::exponential inner{.base = 1s, .cap = 1h, .jitter_percent = 0};
  std::chrono::milliseconds lockout_for(const kp::outcome& o, const kp::lockout_context& c) const noexcept {
    const auto until = std::chrono::steady_clock::now() + 20us;
    while (std::chrono::steady_clock::now() < until) {
    }
    return inner.lockout_for(o, c);
  }
};

// ---- 1. a stale probe stays stale ---------------------------------------------

TEST(PoolPromises, AStaleProbesVerdictIsIgnoredAfterAnyNumberOfStateChanges) {
  manual_pool p(keys(1), {.lockout = kp::lockout::fixed{1s}, .probe_timeout = 5s});
  auto lock = [&] {
    p.report(*p.acquire(), kp::outcome::rate_limited());
    p.clock().advance(1s);
  };
  lock();
  const kp::lease hung = *p.acquire();  // a probe whose request hangs
  ASSERT_TRUE(hung.is_probe());
  p.clock().advance(5s);  // it times out: the key passes to the next probe
  // Lock, probe, recover: three state changes a round, so the key's state
  // runs through every value a short generation counter could take.
  for (int round = 0; round < 1100; ++round) {
    auto probe = *p.acquire();
    ASSERT_TRUE(probe.is_probe()) << round;
    const kp::lease late = hung;  // the hung request's verdict, at last
    p.report(late, kp::outcome::success());
    ASSERT_EQ(p.snapshot().keys[0].status, kp::key_status::probing)
        << "a stale probe's verdict ended the current probe after " << round << " rounds";
    p.report(probe, kp::outcome::success());
    ASSERT_EQ(p.snapshot().keys[0].status, kp::key_status::available) << round;
    lock();
  }
  EXPECT_EQ(p.snapshot().misuse, 0u);
}

// ---- 2. two 429s at once escalate once ----------------------------------------

TEST(PoolPromises, RequestsInFlightWhenTheKeyLocksEscalateOnce) {
  exponential_pool p(keys(1), exponential_options());
  auto a = *p.acquire();
  auto b = *p.acquire();
  p.report(a, kp::outcome::rate_limited());
  p.report(b, kp::outcome::rate_limited());
  EXPECT_EQ(p.snapshot().keys[0].available_in, 1s);
  p.clock().advance(1s);
  auto probe = *p.acquire();
  ASSERT_TRUE(probe.is_probe());
  p.report(probe, kp::outcome::rate_limited());
  EXPECT_EQ(p.snapshot().keys[0].available_in, 2s) << "one escalation before this lockout: 1 s x 2";
}

// Real threads (this runs under ThreadSanitizer in CI): each round, several
// requests taken while the key is available report 429 at the same moment.
// Only one of them escalates, so the key's next lockout is 2 s, never more.
TEST(PoolPromises, ConcurrentRateLimitsEscalateOnce) {
  kp::basic_pool<groq, kp::policy::lockout<slow_exponential>, kp::policy::clock<kp::clock::manual>> p(keys(1));
  constexpr int reporters = 3;  // and the main thread
  constexpr int rounds = 1000;
  std::vector<kp::lease> leases(reporters + 1);
  std::atomic<int> round{0}, done{0};
  // Spin (briefly) rather than sleep, so the reports start together.
  auto wait_until = [](const std::atomic<int>& a, int v) {
    for (int spins = 0; a.load(std::memory_order_acquire) < v; ++spins)
      if (spins > 2000) std::this_thread::yield();
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < reporters; ++t)
    threads.emplace_back([&, t] {
      for (int r = 1; r <= rounds; ++r) {
        wait_until(round, r);
        p.report(leases[static_cast<std::size_t>(t)], kp::outcome::rate_limited());
        done.fetch_add(1, std::memory_order_acq_rel);
      }
    });
  int over_escalated = 0;
  for (int r = 1; r <= rounds; ++r) {
    ASSERT_TRUE(p.enable("GROQ_API_KEY_1"));  // available, no earlier lockouts
    for (auto& l : leases) l = *p.acquire();
    round.store(r, std::memory_order_release);
    p.report(leases[reporters], kp::outcome::rate_limited());
    wait_until(done, r * reporters);
    // The lockout in place is the first level's (1 s) unless an escalated
    // 429 extended it; the probe's 429 then locks for the next level.
    p.clock().advance(1s);
    auto probe = p.acquire();
    if (!probe || !probe->is_probe()) {
      ++over_escalated;
      continue;
    }
    p.report(*probe, kp::outcome::rate_limited());
    if (p.snapshot().keys[0].available_in != 2s) ++over_escalated;
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(over_escalated, 0) << "rounds (of " << rounds << ") where concurrent 429s escalated more than once";
  EXPECT_EQ(p.snapshot().misuse, 0u);
}

// ---- 3. accounts and reload ---------------------------------------------------

TEST(PoolPromises, AKeyListedAgainIntoALimitedAccountSharesItsLockout) {
  auto k = keys(3);
  k[0].account = k[1].account = "org-1";
  manual_pool p(k, {.lockout = kp::lockout::fixed{60s}});
  p.reload({k[1], k[2]});  // key 1 leaves
  for (;;) {               // key 2 (same account) is rate limited
    auto l = *p.acquire();
    const bool two = l.variable() == "GROQ_API_KEY_2";
    p.report(l, two ? kp::outcome::rate_limited() : kp::outcome::success());
    if (two) break;
  }
  p.clock().advance(10s);
  const auto r = p.reload(k);  // key 1 is back while the account's limit lasts
  ASSERT_EQ(r.added, std::vector<std::string>{"GROQ_API_KEY_1"});
  const auto s = p.snapshot();
  EXPECT_EQ(s.keys[0].status, kp::key_status::locked);
  EXPECT_EQ(s.keys[0].reason, kp::outcome_kind::rate_limited);
  EXPECT_EQ(s.keys[0].available_in, 50s);
  for (int i = 0; i < 12; ++i) {
    auto l = *p.acquire();
    EXPECT_EQ(l.variable(), "GROQ_API_KEY_3");
    p.report(l, kp::outcome::success());
  }
  // A brand-new key of the account shares the limit too; one of another
  // account does not.
  auto more = k;
  more.push_back({"GROQ_API_KEY_4", "gsk_fake_promise_key_4", 1, "org-1"});
  more.push_back({"GROQ_API_KEY_5", "gsk_fake_promise_key_5", 1, "org-2"});
  p.reload(more);
  const auto s2 = p.snapshot();
  EXPECT_EQ(s2.keys[3].status, kp::key_status::locked);
  EXPECT_EQ(s2.keys[4].status, kp::key_status::available);
}

TEST(PoolPromises, AKeysOwnSpentDailyBudgetIsNoAccountLimit) {
  auto k = keys(3);
  k[0].account = k[1].account = "org-1";
  k[1].daily_limit = 1;
  manual_pool p(k);
  p.reload({k[1], k[2]});
  for (int i = 0; i < 4; ++i) {  // key 2 spends its budget of one
    auto l = p.acquire();
    if (l) p.report(*l, kp::outcome::success());
  }
  ASSERT_EQ(p.snapshot().keys[0].state_name(), "quota_exhausted");
  p.reload(k);
  EXPECT_EQ(p.snapshot().keys[0].status, kp::key_status::available);
}

// ---- 4. misuse ----------------------------------------------------------------

TEST(PoolMisuse, ALeaseOfAnotherPoolTouchesNothing) {
  manual_pool big(keys(100));
  manual_pool small(keys(1));  // room for 64 slots
  kp::lease l;
  for (;;) {
    l = *big.acquire();
    if (l.slot() >= 64) break;
    big.report(l, kp::outcome::success());
  }
  small.report(l, kp::outcome::rate_limited());
  small.report(l, kp::outcome::success());
  const auto s = small.snapshot();
  EXPECT_EQ(s.misuse, 2u);
  EXPECT_EQ(s.successes() + s.failures(), 0u);
  EXPECT_TRUE(s.keys[0].available());
  // A lease of another pool whose slot exists here: still not this pool's.
  kp::lease other;
  for (;;) {
    other = *big.acquire();
    if (other.slot() < 64) break;
    big.report(other, kp::outcome::success());
  }
  small.report(other, kp::outcome::invalid_key());
  EXPECT_EQ(small.snapshot().misuse, 3u);
  EXPECT_TRUE(small.snapshot().keys[0].available());
  // Their own pool still takes them.
  big.report(l, kp::outcome::success());
  big.report(other, kp::outcome::success());
  EXPECT_EQ(big.snapshot().misuse, 0u);
  EXPECT_EQ(big.snapshot().successes(), big.snapshot().requests());
}

TEST(PoolMisuse, AnEmptyLeaseIsIgnored) {
  manual_pool p(keys(1));
  p.report(kp::lease{}, kp::outcome::rate_limited());
  p.report(kp::lease{}, kp::outcome::invalid_key());
  p.report(kp::lease{}, kp::outcome::success());
  const auto s = p.snapshot();
  EXPECT_EQ(s.misuse, 3u);
  EXPECT_EQ(s.successes() + s.failures(), 0u);
  EXPECT_TRUE(s.keys[0].available());
}

TEST(PoolMisuse, ALeaseReportedTwiceCountsOnce) {
  using pool =
      kp::basic_pool<groq, kp::policy::selection<kp::selection::least_loaded>, kp::policy::clock<kp::clock::manual>>;
  pool p(keys(1));
  auto l = *p.acquire();
  p.report(l, kp::outcome::success());
  p.report(l, kp::outcome::rate_limited());
  const auto s = p.snapshot();
  EXPECT_EQ(s.misuse, 1u);
  EXPECT_EQ(s.requests(), 1u);
  EXPECT_EQ(s.successes(), 1u);
  EXPECT_EQ(s.failures(), 0u);
  EXPECT_TRUE(s.keys[0].available());
}

TEST(PoolMisuse, ADuplicateRateLimitOnAProbeDoesNotEscalate) {
  exponential_pool p(keys(1), exponential_options());
  p.report(*p.acquire(), kp::outcome::rate_limited());  // 1 s
  p.clock().advance(1s);
  auto probe = *p.acquire();
  ASSERT_TRUE(probe.is_probe());
  const kp::lease copy = probe;
  p.report(probe, kp::outcome::rate_limited());  // 2 s: the probe failed
  p.report(probe, kp::outcome::rate_limited());  // the same lease again: misuse
  p.report(copy, kp::outcome::rate_limited());   // a copy: no longer the current probe
  EXPECT_EQ(p.snapshot().keys[0].available_in, 2s);
  EXPECT_EQ(p.snapshot().misuse, 1u);
  p.clock().advance(2s);
  auto next = *p.acquire();
  ASSERT_TRUE(next.is_probe());
  p.report(next, kp::outcome::rate_limited());
  EXPECT_EQ(p.snapshot().keys[0].available_in, 4s) << "two lockouts before this one: 1 s x 2 x 2";
}

}  // namespace
