// keypool_redis_sqlite_bench: the state backends against each other, in one
// run, so that their ratios to state::local share the machine's moment.
//   backends_vs_local_ratio  pick + report(success) with state::local,
//                            state::sqlite and state::redis (8 keys, key 4
//                            locked), interleaved in batches; counters
//                            local_ns, sqlite_ns, redis_ns, sqlite_ratio,
//                            redis_ratio (medians of per-batch CPU time)
//   redis_startup/N/T        a new state::redis until ready (the namespace
//                            loaded) with N lockouts stored in the
//                            namespace and command_timeout T ms; counter
//                            loaded
// Uses the Redis at KEYPOOL_REDIS_PORT (127.0.0.1), else starts redis-server
// on a free loopback port; the SQLite file is in a temporary directory.
// Propagation: keypool_redis_bench and keypool_sqlite_bench. Figures:
// docs/benchmarks.md.
#include <keypool/keypool.hpp>
#include <keypool/state/redis.hpp>
#include <keypool/state/sqlite.hpp>

#include "../tests/redis/support/redis_server.hpp"

#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
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

std::vector<kp::key_spec> keys() {
  std::vector<kp::key_spec> out;
  for (int i = 1; i <= key_count; ++i)
    out.push_back({"BENCH_API_KEY_" + std::to_string(i), "gsk_fake_state_bench_" + std::to_string(i)});
  return out;
}

/// The Redis used by all benchmarks; 0 when there is none.
int redis_port() {
  static std::unique_ptr<keypool_test::redis_server> server;
  static int port = [] {
    if (const char* p = std::getenv("KEYPOOL_REDIS_PORT")) return std::atoi(p);
    server = std::make_unique<keypool_test::redis_server>();
    if (!server->available() || !server->start()) return 0;
    return server->port();
  }();
  return port;
}

kp::state::redis_options redis_options(const std::string& name_space) {
  kp::state::redis_options o;
  o.port = redis_port();
  o.name_space = name_space;
  return o;
}

template <class State>
using bench_pool = kp::basic_pool<bench_provider, kp::policy::state<State>>;

template <class State>
std::unique_ptr<bench_pool<State>> make_pool(State s) {
  auto p = std::make_unique<bench_pool<State>>(
      keys(), typename bench_pool<State>::options{.lockout = kp::lockout::fixed{24h}, .state = s});
  for (int i = 0; i < key_count; ++i) {  // key 4 locked, by this pool's own report
    auto l = p->acquire_or_throw();
    p->report(l, l.variable() == "BENCH_API_KEY_4" ? kp::outcome::rate_limited() : kp::outcome::success());
  }
  return p;
}

template <class Pool>
inline void pick_report(Pool& p) {
  auto l = p.acquire();
  benchmark::DoNotOptimize(l);
  p.report(*l, kp::outcome::success());
}

/// This thread's CPU time: a neighbour's compile descheduling us does not count.
std::chrono::nanoseconds thread_cpu() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

/// Times `batch` picks of `p` in this thread's CPU nanoseconds per pick.
template <class Pool>
double timed_batch(Pool& p, int batch) {
  const auto t0 = thread_cpu();
  for (int i = 0; i < batch; ++i) pick_report(p);
  return static_cast<double>((thread_cpu() - t0).count()) / batch;
}

/// The three pools in one loop, in batches of 4096 picks whose order
/// rotates, so no backend profits from a warmer cache or a quieter moment.
void backends_vs_local_ratio(benchmark::State& state) {
  if (!redis_port()) return state.SkipWithError("no redis-server (install it or set KEYPOOL_REDIS_PORT)");
  const auto dir = std::filesystem::temp_directory_path() / ("keypool_state_bench_" + std::to_string(::getpid()));
  kp::state::sqlite file({.path = (dir / "state.db").string()});
  kp::state::redis shared(redis_options("bench_ratio"));
  if (!file.ready() || !shared.wait_ready(5s)) return state.SkipWithError("a backend is not ready");
  auto local = make_pool(kp::state::local{});
  auto lite = make_pool(file);
  auto red = make_pool(shared);
  constexpr int batch = 4096;
  std::vector<double> l_ns, s_ns, r_ns, s_ratio, r_ratio;
  int turn = 0;
  for (auto _ : state) {
    double t[3];
    for (int k = 0; k < 3; ++k) {
      const int which = (turn + k) % 3;
      t[which] = which == 0   ? timed_batch(*local, batch)
                 : which == 1 ? timed_batch(*lite, batch)
                              : timed_batch(*red, batch);
    }
    ++turn;
    l_ns.push_back(t[0]);
    s_ns.push_back(t[1]);
    r_ns.push_back(t[2]);
    s_ratio.push_back(t[1] / t[0]);
    r_ratio.push_back(t[2] / t[0]);
  }
  state.counters["local_ns"] = median(l_ns);
  state.counters["sqlite_ns"] = median(s_ns);
  state.counters["redis_ns"] = median(r_ns);
  state.counters["sqlite_ratio"] = median(s_ratio);
  state.counters["redis_ratio"] = median(r_ratio);
  state.SetItemsProcessed(state.iterations() * batch * 3);
  red.reset();
  lite.reset();
  file.shutdown();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

/// Writes `n` lockouts into namespace `ns` as the backend stores them (a
/// state key with its TTL, and its entry in the index), server-side.
bool populate(const std::string& ns, int n) {
  static constexpr const char* script = R"lua(
local t = redis.call('TIME')
local ends = tonumber(t[1]) * 1000 + 3600000
for i = 1, tonumber(ARGV[2]) do
  local fp = string.format('%012d', i)
  local k = 'keypool:{' .. ARGV[1] .. '}:state:bench:' .. fp
  redis.call('SET', k, 'locked|rate_limited|3600000ms|' .. fp .. '|bench', 'PX', 3600000)
  redis.call('ZADD', 'keypool:{' .. ARGV[1] .. '}:index', ends, k)
end
return 1)lua";
  timeval tv{30, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", redis_port(), tv);
  if (!c) return false;
  if (c->err) {
    redisFree(c);
    return false;
  }
  redisSetTimeout(c, tv);
  const std::string count = std::to_string(n);
  const char* argv[] = {"EVAL", script, "0", ns.c_str(), count.c_str()};
  auto* r = static_cast<redisReply*>(redisCommandArgv(c, 5, argv, nullptr));
  const bool ok = r && r->type == REDIS_REPLY_INTEGER && r->integer == 1;
  if (r) freeReplyObject(r);
  redisFree(c);
  return ok;
}

void redis_startup(benchmark::State& state) {
  if (!redis_port()) return state.SkipWithError("no redis-server (install it or set KEYPOOL_REDIS_PORT)");
  const std::string ns = "bench_startup_" + std::to_string(state.range(0));
  if (state.range(0) > 0 && !populate(ns, static_cast<int>(state.range(0))))
    return state.SkipWithError("could not populate the namespace");
  std::uint64_t loaded = 0;
  for (auto _ : state) {
    std::atomic<std::uint64_t> seen{0};
    auto o = redis_options(ns);
    // The load is one command: at the default command_timeout (250 ms) a
    // namespace of ~100k live lockouts never loads (docs/distributed.md).
    o.command_timeout = std::chrono::milliseconds(state.range(1));
    kp::state::redis r(o);
    auto link = r.attach("bench", [&](std::string_view, kp::key_status, kp::outcome_kind,
                                      std::chrono::system_clock::time_point) { return ++seen, true; });
    if (!r.wait_ready(10s)) return state.SkipWithError("not ready within 10 s");
    loaded = r.status().loaded;
    state.PauseTiming();
    link.detach();
    r.shutdown();
    state.ResumeTiming();
  }
  state.counters["loaded"] = static_cast<double>(loaded);
}

}  // namespace

BENCHMARK(backends_vs_local_ratio);
BENCHMARK(redis_startup)
    ->Args({0, 250})
    ->Args({10'000, 250})
    ->Args({100'000, 250})
    ->Args({100'000, 10'000})
    ->Iterations(5)
    ->Unit(benchmark::kMillisecond);
