// Real threads, meant to run under ThreadSanitizer (make tsan): pickers,
// a thread reporting rate limits, a thread reloading the key set and a thread
// moving the clock, all at once. Checks invariants, not timings.
#include <keypool/keypool.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace kp = keypool;
using namespace std::chrono_literals;

namespace {

struct zai {
  static kp::provider_info info() { return {"zai", "ZAI"}; }
};

kp::key_spec key(int i) { return {"ZAI_API_KEY_" + std::to_string(i), "zai-fake-stress-" + std::to_string(i)}; }

std::vector<kp::key_spec> keys(std::initializer_list<int> ids, std::uint32_t daily_limit = 0) {
  std::vector<kp::key_spec> out;
  for (int i : ids) {
    out.push_back(key(i));
    out.back().daily_limit = daily_limit;
  }
  return out;
}

template <class Selection>
void run_stress() {
  using pool = kp::basic_pool<zai, kp::policy::selection<Selection>, kp::policy::lockout<kp::lockout::retry_after>,
                              kp::policy::clock<kp::clock::manual>>;
  // Probes never time out here, so "one probe per key at a time" is exact.
  pool p(keys({1, 2, 3, 4, 5, 6}),
         {.lockout = {.fallback = 20ms, .min = 1ms}, .recheck_disabled_after = 0ms, .probe_timeout = 24h});
  constexpr int pickers = 4;
  constexpr int per_picker = 20000;
  std::atomic<long> acquired{0}, reported{0}, unavailable{0};
  std::array<std::atomic<int>, 16> probes_out{};
  std::atomic<int> probe_violations{0}, disabled_violations{0}, probes{0};
  std::atomic<bool> key1_disabled{false};
  std::atomic<bool> done{false}, limiter_done{false};
  // The test threads' own tallies, per key and outcome, to check the pool's
  // per-key statistics against.
  std::array<std::atomic<long>, 16> requests_of{};
  std::array<std::array<std::atomic<long>, kp::outcome_kind_count>, 16> outcomes_of{};
  // Per key: probe starts and ends (high half) and probes out (low half), in
  // one word, so a picker can tell that one probe was out before and after
  // its pick: then no other lease of that key may be handed out meanwhile.
  std::array<std::atomic<std::uint64_t>, 16> probe_watch{};
  std::atomic<int> lease_during_probe{0};
  constexpr std::uint64_t probe_event = std::uint64_t{1} << 32;

  auto on_lease = [&](const kp::lease& l) {
    acquired.fetch_add(1, std::memory_order_relaxed);
    const int id = std::stoi(std::string(l.variable().substr(12)));
    requests_of[static_cast<std::size_t>(id)].fetch_add(1, std::memory_order_relaxed);
    if (l.is_probe()) {
      probes.fetch_add(1, std::memory_order_relaxed);
      probe_watch[static_cast<std::size_t>(id)].fetch_add(probe_event + 1);
    }
    if (l.is_probe() && probes_out[static_cast<std::size_t>(id)].fetch_add(1) != 0) probe_violations.fetch_add(1);
    return id;
  };
  // What a picker saw of the probes before its pick.
  auto watch = [&] {
    std::array<std::uint64_t, 16> seen{};
    for (std::size_t i = 0; i < seen.size(); ++i) seen[i] = probe_watch[i].load();
    return seen;
  };
  auto check_not_during_probe = [&](const std::array<std::uint64_t, 16>& before, const kp::lease& l, int id) {
    const auto i = static_cast<std::size_t>(id);
    if (!l.is_probe() && (before[i] & 0xffffffff) != 0 && probe_watch[i].load() == before[i])
      lease_during_probe.fetch_add(1);
  };
  auto give_back = [&](const kp::lease& l, int id, kp::outcome o) {
    if (l.is_probe()) {
      probes_out[static_cast<std::size_t>(id)].fetch_sub(1);
      probe_watch[static_cast<std::size_t>(id)].fetch_add(probe_event - 1);
    }
    outcomes_of[static_cast<std::size_t>(id)][static_cast<std::size_t>(o.kind)].fetch_add(1, std::memory_order_relaxed);
    p.report(l, o);
    reported.fetch_add(1, std::memory_order_relaxed);
  };

  std::vector<std::thread> threads;
  for (int t = 0; t < pickers; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < per_picker || !limiter_done.load(std::memory_order_acquire); ++i) {
        const bool must_skip_key1 = key1_disabled.load(std::memory_order_acquire);
        const auto before = watch();
        auto r = p.acquire();
        if (!r) {
          unavailable.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        const int id = on_lease(*r);
        check_not_during_probe(before, *r, id);
        if (must_skip_key1 && id == 1) disabled_violations.fetch_add(1);
        give_back(*r, id, kp::outcome::success());
      }
    });
  // Rate limits with short hints: keys lock, expire, get probed, recover.
  // Runs until it has reported enough of them (bounded either way).
  threads.emplace_back([&] {
    int limits = 0;
    for (long i = 0; limits < 600 && i < 5'000'000; ++i) {
      const auto before = watch();
      auto r = p.acquire();
      if (!r) {
        std::this_thread::yield();
        continue;
      }
      const int id = on_lease(*r);
      check_not_during_probe(before, *r, id);
      if (i % 3 == 0) {
        give_back(*r, id, kp::outcome::rate_limited(std::chrono::milliseconds(1 + i % 7)));
        ++limits;
      } else {
        give_back(*r, id, kp::outcome::success());
      }
    }
    limiter_done.store(true, std::memory_order_release);
  });
  // Disable key 1 permanently once, then announce it.
  threads.emplace_back([&] {
    for (;;) {
      auto r = p.acquire();
      if (!r) continue;
      const int id = on_lease(*r);
      if (id == 1 && !r->is_probe()) {
        give_back(*r, id, kp::outcome::invalid_key());
        key1_disabled.store(true, std::memory_order_release);
        return;
      }
      give_back(*r, id, kp::outcome::success());
    }
  });
  // Reload between overlapping key sets; key 1 is in every set. The second
  // set gives its keys a daily limit never reached, so keys 1, 3 and 5 flip
  // their state word's daily-limit flag on every reload, racing the
  // lockouts, probes and the disable of key 1.
  threads.emplace_back([&] {
    for (int i = 0; !done.load(std::memory_order_acquire) && i < 2000; ++i) {
      if (i % 2)
        p.reload(keys({1, 2, 3, 4, 5, 6}));
      else
        p.reload(keys({1, 3, 5, 7, 8}, 1'000'000'000));
      std::this_thread::yield();
    }
  });
  // The clock: 1 ms per step.
  threads.emplace_back([&] {
    while (!done.load(std::memory_order_acquire)) {
      p.clock().advance(1ms);
      std::this_thread::yield();
    }
  });

  for (int t = 0; t < pickers + 2; ++t) threads[static_cast<std::size_t>(t)].join();
  done.store(true, std::memory_order_release);
  for (std::size_t t = pickers + 2; t < threads.size(); ++t) threads[t].join();

  p.reload(keys({1, 2, 3, 4, 5, 6, 7, 8}));  // every slot visible again
  const auto s = p.snapshot();
  EXPECT_EQ(static_cast<long>(s.requests()), acquired.load()) << "an acquire was not counted";
  std::uint64_t outcomes = s.successes() + s.failures();
  EXPECT_EQ(acquired.load(), reported.load());
  EXPECT_EQ(static_cast<long>(outcomes), reported.load()) << "a report was lost";
  EXPECT_EQ(probe_violations.load(), 0) << "two probes of one key at once";
  EXPECT_EQ(disabled_violations.load(), 0) << "a disabled key was handed out";
  EXPECT_EQ(lease_during_probe.load(), 0) << "a key was handed out while its probe was out";
  EXPECT_EQ(s.misuse, 0u);
  ASSERT_EQ(s.keys.size(), 8u);
  for (const auto& k : s.keys) {
    const auto id = static_cast<std::size_t>(std::stoi(k.variable.substr(12)));
    EXPECT_EQ(static_cast<long>(k.requests), requests_of[id].load()) << k.variable;
    for (std::size_t o = 0; o < kp::outcome_kind_count; ++o)
      EXPECT_EQ(static_cast<long>(k.outcomes[o]), outcomes_of[id][o].load())
          << k.variable << " " << kp::to_string(static_cast<kp::outcome_kind>(o));
  }
  EXPECT_EQ(s.keys[0].state_name(), "invalid");
  // Every lease came back, so every probe has its verdict: a key still
  // probing lost it (its state word moved under the verdict's CAS).
  for (const auto& k : s.keys) EXPECT_FALSE(k.status == kp::key_status::probing) << k.variable << " was left probing";
  EXPECT_GT(acquired.load(), pickers * per_picker / 10);
  EXPECT_GT(probes.load(), 10) << "lockouts should have expired and been probed";
  std::uint64_t limited = 0;
  for (const auto& k : s.keys) limited += k.count(kp::outcome_kind::rate_limited);
  EXPECT_GE(limited, 600u);
}

}  // namespace

TEST(Stress, RoundRobinUnderReloadsAndRateLimits) { run_stress<kp::selection::round_robin>(); }
TEST(Stress, WeightedUnderReloadsAndRateLimits) { run_stress<kp::selection::weighted>(); }
TEST(Stress, LeastLoadedUnderReloadsAndRateLimits) { run_stress<kp::selection::least_loaded>(); }
TEST(Stress, StrictRoundRobinUnderReloadsAndRateLimits) { run_stress<kp::selection::strict_round_robin>(); }

// More threads alive at once than KEYPOOL_MAX_THREADS: the ones without a
// slot share the overflow shard (a lock on the pick, atomic counters). Their
// picks and reports go through the pool's shard-less path; none may be lost
// or raced on, and every thread still gets keys.
TEST(Stress, ThreadsBeyondTheSlotLimitShareTheOverflowShard) {
  using pool = kp::basic_pool<zai, kp::policy::clock<kp::clock::manual>>;
  pool p(keys({1, 2, 3}));
  constexpr int threads = static_cast<int>(kp::detail::max_thread_slots) + 24;
  constexpr int per_thread = 50;
  std::atomic<int> started{0}, on_overflow{0}, failed{0};
  std::atomic<long> transients{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      // Every thread takes its slot (or the overflow) before any exits and
      // frees one.
      if (auto first = p.acquire())
        p.report(*first, kp::outcome::success());
      else
        failed.fetch_add(1);
      if (kp::detail::current_thread_slot() == kp::detail::overflow_slot) on_overflow.fetch_add(1);
      started.fetch_add(1);
      while (started.load() < threads) std::this_thread::yield();
      for (int i = 1; i < per_thread; ++i) {
        auto l = p.acquire();
        if (!l) {
          failed.fetch_add(1);
          continue;
        }
        if (i % 10 == t % 10) {
          transients.fetch_add(1);
          p.report(*l, kp::outcome::transient());
        } else {
          p.report(*l, kp::outcome::success());
        }
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(failed.load(), 0);
  // Other tests' threads have exited; this test's threads hold every slot.
  EXPECT_GE(on_overflow.load(), 24);
  const auto s = p.snapshot();
  EXPECT_EQ(s.requests(), std::uint64_t{threads} * per_thread);
  EXPECT_EQ(s.successes() + s.failures(), std::uint64_t{threads} * per_thread);
  EXPECT_EQ(s.failures(), static_cast<std::uint64_t>(transients.load()));
  for (const auto& k : s.keys) EXPECT_GT(k.requests, 0u) << k.variable;
}

// Pools made and destroyed on several threads while a long-lived pool is in
// use by others: each pool's statistics are its own (per-thread shards are
// made and freed with their pool), and a lease reported to the wrong pool
// is counted as misuse there without touching its slots.
TEST(Stress, PoolsComeAndGoWhileOthersAreInUse) {
  using pool = kp::basic_pool<zai, kp::policy::clock<kp::clock::manual>>;
  pool shared(keys({1, 2, 3, 4}));
  constexpr int users = 2, makers = 2, per_maker = 150;
  std::atomic<bool> stop{false};
  std::atomic<long> shared_picks{0}, shared_misuse{0};
  std::atomic<int> violations{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < users; ++t)
    ts.emplace_back([&] {
      while (!stop.load(std::memory_order_acquire)) {
        if (auto l = shared.acquire()) {
          shared.report(*l, kp::outcome::success());
          shared_picks.fetch_add(1, std::memory_order_relaxed);
        }
      }
    });
  for (int t = 0; t < makers; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_maker; ++i) {
        // 1 to 70 keys: some pools hold slots beyond the shared pool's 64.
        const int n = 1 + (i * 7 + t * 13) % 70;
        std::vector<kp::key_spec> ks;
        for (int k = 0; k < n; ++k)
          ks.push_back({"ZAI_API_KEY_" + std::to_string(k + 1),
                        "zai-fake-churn-" + std::to_string(t) + "-" + std::to_string(i) + "-" + std::to_string(k)});
        auto own = std::make_unique<pool>(std::move(ks));
        long picks = 0;
        for (int j = 0; j < 2 * n; ++j) {
          auto l = own->acquire();
          if (!l) {
            violations.fetch_add(1);
            continue;
          }
          ++picks;
          if (j == n) {
            // The wrong pool first (ignored there), then its own.
            shared.report(*l, kp::outcome::rate_limited());
            shared_misuse.fetch_add(1);
            own->report(*l, kp::outcome::transient());
          } else {
            own->report(*l, kp::outcome::success());
          }
        }
        const auto s = own->snapshot();
        if (static_cast<long>(s.requests()) != picks || static_cast<long>(s.successes() + s.failures()) != picks ||
            s.misuse != 0 || s.failures() != 1u)
          violations.fetch_add(1);
      }
    });
  for (std::size_t t = users; t < ts.size(); ++t) ts[t].join();
  stop.store(true, std::memory_order_release);
  for (std::size_t t = 0; t < users; ++t) ts[t].join();
  EXPECT_EQ(violations.load(), 0);
  const auto s = shared.snapshot();
  EXPECT_EQ(static_cast<long>(s.misuse), shared_misuse.load());
  EXPECT_EQ(static_cast<long>(s.requests()), shared_picks.load());
  EXPECT_EQ(static_cast<long>(s.successes()), shared_picks.load());
  EXPECT_EQ(s.failures(), 0u);
  EXPECT_EQ(s.available(), 4u);
}
