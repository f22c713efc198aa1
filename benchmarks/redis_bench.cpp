// keypool_redis_bench: what sharing state through Redis costs.
//   redis_pick_and_report<local|redis>  pick + report(success), 8 keys, one
//                                       locked (remotely, for the redis pool)
//   redis_vs_local_ratio                both pools interleaved in one loop;
//                                       counters local_ns, redis_ns, ratio
//   redis_publish                       publish() of one transition (enqueue)
//   redis_take_daily                    one shared-budget round trip
//   redis_propagation                   a lockout published here until a
//                                       second PROCESS applied it; counters
//                                       p50_us, p99_us, max_us
// Uses the Redis at KEYPOOL_REDIS_PORT (127.0.0.1), else starts redis-server
// on a free loopback port. The second process is this binary re-executed
// with KEYPOOL_REDIS_BENCH_PEER set. docs/distributed.md has the numbers.
#include <keypool/keypool.hpp>
#include <keypool/state/redis.hpp>

#include "../tests/redis/support/redis_server.hpp"

#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

extern char** environ;

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
    out.push_back({"BENCH_API_KEY_" + std::to_string(i), "gsk_fake_redis_bench_" + std::to_string(i)});
  return out;
}

long long wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

kp::state::redis_options options(int port) {
  kp::state::redis_options o;
  o.port = port;
  o.name_space = "bench";
  return o;
}

// ---- the second process ----------------------------------------------------

/// Peer: for every change received, writes {sequence, receive time} to stdout.
const int peer_exit = [] {
  const char* port = std::getenv("KEYPOOL_REDIS_BENCH_PEER");
  if (!port) return 0;
  {
    kp::state::redis r(options(std::atoi(port)));
    static std::atomic<bool> live{false};  // stored state loaded at start is not a measurement
    auto link = r.attach(
        "bench", [](std::string_view fp, kp::key_status, kp::outcome_kind, std::chrono::system_clock::time_point) {
          if (!live.load() || !std::all_of(fp.begin(), fp.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return false;
          long long rec[2] = {std::atoll(std::string(fp).c_str()), wall_ns()};
          [[maybe_unused]] auto n = ::write(1, rec, sizeof rec);
          return true;
        });
    if (!r.wait_ready(5s)) ::_exit(2);
    live = true;
    const char ready = 'r';
    [[maybe_unused]] auto n = ::write(1, &ready, 1);
    char c;
    while (::read(0, &c, 1) > 0) {
    }
  }
  ::_exit(0);
}();

// ---- shared fixtures -------------------------------------------------------

/// The Redis used by all benchmarks; empty when there is none.
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

template <class State>
using bench_pool = kp::basic_pool<bench_provider, kp::policy::state<State>>;

/// A local and a redis pool, key 4 locked for a day in both (in the redis
/// pool by a change another instance published). Built in Setup, destroyed
/// in Teardown, so no backend thread outlives a benchmark.
struct fixture {
  kp::state::redis other, mine;
  bench_pool<kp::state::local> local{keys(), {.lockout = kp::lockout::fixed{24h}}};
  std::unique_ptr<bench_pool<kp::state::redis>> shared;
  kp::state::redis::attachment link;

  explicit fixture(int port) : other(options(port)), mine(options(port)) {
    shared = std::make_unique<bench_pool<kp::state::redis>>(
        keys(), bench_pool<kp::state::redis>::options{.lockout = kp::lockout::fixed{24h}, .state = mine});
    link = mine.attach(*shared);
    mine.wait_ready(5s);
    other.wait_ready(5s);
    for (int i = 0; i < key_count; ++i) {
      auto l = local.acquire_or_throw();
      local.report(l, l.variable() == "BENCH_API_KEY_4" ? kp::outcome::rate_limited() : kp::outcome::success());
    }
    other.publish({"bench", kp::fingerprint("gsk_fake_redis_bench_4"), kp::key_status::locked,
                   kp::outcome_kind::rate_limited, std::chrono::system_clock::now() + 24h});
    const auto end = std::chrono::steady_clock::now() + 2s;
    while (mine.status().applied == 0 && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(1ms);
  }
  ~fixture() {
    link.detach();
    other.publish({"bench", kp::fingerprint("gsk_fake_redis_bench_4"), kp::key_status::available,
                   kp::outcome_kind::success, std::chrono::system_clock::now()});
    other.flush(1s);
  }
};

std::unique_ptr<fixture> fx;

void setup(const benchmark::State&) {
  if (const int port = redis_port()) fx = std::make_unique<fixture>(port);
}
void teardown(const benchmark::State&) { fx.reset(); }

template <class Pool>
inline void pick_report(Pool& p) {
  auto l = p.acquire();
  benchmark::DoNotOptimize(l);
  p.report(*l, kp::outcome::success());
}

template <class State>
void redis_pick_and_report(benchmark::State& state) {
  if (!fx) return state.SkipWithError("no redis-server (install it or set KEYPOOL_REDIS_PORT)");
  if (fx->mine.status().applied == 0) return state.SkipWithError("remote lockout not applied");
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

/// Both pools in one loop, interleaved in batches of 4096 picks, so the ratio
/// is not skewed by frequency changes or a neighbour's compile between two
/// runs; medians of per-batch thread CPU time shrug off batches in which a
/// neighbour trashed the caches.
void redis_vs_local_ratio(benchmark::State& state) {
  if (!fx) return state.SkipWithError("no redis-server (install it or set KEYPOOL_REDIS_PORT)");
  constexpr int batch = 4096;
  std::vector<double> local_ns, redis_ns, ratio;
  auto& lp = fx->local;
  auto& rp = *fx->shared;  // both by reference: no extra indirection for either
  bool local_first = true;
  for (auto _ : state) {
    // Alternate which pool goes first: neither profits from a warmer cache.
    auto t0 = thread_cpu();
    if (local_first)
      for (int i = 0; i < batch; ++i) pick_report(lp);
    else
      for (int i = 0; i < batch; ++i) pick_report(rp);
    auto t1 = thread_cpu();
    if (local_first)
      for (int i = 0; i < batch; ++i) pick_report(rp);
    else
      for (int i = 0; i < batch; ++i) pick_report(lp);
    auto t2 = thread_cpu();
    const double first = static_cast<double>((t1 - t0).count()) / batch;
    const double second = static_cast<double>((t2 - t1).count()) / batch;
    local_ns.push_back(local_first ? first : second);
    redis_ns.push_back(local_first ? second : first);
    ratio.push_back(redis_ns.back() / local_ns.back());
    local_first = !local_first;
  }
  auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  state.counters["local_ns"] = median(local_ns);
  state.counters["redis_ns"] = median(redis_ns);
  state.counters["ratio"] = median(ratio);
  state.SetItemsProcessed(state.iterations() * batch * 2);
}

void redis_publish(benchmark::State& state) {
  if (!fx) return state.SkipWithError("no redis-server");
  const auto fp = kp::fingerprint("gsk_fake_redis_bench_7");
  const auto until = std::chrono::system_clock::now() + 1s;
  for (auto _ : state)
    fx->other.publish({"bench_publish", fp, kp::key_status::locked, kp::outcome_kind::rate_limited, until});
  state.counters["dropped"] = static_cast<double>(fx->other.status().dropped);
  fx->other.flush(5s);
}

void redis_take_daily(benchmark::State& state) {
  if (!fx) return state.SkipWithError("no redis-server");
  const auto fp = kp::fingerprint("gsk_fake_redis_bench_1");
  // Today and the 999 days after it: a day already over is refused without
  // counting, which is not the path this measures.
  const auto today = kp::provider_day::at(std::chrono::system_clock::now());
  std::uint32_t i = 0;
  for (auto _ : state) {
    auto v = fx->mine.take_daily("bench", fp, {today.index + ++i % 1000}, 1u << 30);
    benchmark::DoNotOptimize(v);
  }
}

/// This binary, re-executed as the receiving peer.
struct peer_process {
  pid_t pid = -1;
  int from = -1, to = -1;
  explicit peer_process(int port) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
    env.push_back("KEYPOOL_REDIS_BENCH_PEER=" + std::to_string(port));
    std::vector<char*> envp;
    for (auto& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
    char exe[] = "/proc/self/exe";
    char* argv[] = {exe, nullptr};
    int out[2], in[2];
    if (::pipe2(out, O_CLOEXEC) || ::pipe2(in, O_CLOEXEC)) return;
    pid = ::fork();
    if (pid == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::execve(exe, argv, envp.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(in[0]);
    from = out[0];
    to = in[1];
  }
  bool read_exact(void* p, std::size_t n, int timeout_ms) {
    auto* b = static_cast<char*>(p);
    while (n) {
      pollfd f{from, POLLIN, 0};
      if (::poll(&f, 1, timeout_ms) <= 0) return false;
      const auto r = ::read(from, b, n);
      if (r <= 0) return false;
      b += r;
      n -= static_cast<std::size_t>(r);
    }
    return true;
  }
  ~peer_process() {
    if (to >= 0) ::close(to);
    if (from >= 0) ::close(from);
    if (pid > 0) {
      int st = 0;
      ::waitpid(pid, &st, 0);
    }
  }
};

void redis_propagation(benchmark::State& state) {
  if (!fx) return state.SkipWithError("no redis-server");
  peer_process peer(redis_port());
  char ready = 0;
  if (peer.pid <= 0 || !peer.read_exact(&ready, 1, 10000)) return state.SkipWithError("peer did not start");
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(state.max_iterations));
  long long seq = 0;
  char fp[24];
  for (auto _ : state) {
    std::snprintf(fp, sizeof fp, "%012lld", ++seq);
    const long long t0 = wall_ns();
    fx->other.publish(
        {"bench", fp, kp::key_status::locked, kp::outcome_kind::rate_limited, std::chrono::system_clock::now() + 1s});
    long long rec[2];
    if (!peer.read_exact(rec, sizeof rec, 2000) || rec[0] != seq)
      return state.SkipWithError("a change was not propagated within 2 s");
    us.push_back(static_cast<double>(rec[1] - t0) / 1000.0);
  }
  std::sort(us.begin(), us.end());
  auto pct = [&](double q) {
    return us[std::min(us.size() - 1, static_cast<std::size_t>(q * static_cast<double>(us.size())))];
  };
  state.counters["p50_us"] = pct(0.50);
  state.counters["p99_us"] = pct(0.99);
  state.counters["max_us"] = us.back();
}

}  // namespace

BENCHMARK(redis_pick_and_report<kp::state::local>)->Setup(setup)->Teardown(teardown)->Threads(1)->Threads(2);
BENCHMARK(redis_pick_and_report<kp::state::redis>)->Setup(setup)->Teardown(teardown)->Threads(1)->Threads(2);
BENCHMARK(redis_vs_local_ratio)->Setup(setup)->Teardown(teardown);
BENCHMARK(redis_publish)->Setup(setup)->Teardown(teardown);
BENCHMARK(redis_take_daily)->Setup(setup)->Teardown(teardown)->Unit(benchmark::kMicrosecond);
BENCHMARK(redis_propagation)->Setup(setup)->Teardown(teardown)->Iterations(2000)->Unit(benchmark::kMicrosecond);
