// keypool_bench: pick + report per iteration, per strategy, at 1 and 2
// threads (more with --threads=N in KEYPOOL_BENCH_THREADS), 8 keys with one
// locked. Baselines in the same binary so results are ratios within one run:
//   baseline_mutex          what a user would write instead: a mutex, an
//                           index and per-key counters
//   baseline_shared_atomic  one shared fetch_add counter picks the key
//   floor_thread_local      a thread-local counter; not a usable pool
// round_robin/acquire_only_all_available uses a pool with no key locked: the
// fast path alone. round_robin/pick_report_ticking_clock is pick_report with
// clock::ticking (the "last used" stamp read from a background ticker), and
// round_robin/acquire_only_ticking_clock acquire_only with it (a pick landing
// on the locked key sees the lockout on the ticker's time, not the kernel's).
// round_robin/pick_report_daily_limit gives every key a daily limit (never
// reached): such keys are counted on every pick, off the fast path.
// docs/benchmarks.md records the numbers and the command.
#include <keypool/keypool.hpp>

#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

namespace kp = keypool;
using namespace std::chrono_literals;

namespace {

struct bench_provider {
  static kp::provider_info info() { return {"groq", "GROQ"}; }
};

constexpr int key_count = 8;

std::vector<kp::key_spec> keys(std::uint32_t daily_limit = 0) {
  std::vector<kp::key_spec> out;
  for (int i = 1; i <= key_count; ++i)
    out.push_back({"GROQ_API_KEY_" + std::to_string(i), "gsk_fake_bench_" + std::to_string(i),
                   static_cast<std::uint32_t>(1 + i % 3), "", daily_limit});
  return out;
}

template <class Selection, class Clock = kp::clock::steady>
using bench_pool = kp::basic_pool<bench_provider, kp::policy::selection<Selection>, kp::policy::clock<Clock>>;

/// One pool per strategy (and clock) for the whole run, with key 4 locked for a day.
template <class Selection, class Clock = kp::clock::steady>
bench_pool<Selection, Clock>& shared_pool() {
  static bench_pool<Selection, Clock>* p = [] {
    auto* pool = new bench_pool<Selection, Clock>(keys(), {.lockout = kp::lockout::fixed{24h}});
    for (int i = 0; i < key_count; ++i) {
      auto l = pool->acquire_or_throw();
      pool->report(l, l.variable() == "GROQ_API_KEY_4" ? kp::outcome::rate_limited() : kp::outcome::success());
    }
    return pool;
  }();
  return *p;
}

/// The same keys, none locked: acquire()'s fast path alone (every pick is
/// the strategy's first choice).
template <class Selection, class Clock = kp::clock::steady>
bench_pool<Selection, Clock>& all_available_pool() {
  static auto* p = new bench_pool<Selection, Clock>(keys());
  return *p;
}

/// Every key with a daily limit it never reaches, none locked.
bench_pool<kp::selection::round_robin>& daily_limit_pool() {
  static auto* p = new bench_pool<kp::selection::round_robin>(keys(4'000'000'000u));
  return *p;
}

template <class Selection, class Clock = kp::clock::steady>
void pick_and_report(benchmark::State& state) {
  auto& p = shared_pool<Selection, Clock>();
  for (auto _ : state) {
    auto l = p.acquire();
    benchmark::DoNotOptimize(l);
    p.report(*l, kp::outcome::success());
  }
  state.SetItemsProcessed(state.iterations());
}

/// `AllAvailable`: the pool with no key locked (the fast path alone).
template <class Selection, bool AllAvailable = false, class Clock = kp::clock::steady>
void acquire_only(benchmark::State& state) {
  auto& p = AllAvailable ? all_available_pool<Selection, Clock>() : shared_pool<Selection, Clock>();
  for (auto _ : state) {
    auto l = p.acquire();
    benchmark::DoNotOptimize(l);
  }
  state.SetItemsProcessed(state.iterations());
}

void pick_and_report_daily_limit(benchmark::State& state) {
  auto& p = daily_limit_pool();
  for (auto _ : state) {
    auto l = p.acquire();
    benchmark::DoNotOptimize(l);
    p.report(*l, kp::outcome::success());
  }
  state.SetItemsProcessed(state.iterations());
}

// ---- baselines ---------------------------------------------------------------

struct mutex_pool {
  struct stats {
    std::uint64_t requests = 0, successes = 0, last_used = 0;
    bool locked = false;
  };
  std::mutex mu;
  std::size_t next = 0;
  std::vector<stats> keys = std::vector<stats>(key_count);
  mutex_pool() { keys[3].locked = true; }

  std::size_t acquire() {
    std::lock_guard g(mu);
    for (std::size_t tries = 0; tries < keys.size(); ++tries) {
      const std::size_t i = next;
      next = (next + 1) % keys.size();
      if (!keys[i].locked) {
        ++keys[i].requests;
        return i;
      }
    }
    return keys.size();
  }
  void report(std::size_t i) {
    const auto now = kp::clock::steady{}.coarse_now().count();
    std::lock_guard g(mu);
    ++keys[i].successes;
    keys[i].last_used = static_cast<std::uint64_t>(now);
  }
};

void baseline_mutex(benchmark::State& state) {
  static mutex_pool p;
  for (auto _ : state) {
    const auto i = p.acquire();
    benchmark::DoNotOptimize(i);
    p.report(i);
  }
  state.SetItemsProcessed(state.iterations());
}

void baseline_shared_atomic(benchmark::State& state) {
  alignas(128) static std::atomic<std::uint64_t> counter{0};
  for (auto _ : state) {
    const auto i = counter.fetch_add(1, std::memory_order_relaxed) % key_count;
    benchmark::DoNotOptimize(i);
  }
  state.SetItemsProcessed(state.iterations());
}

void floor_thread_local(benchmark::State& state) {
  thread_local std::uint64_t counter = 0;
  // Reached through a pointer, as a pool reaches its thread's cursor. On AMD
  // Zen 4 a load of what the previous iteration stored is forwarded at once
  // for a [register + offset] address but waits 6-7 cycles for an
  // %fs-relative one, and which of the two the compiler emits for a plain
  // `counter++` depends on the surrounding code (0.3 or 1.7 ns).
  std::uint64_t* c = &counter;
  benchmark::DoNotOptimize(c);
  for (auto _ : state) {
    const auto i = (*c)++ % key_count;
    benchmark::DoNotOptimize(i);
  }
  state.SetItemsProcessed(state.iterations());
}

template <class Clock>
void coarse_clock_read(benchmark::State& state) {
  Clock c;
  for (auto _ : state) benchmark::DoNotOptimize(c.coarse_now());
  state.SetItemsProcessed(state.iterations());
}

/// What a pick of a key with a daily limit reads to know the provider's day.
void wall_clock_read(benchmark::State& state) {
  kp::clock::steady c;
  for (auto _ : state) benchmark::DoNotOptimize(c.wall_now());
  state.SetItemsProcessed(state.iterations());
}

}  // namespace

int main(int argc, char** argv) {
  int max_threads = 2;
  if (const char* t = std::getenv("KEYPOOL_BENCH_THREADS")) max_threads = std::max(1, std::atoi(t));
  auto add = [&](const char* name, void (*fn)(benchmark::State&)) {
    auto* b = benchmark::RegisterBenchmark(name, fn);
    for (int t = 1; t <= max_threads; t *= 2) b->Threads(t);
    b->UseRealTime();
  };
  add("round_robin/pick_report", pick_and_report<kp::selection::round_robin>);
  add("round_robin/pick_report_ticking_clock", pick_and_report<kp::selection::round_robin, kp::clock::ticking>);
  add("round_robin/acquire_only", acquire_only<kp::selection::round_robin>);
  add("round_robin/acquire_only_all_available", acquire_only<kp::selection::round_robin, true>);
  add("round_robin/acquire_only_ticking_clock", acquire_only<kp::selection::round_robin, false, kp::clock::ticking>);
  add("round_robin/pick_report_daily_limit", pick_and_report_daily_limit);
  add("weighted/pick_report", pick_and_report<kp::selection::weighted>);
  add("random/pick_report", pick_and_report<kp::selection::random>);
  add("least_loaded/pick_report", pick_and_report<kp::selection::least_loaded>);
  add("strict_round_robin/pick_report", pick_and_report<kp::selection::strict_round_robin>);
  add("baseline_mutex", baseline_mutex);
  add("baseline_shared_atomic", baseline_shared_atomic);
  add("floor_thread_local", floor_thread_local);
  add("coarse_clock_read", coarse_clock_read<kp::clock::steady>);
  add("coarse_clock_read_ticking", coarse_clock_read<kp::clock::ticking>);
  add("wall_clock_read", wall_clock_read);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
