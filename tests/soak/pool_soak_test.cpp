/// Soak: real threads pick and report on one pool for KEYPOOL_SOAK_SECONDS
/// (default 60; CI runs it shorter under TSan) while lockouts expire, probes
/// go out, keys are reloaded and snapshots are taken. Checked throughout:
/// no two probes of a key at once, a disabled key is never handed out
/// except as its single probe, every failure to pick is a well-formed
/// error. Checked at the end: leases handed out == reports == the pool's
/// own counters, and resident memory stayed flat after warm-up (RSS samples
/// from /proc/self/statm). Keys are obviously fake.

#include <keypool/core/pool.hpp>
#include <keypool/lockout/fixed.hpp>
#include <keypool/report/text.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define KEYPOOL_SOAK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define KEYPOOL_SOAK_SANITIZED 1
#endif
#endif

namespace {

namespace kp = keypool;
using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;
using soak_pool = kp::basic_pool<kp::runtime_provider, kp::policy::lockout<kp::lockout::fixed>>;

constexpr int key_count = 12;
constexpr int dead_key = 0;  ///< always reported invalid_key: only its probes may be handed out
constexpr int workers = 4;

std::chrono::seconds soak_duration() {
  if (const char* v = std::getenv("KEYPOOL_SOAK_SECONDS")) {
    const long s = std::strtol(v, nullptr, 10);
    if (s > 0) return std::chrono::seconds(s);
  }
  return 60s;
}

std::string secret_of(int i) { return "soak-test-FAKE-key-" + std::to_string(i) + "-0123456789abcdef"; }
std::string variable_of(int i) { return "SOAK_API_KEY_" + std::to_string(i + 1); }
int index_of(std::string_view variable) { return std::stoi(std::string(variable.substr(13))) - 1; }

/// Keys keep their variable, so a reload never renames (which would create
/// new records and grow memory by design).
std::vector<kp::key_spec> key_set(std::uint32_t mask) {
  std::vector<kp::key_spec> out;
  for (int i = 0; i < key_count; ++i)
    if (mask & (1u << i)) out.push_back({variable_of(i), secret_of(i)});
  return out;
}

/// Resident set size in bytes, from /proc/self/statm (pages).
std::size_t rss_bytes() {
  std::ifstream f("/proc/self/statm");
  std::size_t size = 0, resident = 0;
  f >> size >> resident;
  return resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
}

struct key_track {
  std::atomic<int> probes_out{0};
  /// Bumped before every report that may re-lock the key: a new probe while
  /// one is out is legitimate only if the key was re-locked meanwhile.
  std::atomic<std::uint64_t> relocks{0};
  std::atomic<std::uint64_t> probe_epoch{0};
  /// The workers' own tallies, checked against the pool's statistics.
  std::atomic<std::uint64_t> requests{0};
  std::array<std::atomic<std::uint64_t>, kp::outcome_kind_count> outcomes{};
};

struct totals {
  std::atomic<std::uint64_t> acquired{0}, reported{0}, probes{0}, unavailable{0}, violations{0};
};

TEST(Soak, ConcurrentPicksReportsProbesAndReloads) {
  const auto duration = soak_duration();
  const auto warmup = std::max<clk::duration>(2s, duration / 5);
  soak_pool pool(kp::provider_info{"soak", "SOAK"}, key_set((1u << key_count) - 1),
                 {.lockout = kp::lockout::fixed{20ms}, .recheck_disabled_after = 30ms, .probe_timeout = 60s});
  std::array<key_track, key_count> track;
  totals t;
  std::atomic<bool> dead_disabled{false};
  std::atomic<bool> stop{false};
  std::vector<std::string> failures;  // written by the main thread only
  const auto start = clk::now();

  auto worker = [&](unsigned seed) {
    std::minstd_rand rng(seed);
    std::uint64_t last_error_check = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      const bool dead_was_disabled = dead_disabled.load(std::memory_order_acquire);
      auto r = pool.acquire();
      if (!r) {
        // Every key locked: a well-formed error, checked now and then.
        if (++last_error_check % 64 == 1) {
          const auto msg = r.error().message();
          if (msg.find("SOAK") == std::string::npos) t.violations.fetch_add(1);
        }
        t.unavailable.fetch_add(1, std::memory_order_relaxed);
        std::this_thread::yield();
        continue;
      }
      t.acquired.fetch_add(1, std::memory_order_relaxed);
      const kp::lease& l = *r;
      const int k = index_of(l.variable());
      key_track& tr = track[static_cast<std::size_t>(k)];
      tr.requests.fetch_add(1, std::memory_order_relaxed);
      if (l.is_probe()) {
        t.probes.fetch_add(1, std::memory_order_relaxed);
        const int out = tr.probes_out.fetch_add(1) + 1;
        const auto epoch = tr.relocks.load();
        if (out > 1 && tr.probe_epoch.load() == epoch) t.violations.fetch_add(1);  // two probes at once
        tr.probe_epoch.store(epoch);
      } else if (k == dead_key && dead_was_disabled) {
        t.violations.fetch_add(1);  // a disabled key handed out as a normal pick
      }
      if (l.secret() != secret_of(k)) t.violations.fetch_add(1);

      kp::outcome o = kp::outcome::success();
      // Rare enough that most picks succeed, frequent enough that some key
      // is always locked, disabled or being probed.
      const unsigned dice = rng() % 10000;
      if (k == dead_key)
        o = kp::outcome::invalid_key();
      else if (dice < 40)
        o = kp::outcome::rate_limited(std::chrono::milliseconds(1 + rng() % 30));
      else if (dice < 50)
        o = kp::outcome::quota_exhausted(10ms);
      else if (dice < 55)
        o = kp::outcome::invalid_key();
      else if (dice < 150)
        o = kp::outcome::transient();
      if (kp::blames_key(o.kind)) tr.relocks.fetch_add(1);
      if (l.is_probe()) tr.probes_out.fetch_sub(1);
      tr.outcomes[static_cast<std::size_t>(o.kind)].fetch_add(1, std::memory_order_relaxed);
      pool.report(l, o);
      t.reported.fetch_add(1, std::memory_order_relaxed);
      if (k == dead_key) dead_disabled.store(true, std::memory_order_release);
    }
  };

  std::vector<std::thread> threads;
  for (int i = 0; i < workers; ++i) threads.emplace_back(worker, 1234u + static_cast<unsigned>(i));
  // Reloads: random subsets, the dead key usually in (its state survives).
  std::atomic<std::uint64_t> reloads{0}, snapshots{0};
  threads.emplace_back([&] {
    std::minstd_rand rng(99);
    while (!stop.load(std::memory_order_relaxed)) {
      std::uint32_t mask = static_cast<std::uint32_t>(rng()) & ((1u << key_count) - 1);
      mask |= 1u << (1 + rng() % (key_count - 1));  // never empty
      if (rng() % 4) mask |= 1u << dead_key;
      pool.reload(key_set(mask));
      reloads.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::sleep_for(5ms);
    }
  });
  // Snapshots and the text report, as a monitoring thread would take them.
  threads.emplace_back([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      const auto s = pool.snapshot();
      if (s.keys.empty() || s.keys.size() > key_count || s.available() > s.keys.size()) t.violations.fetch_add(1);
      if (kp::report::text(s).find("SOAK") == std::string::npos) t.violations.fetch_add(1);
      snapshots.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::sleep_for(20ms);
    }
  });

  // Main thread: RSS samples, once a second.
  std::size_t baseline = 0, peak_after = 0;
  std::vector<std::size_t> samples;
  while (clk::now() - start < duration) {
    std::this_thread::sleep_for(std::min<clk::duration>(1s, duration - (clk::now() - start)));
    const std::size_t rss = rss_bytes();
    samples.push_back(rss);
    if (clk::now() - start <= warmup)
      baseline = std::max(baseline, rss);
    else
      peak_after = std::max(peak_after, rss);
    if (t.violations.load() != 0) break;  // fail fast
  }
  stop.store(true);
  for (auto& th : threads) th.join();

  // End: every key back in rotation view, counters reconcile exactly.
  pool.reload(key_set((1u << key_count) - 1));
  const auto snap = pool.snapshot();
  ASSERT_EQ(snap.keys.size(), static_cast<std::size_t>(key_count));
  std::uint64_t requests = 0, outcomes = 0;
  for (const auto& k : snap.keys) {
    requests += k.requests;
    for (auto n : k.outcomes) outcomes += n;
    EXPECT_EQ(k.requests, [&] {
      std::uint64_t s = 0;
      for (auto n : k.outcomes) s += n;
      return s;
    }()) << k.variable;
  }
  // Per key and outcome, as the workers counted them.
  for (const auto& k : snap.keys) {
    const key_track& tr = track[static_cast<std::size_t>(index_of(k.variable))];
    EXPECT_EQ(k.requests, tr.requests.load()) << k.variable;
    for (std::size_t o = 0; o < kp::outcome_kind_count; ++o)
      EXPECT_EQ(k.outcomes[o], tr.outcomes[o].load())
          << k.variable << " " << kp::to_string(static_cast<kp::outcome_kind>(o));
  }
  EXPECT_EQ(snap.misuse, 0u);
  EXPECT_EQ(t.violations.load(), 0u);
  EXPECT_EQ(t.acquired.load(), t.reported.load());
  EXPECT_EQ(requests, t.acquired.load());
  EXPECT_EQ(outcomes, t.reported.load());
  // Not vacuous: the run exercised lockouts, probes, reloads and snapshots.
  EXPECT_GT(t.probes.load(), 0u);
  EXPECT_GT(reloads.load(), 0u);
  EXPECT_GT(snapshots.load(), 0u);
  EXPECT_GT(snap.keys[static_cast<std::size_t>(dead_key)].count(kp::outcome_kind::invalid_key), 0u);

  const double mb = 1024.0 * 1024.0;
  std::printf(
      "soak: %lld s, %llu picks, %llu probes, %llu unavailable, %llu reloads, %llu snapshots; "
      "RSS warm-up peak %.1f MB, after %.1f MB\n",
      static_cast<long long>(duration.count()), static_cast<unsigned long long>(t.acquired.load()),
      static_cast<unsigned long long>(t.probes.load()), static_cast<unsigned long long>(t.unavailable.load()),
      static_cast<unsigned long long>(reloads.load()), static_cast<unsigned long long>(snapshots.load()),
      static_cast<double>(baseline) / mb, static_cast<double>(peak_after) / mb);
#ifndef KEYPOOL_SOAK_SANITIZED
  // Flat after warm-up: allowance for allocator noise only. (Sanitizers keep
  // freed memory in quarantine or history buffers, so RSS says nothing there.)
  if (peak_after != 0) {
    EXPECT_LT(peak_after, baseline + 4 * 1024 * 1024) << "memory grew after warm-up";
  }
#endif
}

}  // namespace
