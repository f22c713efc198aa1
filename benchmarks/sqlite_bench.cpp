// keypool_sqlite_bench: what keeping state in a SQLite file costs.
//   sqlite_pick_and_report<local|sqlite>  pick + report(success), 8 keys, one
//                                         locked (by another backend of the
//                                         same file, for the sqlite pool)
//   sqlite_vs_local_ratio                 both pools interleaved in one loop;
//                                         counters local_ns, sqlite_ns, ratio
//   sqlite_publish                        publish() of one transition (enqueue)
//   sqlite_reserve_daily                  one budget reservation (a write
//                                         transaction on the calling thread)
//   sqlite_metered_pick/<daily_chunk>     pick + report of a key with a daily
//                                         limit: the file is asked once per
//                                         daily_chunk picks
//   sqlite_propagation                    a lockout published by one backend
//                                         until another backend of the same
//                                         file applied it (poll_interval
//                                         20 ms, published at random points
//                                         of the cycle); counters p50_us,
//                                         p99_us
// The file lives in a fresh directory under $TMPDIR (or /tmp), removed at the
// end. docs/benchmarks.md has the numbers.
#include <keypool/keypool.hpp>
#include <keypool/state/sqlite.hpp>

#include <benchmark/benchmark.h>

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace kp = keypool;
using namespace std::chrono_literals;

namespace {

struct bench_provider {
  static kp::provider_info info() { return {"bench", "BENCH"}; }
};

constexpr int key_count = 8;

std::vector<kp::key_spec> keys(std::uint32_t daily_limit = 0) {
  std::vector<kp::key_spec> out;
  for (int i = 1; i <= key_count; ++i)
    out.push_back(
        {"BENCH_API_KEY_" + std::to_string(i), "gsk_fake_sqlite_bench_" + std::to_string(i), 1, {}, daily_limit});
  return out;
}

/// A fresh directory, removed with its files.
struct temp_dir {
  std::string path;
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    path = std::string(base && *base ? base : "/tmp") + "/keypool_sqlite_bench_XXXXXX";
    if (!::mkdtemp(path.data())) path.clear();
  }
  ~temp_dir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};

kp::state::sqlite_options options(const std::string& file) {
  kp::state::sqlite_options o;
  o.path = file;
  return o;
}

template <class State>
using bench_pool = kp::basic_pool<bench_provider, kp::policy::state<State>>;

/// A local and a sqlite pool, key 4 locked for a day in both (in the sqlite
/// pool by a change another backend of the file wrote). Built in Setup,
/// destroyed in Teardown, so no backend thread outlives a benchmark.
struct fixture {
  temp_dir dir;
  kp::state::sqlite other, mine;
  bench_pool<kp::state::local> local{keys(), {.lockout = kp::lockout::fixed{24h}}};
  std::unique_ptr<bench_pool<kp::state::sqlite>> shared;
  kp::state::sqlite::attachment link;

  fixture() : other(options(dir.path + "/state.db")), mine(options(dir.path + "/state.db")) {
    shared = std::make_unique<bench_pool<kp::state::sqlite>>(
        keys(), bench_pool<kp::state::sqlite>::options{.lockout = kp::lockout::fixed{24h}, .state = mine});
    link = mine.attach(*shared);
    for (int i = 0; i < key_count; ++i) {
      auto l = local.acquire_or_throw();
      local.report(l, l.variable() == "BENCH_API_KEY_4" ? kp::outcome::rate_limited() : kp::outcome::success());
    }
    other.publish({"bench", kp::fingerprint("gsk_fake_sqlite_bench_4"), kp::key_status::locked,
                   kp::outcome_kind::rate_limited, std::chrono::system_clock::now() + 24h});
    other.flush(5s);
    const auto end = std::chrono::steady_clock::now() + 5s;
    while (mine.status().applied == 0 && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(1ms);
  }
};

std::unique_ptr<fixture> fx;

void setup(const benchmark::State&) { fx = std::make_unique<fixture>(); }
void teardown(const benchmark::State&) { fx.reset(); }

template <class Pool>
inline void pick_report(Pool& p) {
  auto l = p.acquire();
  benchmark::DoNotOptimize(l);
  p.report(*l, kp::outcome::success());
}

template <class State>
void sqlite_pick_and_report(benchmark::State& state) {
  if (!fx->mine.ready()) return state.SkipWithError(fx->mine.status().last_error.c_str());
  if (fx->mine.status().applied == 0) return state.SkipWithError("the other backend's lockout was not applied");
  auto& p = [&]() -> auto& {
    if constexpr (std::is_same_v<State, kp::state::local>)
      return fx->local;
    else
      return *fx->shared;
  }
  ();
  for (auto _ : state) pick_report(p);
  state.SetItemsProcessed(state.iterations());
}

/// This thread's CPU time: a neighbour's compile descheduling us does not count.
std::chrono::nanoseconds thread_cpu() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

/// Both pools in one loop, interleaved in batches of 4096 picks, alternating
/// which goes first; medians of per-batch thread CPU time (as
/// redis_bench.cpp's redis_vs_local_ratio).
void sqlite_vs_local_ratio(benchmark::State& state) {
  if (!fx->mine.ready()) return state.SkipWithError(fx->mine.status().last_error.c_str());
  constexpr int batch = 4096;
  std::vector<double> local_ns, sqlite_ns, ratio;
  auto& lp = fx->local;
  auto& sp = *fx->shared;
  bool local_first = true;
  for (auto _ : state) {
    auto t0 = thread_cpu();
    if (local_first)
      for (int i = 0; i < batch; ++i) pick_report(lp);
    else
      for (int i = 0; i < batch; ++i) pick_report(sp);
    auto t1 = thread_cpu();
    if (local_first)
      for (int i = 0; i < batch; ++i) pick_report(sp);
    else
      for (int i = 0; i < batch; ++i) pick_report(lp);
    auto t2 = thread_cpu();
    const double first = static_cast<double>((t1 - t0).count()) / batch;
    const double second = static_cast<double>((t2 - t1).count()) / batch;
    local_ns.push_back(local_first ? first : second);
    sqlite_ns.push_back(local_first ? second : first);
    ratio.push_back(sqlite_ns.back() / local_ns.back());
    local_first = !local_first;
  }
  auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  state.counters["local_ns"] = median(local_ns);
  state.counters["sqlite_ns"] = median(sqlite_ns);
  state.counters["ratio"] = median(ratio);
  state.SetItemsProcessed(state.iterations() * batch * 2);
}

void sqlite_publish(benchmark::State& state) {
  const auto fp = kp::fingerprint("gsk_fake_sqlite_bench_7");
  const auto until = std::chrono::system_clock::now() + 1s;
  for (auto _ : state)
    fx->other.publish({"bench_publish", fp, kp::key_status::locked, kp::outcome_kind::rate_limited, until});
  state.counters["dropped"] = static_cast<double>(fx->other.status().dropped);
  fx->other.flush(30s);
}

void sqlite_reserve_daily(benchmark::State& state) {
  const auto fp = kp::fingerprint("gsk_fake_sqlite_bench_1");
  const auto today = kp::provider_day::at(std::chrono::system_clock::now());
  for (auto _ : state) {
    auto v = fx->mine.reserve_daily("bench", fp, today, 1u << 30, 1);
    benchmark::DoNotOptimize(v);
  }
  state.counters["unavailable"] = static_cast<double>(fx->mine.status().budget_unavailable);
}

/// Picks of metered keys (a daily limit no run reaches) on a pool of its own.
void sqlite_metered_pick(benchmark::State& state) {
  temp_dir dir;
  kp::state::sqlite s(options(dir.path + "/state.db"));
  bench_pool<kp::state::sqlite> p(keys(1u << 30),
                                  {.state = s, .daily_chunk = static_cast<std::uint32_t>(state.range(0))});
  for (auto _ : state) pick_report(p);
  state.SetItemsProcessed(state.iterations());
}

void sqlite_propagation(benchmark::State& state) {
  std::atomic<long long> seen{-1};
  auto link = fx->mine.attach("bench_propagation", [&](std::string_view fp, kp::key_status, kp::outcome_kind,
                                                       std::chrono::system_clock::time_point) {
    seen.store(std::atoll(std::string(fp).c_str()), std::memory_order_release);
    return true;
  });
  std::vector<double> us;
  long long seq = 0;
  std::minstd_rand rng(42);
  for (auto _ : state) {
    // Publish at a random point of the poll cycle, not always just after
    // the poll that saw the previous change.
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20000));
    const std::string fp = std::to_string(++seq);
    const auto t0 = std::chrono::steady_clock::now();
    fx->other.publish({"bench_propagation", fp, kp::key_status::locked, kp::outcome_kind::rate_limited,
                       std::chrono::system_clock::now() + 1h});
    while (seen.load(std::memory_order_acquire) != seq) {
      if (std::chrono::steady_clock::now() - t0 > 5s) return state.SkipWithError("not propagated within 5 s");
      std::this_thread::sleep_for(50us);
    }
    us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(us.begin(), us.end());
  auto pct = [&](double q) {
    return us[std::min(us.size() - 1, static_cast<std::size_t>(q * static_cast<double>(us.size())))];
  };
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
}

}  // namespace

BENCHMARK(sqlite_pick_and_report<kp::state::local>)->Setup(setup)->Teardown(teardown)->Threads(1)->Threads(2);
BENCHMARK(sqlite_pick_and_report<kp::state::sqlite>)->Setup(setup)->Teardown(teardown)->Threads(1)->Threads(2);
BENCHMARK(sqlite_vs_local_ratio)->Setup(setup)->Teardown(teardown);
BENCHMARK(sqlite_publish)->Setup(setup)->Teardown(teardown);
BENCHMARK(sqlite_reserve_daily)->Setup(setup)->Teardown(teardown)->Unit(benchmark::kMicrosecond);
BENCHMARK(sqlite_metered_pick)->Arg(1)->Arg(64)->Unit(benchmark::kNanosecond);
BENCHMARK(sqlite_propagation)->Setup(setup)->Teardown(teardown)->Iterations(200)->Unit(benchmark::kMicrosecond);
