// Several instances sharing key state through Redis (keypool::state::redis,
// docs/distributed.md). Each "process" here is a pool with its own
// state::redis backend — its own connections and instance id, exactly what
// separate processes on separate machines would have — over the same Redis
// and the same (fake) Groq keys:
//
//   1. process A gets a 429 on GROQ_API_KEY_1 -> B stops handing that key out
//   2. process B gets a 429 on GROQ_API_KEY_2 -> A stops handing that key out
//   3. process C starts late: it loads both lockouts from Redis before its
//      first pick
//
// then prints each instance's key statistics and backend counters.
//
//   example_redis_fleet                          # Redis at 127.0.0.1:6379
//   REDIS_URL=redis://10.0.0.5:6380/2 example_redis_fleet
//   example_redis_fleet --redis 127.0.0.1:6380 --namespace demo
//
// Exit status: 0 done, 1 a check failed, 2 Redis not reachable (start one
// with `redis-server --port 6379`), 64 bad arguments.
#include <keypool/keypool.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/state/redis.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace kp = keypool;
namespace pv = keypool::providers;
using namespace std::chrono_literals;

namespace {

/// Shares its state through Redis; honours the provider's retry hint.
using fleet_pool =
    kp::pool<pv::groq>::with<kp::policy::state<kp::state::redis>, kp::policy::lockout<kp::lockout::retry_after>>;

/// Every instance is configured with the same keys (Redis only ever sees
/// their fingerprints).
std::vector<kp::key_spec> groq_keys() {
  return {{"GROQ_API_KEY_1", "gsk_fake_fleet_1"},
          {"GROQ_API_KEY_2", "gsk_fake_fleet_2"},
          {"GROQ_API_KEY_3", "gsk_fake_fleet_3"}};
}

/// One process of the fleet. Member order matters: the attachment is
/// destroyed first, then the pool, then the backend handle.
struct instance {
  std::string name;
  kp::state::redis shared;
  fleet_pool pool;
  kp::state::redis::attachment link;

  instance(std::string n, const kp::state::redis_options& o)
      : name(std::move(n)),
        shared(o),
        pool(groq_keys(), fleet_pool::options{.state = shared}),
        link(shared.attach(pool)) {}

  kp::key_snapshot key(std::string_view variable) const {
    for (auto& k : pool.snapshot().keys)
      if (k.variable == variable) return k;
    return {};
  }

  /// `n` picks, each reported as a success; the variables handed out.
  std::vector<std::string> picks(int n) {
    std::vector<std::string> out;
    for (int i = 0; i < n; ++i) {
      auto l = pool.acquire();
      if (!l) {
        out.push_back("(" + l.error().message() + ")");
        continue;
      }
      out.emplace_back(l->variable());
      pool.report(*l, kp::outcome::success());
    }
    return out;
  }

  /// Acquires until `variable` comes up (others reported as successes) and
  /// reports a 429 with "Retry-After: 30" on it.
  bool rate_limit(std::string_view variable) {
    for (int i = 0; i < 8; ++i) {
      auto l = pool.acquire();
      if (!l) return false;
      if (l->variable() == variable) {
        pool.report(*l, kp::outcome::rate_limited(30s));
        return true;
      }
      pool.report(*l, kp::outcome::success());
    }
    return false;
  }
};

/// Polls `f` until true or `limit` passes; the time it took.
template <class F>
std::optional<std::chrono::microseconds> time_until(F f, std::chrono::milliseconds limit) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    if (f()) return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    if (std::chrono::steady_clock::now() - start > limit) return std::nullopt;
    std::this_thread::sleep_for(100us);
  }
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : " ") + x;
  return s;
}

bool contains(const std::vector<std::string>& v, std::string_view x) {
  for (const auto& e : v)
    if (e == x) return true;
  return false;
}

std::string key_state(const kp::key_snapshot& k) {
  std::string s(k.available() ? "available" : "locked (" + std::string(kp::to_string(k.reason)) + ")");
  if (k.available_in)
    s +=
        ", back in " + std::to_string(std::chrono::duration_cast<std::chrono::seconds>(*k.available_in).count()) + " s";
  return s;
}

void print_status(const instance& in) {
  const auto s = in.shared.status();
  std::printf("   %s: published %llu, written %llu, received %llu, applied %llu, loaded %llu, own ignored %llu%s\n",
              in.name.c_str(), static_cast<unsigned long long>(s.published), static_cast<unsigned long long>(s.written),
              static_cast<unsigned long long>(s.received), static_cast<unsigned long long>(s.applied),
              static_cast<unsigned long long>(s.loaded), static_cast<unsigned long long>(s.own_ignored),
              s.degraded ? ", DEGRADED" : "");
}

}  // namespace

int main(int argc, char** argv) {
  const char* env_url = std::getenv("REDIS_URL");
  std::string url = env_url && *env_url ? env_url : "127.0.0.1:6379";
  // A namespace of its own per run: earlier runs' lockouts (30 s TTL) and
  // other users of the same Redis stay out of the way.
  std::string name_space = "keypool-example-" + std::to_string(::getpid());
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--redis" && i + 1 < argc) {
      url = argv[++i];
    } else if (arg == "--namespace" && i + 1 < argc) {
      name_space = argv[++i];
    } else {
      std::fprintf(stderr,
                   "usage: %s [--redis redis://[[user]:password@]host[:port][/db]] [--namespace NS]\n"
                   "       (default: $REDIS_URL, else 127.0.0.1:6379)\n",
                   argv[0]);
      return arg == "--help" || arg == "-h" ? 0 : 64;
    }
  }
  kp::state::redis_options opts;
  try {
    opts = kp::state::redis_options::from_url(url);
  } catch (const kp::state::redis_url_error& e) {  // never quotes the password
    std::fprintf(stderr, "redis_fleet: REDIS_URL/--redis: %s\n", e.what());
    return 64;
  }
  opts.name_space = name_space;
  const std::string where = opts.host + ":" + std::to_string(opts.port);

  // ---- process A and B: same Redis, same keys, separate pools and backends ----
  std::unique_ptr<instance> a, b;
  try {
    a = std::make_unique<instance>("A", opts);
  } catch (const std::exception& e) {  // a bad namespace
    std::fprintf(stderr, "redis_fleet: %s\n", e.what());
    return 64;
  }
  if (!a->shared.wait_ready(3s)) {
    std::fprintf(stderr,
                 "redis_fleet: cannot reach Redis at %s (%s).\n"
                 "  Start one:  redis-server --port %d      (Debian: apt-get install redis-server)\n"
                 "  or point REDIS_URL / --redis at yours, e.g. REDIS_URL=redis://host:6379/0\n",
                 where.c_str(), a->shared.status().last_error.c_str(), opts.port);
    return 2;
  }
  b = std::make_unique<instance>("B", opts);
  if (!b->shared.wait_ready(3s)) {
    std::fprintf(stderr, "redis_fleet: B cannot reach Redis at %s (%s)\n", where.c_str(),
                 b->shared.status().last_error.c_str());
    return 2;
  }
  std::printf("== redis fleet: Redis at %s, namespace '%s', 3 fake Groq keys ==\n", where.c_str(), name_space.c_str());
  std::printf("   processes A and B: one pool and one state::redis each (instance ids %s, %s)\n\n",
              a->shared.instance_id().c_str(), b->shared.instance_id().c_str());
  int failures = 0;
  auto check = [&](bool ok, const char* what) {
    if (!ok) {
      std::printf("   CHECK FAILED: %s\n", what);
      ++failures;
    }
  };

  // ---- 1. A gets a 429 on key 1; B stops handing it out ----------------------
  std::printf("-- 1. A: GROQ_API_KEY_1 -> 429, Retry-After: 30 --\n");
  check(a->rate_limit("GROQ_API_KEY_1"), "A never handed out GROQ_API_KEY_1");
  auto took = time_until([&] { return !b->key("GROQ_API_KEY_1").available(); }, 2s);
  check(took.has_value(), "the lockout never reached B");
  if (took)
    std::printf("   B sees GROQ_API_KEY_1 %s after %lld us\n", key_state(b->key("GROQ_API_KEY_1")).c_str(),
                static_cast<long long>(took->count()));
  auto picks = b->picks(6);
  std::printf("   B picks: %s\n", join(picks).c_str());
  check(!contains(picks, "GROQ_API_KEY_1"), "B handed out GROQ_API_KEY_1");
  std::printf("   stored as %s (fingerprint, never the key)\n",
              a->shared.state_key("groq", a->key("GROQ_API_KEY_1").fingerprint).c_str());

  // ---- 2. the other way round: B gets a 429 on key 2 -------------------------
  std::printf("\n-- 2. B: GROQ_API_KEY_2 -> 429, Retry-After: 30 --\n");
  check(b->rate_limit("GROQ_API_KEY_2"), "B never handed out GROQ_API_KEY_2");
  took = time_until([&] { return !a->key("GROQ_API_KEY_2").available(); }, 2s);
  check(took.has_value(), "the lockout never reached A");
  if (took)
    std::printf("   A sees GROQ_API_KEY_2 %s after %lld us\n", key_state(a->key("GROQ_API_KEY_2")).c_str(),
                static_cast<long long>(took->count()));
  picks = a->picks(4);
  std::printf("   A picks: %s\n", join(picks).c_str());
  check(!contains(picks, "GROQ_API_KEY_1") && !contains(picks, "GROQ_API_KEY_2"), "A handed out a locked key");

  // ---- 3. C joins late and loads what is stored ------------------------------
  std::printf("\n-- 3. process C starts now --\n");
  instance c("C", opts);
  check(c.shared.wait_ready(3s), "C never became ready");
  for (const char* v : {"GROQ_API_KEY_1", "GROQ_API_KEY_2", "GROQ_API_KEY_3"})
    std::printf("   C: %s %s\n", v, key_state(c.key(v)).c_str());
  picks = c.picks(3);
  std::printf("   C picks: %s\n", join(picks).c_str());
  check(!contains(picks, "GROQ_API_KEY_1") && !contains(picks, "GROQ_API_KEY_2"), "C handed out a locked key");

  // ---- statistics ------------------------------------------------------------
  a->shared.flush(2s);
  b->shared.flush(2s);
  for (const auto* in : {a.get(), b.get(), &c}) {
    std::printf("\n-- process %s --\n", in->name.c_str());
    std::fputs(kp::report::text(in->pool.snapshot()).c_str(), stdout);
  }
  std::printf("\n-- state::redis counters --\n");
  for (const auto* in : {a.get(), b.get(), &c}) print_status(*in);

  if (failures) {
    std::printf("\n%d check(s) failed\n", failures);
    return 1;
  }
  std::printf(
      "\nThe two lockouts expire in Redis by themselves after their 30 s (the namespace keeps only an index of\n"
      "them and a marker that tells when Redis lost its data).\n");
  return 0;
}
