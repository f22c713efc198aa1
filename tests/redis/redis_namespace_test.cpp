// state::redis keeps a namespace's state in its own keys, read in one round
// trip: the cost of (re)loading it is O(namespace), not O(database). Against
// real redis-server processes.
#include <keypool/state/redis.hpp>

#include "redis/support/redis_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>

namespace kp = keypool;
using namespace std::chrono_literals;

namespace {

kp::state::redis_options options(const keypool_test::redis_server& srv, std::string ns) {
  kp::state::redis_options o;
  o.port = srv.port();
  o.name_space = std::move(ns);
  o.backoff_min = 10ms;
  o.backoff_max = 100ms;
  o.ping_interval = 5s;  // no PINGs in the command counts
  return o;
}

/// Calls per command since the last CONFIG RESETSTAT ("scan" -> 3), from
/// INFO commandstats (commands run inside scripts count too).
std::map<std::string, long> command_calls(const keypool_test::redis_server& srv) {
  std::map<std::string, long> out;
  std::istringstream in(srv.command({"INFO", "commandstats"}).value_or(""));
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("cmdstat_")) continue;
    const auto colon = line.find(':'), calls = line.find("calls=");
    if (colon == std::string::npos || calls == std::string::npos) continue;
    out[line.substr(8, colon - 8)] = std::stol(line.substr(calls + 6));
  }
  return out;
}

long total(const std::map<std::string, long>& m) {
  long n = 0;
  for (const auto& [name, calls] : m) n += calls;
  return n;
}

#define KEYPOOL_START_REDIS(srv)                                                       \
  keypool_test::redis_server srv;                                                      \
  if (!srv.available()) GTEST_SKIP() << keypool_test::redis_server::missing_message(); \
  ASSERT_TRUE(srv.start()) << "redis-server did not start on port " << srv.port()

}  // namespace

// A new instance attaches to a database holding 1 M unrelated keys: it reads
// the namespace's index in one script call, never SCANs, and costs the same
// number of commands as against an empty database.
TEST(redis_namespace, attach_costs_the_same_with_a_million_unrelated_keys) {
  keypool_test::redis_server srv;
  if (!srv.available()) GTEST_SKIP() << keypool_test::redis_server::missing_message();
  srv.extra_args = {"--enable-debug-command", "yes"};
  ASSERT_TRUE(srv.start());
  {
    kp::state::redis w(options(srv, "big"));
    w.publish({"groq", "0123456789ab", kp::key_status::locked, kp::outcome_kind::rate_limited,
               std::chrono::system_clock::now() + 60s});
    w.publish({"groq", "ba9876543210", kp::key_status::disabled, kp::outcome_kind::invalid_key,
               std::chrono::system_clock::time_point::max()});
    ASSERT_TRUE(w.flush(3s)) << w.status().last_error;
  }
  const auto attach_once = [&](std::map<std::string, long>& calls) {
    EXPECT_EQ(srv.command({"CONFIG", "RESETSTAT"}), "OK");
    kp::state::redis r(options(srv, "big"));
    std::atomic<int> seen{0};
    auto a = r.attach("groq", [&](std::string_view, kp::key_status, kp::outcome_kind,
                                  std::chrono::system_clock::time_point) { return ++seen, true; });
    EXPECT_TRUE(r.wait_ready(5s)) << r.status().last_error;
    calls = command_calls(srv);
    EXPECT_EQ(seen.load(), 2) << "both stored changes loaded";
    EXPECT_EQ(r.status().loaded, 2u);
  };
  std::map<std::string, long> empty, full;
  attach_once(empty);
  ASSERT_EQ(srv.command({"DEBUG", "POPULATE", "1000000", "unrelated"}, 30), "OK");
  ASSERT_EQ(srv.command({"DBSIZE"}), "1000004");  // two state keys, the index and the marker besides
  attach_once(full);
  EXPECT_EQ(empty.count("scan"), 0u);
  EXPECT_EQ(full.count("scan"), 0u) << "the database was scanned";
  EXPECT_EQ(full.count("keys"), 0u);
  // The same work either way (a few commands of slack: a reload may run
  // twice when the connect and the attach race).
  EXPECT_LE(total(full), total(empty) + 8) << "empty: " << total(empty) << ", 1 M keys: " << total(full);
  EXPECT_LE(total(full), 60);
}

// 100 000 live lockouts in the namespace, all ending at the same
// millisecond (ties in the index): a new instance with the default options
// (command_timeout 250 ms) loads every one, a page per call.
TEST(redis_namespace, a_namespace_of_100k_lockouts_loads_with_the_default_command_timeout) {
  KEYPOOL_START_REDIS(srv);
  const auto o = options(srv, "huge");
  ASSERT_EQ(o.command_timeout, kp::state::redis_options{}.command_timeout);
  constexpr int n = 100'000;
  std::string state_prefix, index;
  {
    kp::state::redis names(o);
    state_prefix = names.state_key("groq", "");  // keypool:{huge}:state:groq:
    index = state_prefix.substr(0, state_prefix.size() - std::string_view("state:groq:").size()) + "index";
  }
  // Written as the write script would, in one server-side loop.
  const char* fill = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, tonumber(ARGV[2]) do
  local fp = string.format('%012x', i)
  redis.call('SET', ARGV[1] .. fp, 'locked|rate_limited|600000ms|' .. fp .. '|groq', 'PX', 600000)
  redis.call('ZADD', KEYS[1], now + 600000, ARGV[1] .. fp)
end
return redis.call('ZCARD', KEYS[1])
)lua";
  ASSERT_EQ(srv.command({"EVAL", fill, "1", index, state_prefix, std::to_string(n)}, 60), std::to_string(n));

  kp::state::redis r(o);
  std::mutex mu;
  std::set<std::string> seen;
  auto link = r.attach(
      "groq", [&](std::string_view fp, kp::key_status, kp::outcome_kind, std::chrono::system_clock::time_point) {
        std::lock_guard g(mu);
        seen.emplace(fp);
        return true;
      });
  ASSERT_TRUE(r.wait_ready(60s)) << r.status().last_error;
  std::lock_guard g(mu);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(r.status().loaded, static_cast<std::uint64_t>(n)) << "each entry loaded once";
  EXPECT_EQ(r.status().malformed, 0u);
}

namespace {

/// Polls `f` every 200 µs until true; false when `limit` passes first.
template <class F>
bool eventually(F f, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!f()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(200us);
  }
  return true;
}

long long pttl(const keypool_test::redis_server& srv, const std::string& key) {
  const auto v = srv.command({"PTTL", key});
  return v ? std::stoll(*v) : -2;
}

}  // namespace

// Redis killed and restarted empty on the same port (no persistence): the
// instances notice by the namespace's marker and put back every live lockout
// and disable, so a process that joins afterwards sees them.
TEST(redis_namespace, lockouts_are_back_within_a_second_after_the_server_restarts_empty) {
  KEYPOOL_START_REDIS(srv);
  auto o = options(srv, "loss");
  o.ping_interval = 200ms;
  kp::state::redis a(o), b(o);
  std::atomic<int> heard{0};
  auto link = b.attach("groq", [&](std::string_view, kp::key_status, kp::outcome_kind,
                                   std::chrono::system_clock::time_point) { return ++heard, true; });
  ASSERT_TRUE(a.wait_ready(5s) && b.wait_ready(5s));
  const std::string locked = "0123456789ab", disabled = "ba9876543210";
  a.publish(
      {"groq", locked, kp::key_status::locked, kp::outcome_kind::rate_limited, std::chrono::system_clock::now() + 60s});
  a.publish({"groq", disabled, kp::key_status::disabled, kp::outcome_kind::invalid_key,
             std::chrono::system_clock::time_point::max()});
  ASSERT_TRUE(a.flush(3s));
  ASSERT_TRUE(eventually([&] { return heard.load() == 2; }, 2s));

  srv.kill();
  ASSERT_TRUE(srv.start()) << "restart on port " << srv.port();
  EXPECT_TRUE(eventually([&] { return pttl(srv, a.state_key("groq", locked)) > 50000; }, 1s))
      << "the lockout was not put back";
  EXPECT_TRUE(eventually([&] { return pttl(srv, a.state_key("groq", disabled)) == -1; }, 1s))
      << "the disable was not put back";
  EXPECT_TRUE(eventually([&] { return a.status().data_losses == 1 && b.status().data_losses == 1; }, 2s))
      << a.status().data_losses << " " << b.status().data_losses;

  kp::state::redis late(o);
  std::mutex mu;
  std::set<std::string> seen;
  auto late_link = late.attach(
      "groq", [&](std::string_view fp, kp::key_status, kp::outcome_kind, std::chrono::system_clock::time_point) {
        std::lock_guard g(mu);
        seen.emplace(fp);
        return true;
      });
  ASSERT_TRUE(late.wait_ready(5s)) << late.status().last_error;
  EXPECT_GE(late.status().loaded, 2u);
  std::lock_guard g(mu);
  EXPECT_EQ(seen, (std::set<std::string>{locked, disabled}));
  EXPECT_EQ(late.status().data_losses, 0u) << "a newcomer has nothing to put back";
}

// The same restart in the middle of a day's budget: each instance pushes the
// units it was granted back onto the counter, so the day is not granted a
// second time.
TEST(redis_namespace, a_days_budget_is_not_granted_twice_after_the_server_restarts_empty) {
  KEYPOOL_START_REDIS(srv);
  auto o = options(srv, "budgetloss");
  o.ping_interval = 200ms;
  kp::state::redis r1(o), r2(o);
  ASSERT_TRUE(r1.wait_ready(5s) && r2.wait_ready(5s));
  const auto day = kp::provider_day::at(std::chrono::system_clock::now());
  const std::string fp = "0123456789ab";
  constexpr std::uint32_t limit = 200, want = 5;
  std::uint64_t granted = 0;
  const auto take = [&](kp::state::redis& r) {
    const auto got = r.reserve_daily("groq", fp, day, limit, want);
    if (got) granted += *got;
    return got;
  };
  while (granted < 100) {
    ASSERT_TRUE(take(r1));
    ASSERT_TRUE(take(r2));
  }
  // The counter holds what was handed out plus chunks fetched ahead; let a
  // fetch still under way land first.
  const auto settle = std::chrono::steady_clock::now() + 2s;
  for (std::string last; std::chrono::steady_clock::now() < settle;) {
    const auto now = srv.command({"GET", r1.daily_key("groq", fp, day)}).value_or("");
    if (now == last) break;
    last = now;
    std::this_thread::sleep_for(50ms);
  }
  const auto before = srv.command({"GET", r1.daily_key("groq", fp, day)});
  ASSERT_TRUE(before);

  srv.kill();
  ASSERT_TRUE(srv.start()) << "restart on port " << srv.port();
  // Both noticed (each instance's writer reconnects within its backoff):
  // until then an instance's units are not back, see docs/distributed.md.
  ASSERT_TRUE(eventually([&] { return r1.status().data_losses == 1 && r2.status().data_losses == 1; }, 3s));
  EXPECT_EQ(srv.command({"GET", r1.daily_key("groq", fp, day)}), *before);

  const auto end = std::chrono::steady_clock::now() + 5s;
  for (int spent = 0; spent < 2 && std::chrono::steady_clock::now() < end;) {
    const auto a = take(r1), b = take(r2);
    spent = (a && *a == 0) + (b && *b == 0);
  }
  EXPECT_EQ(granted, limit) << "granted " << granted << " against a limit of " << limit;
  EXPECT_EQ(r1.daily_used("groq", fp, day), limit);
}

// Batched budget calls (the pool's daily_chunk) find the next chunk already
// fetched; while Redis is stuck (DEBUG SLEEP), no call waits longer than
// budget_timeout, even though a command may take command_timeout.
TEST(redis_budget, batched_calls_do_not_wait_and_a_stuck_redis_stalls_none_beyond_the_budget_timeout) {
  keypool_test::redis_server srv;
  if (!srv.available()) GTEST_SKIP() << keypool_test::redis_server::missing_message();
  srv.extra_args = {"--enable-debug-command", "yes"};
  ASSERT_TRUE(srv.start());
  auto o = options(srv, "slow");
  o.budget_timeout = 50ms;
  o.command_timeout = 1s;
  kp::state::redis r(o);
  ASSERT_TRUE(r.wait_ready(5s));
  const auto day = kp::provider_day::at(std::chrono::system_clock::now());
  const std::string fp = "0123456789ab";
  constexpr std::uint32_t limit = 100000, chunk = 8;

  // Healthy: a batch every 2 ms (8 requests' worth); after the first, the
  // next chunk is there before it is asked for.
  for (int i = 0; i < 50; ++i) {
    ASSERT_EQ(r.reserve_daily("groq", fp, day, limit, chunk), chunk) << r.status().last_error;
    std::this_thread::sleep_for(2ms);
  }
  auto s = r.status();
  EXPECT_LE(s.budget_waits, 5u) << "batched calls waited on Redis";
  EXPECT_GE(s.budget_prefetches, 45u);

  // Stuck for 2 s: every call returns within the budget timeout (plus the
  // scheduling of a loaded box), granted from stock or "unavailable".
  std::thread sleeper([&] { srv.command({"DEBUG", "SLEEP", "2"}, 5); });
  std::this_thread::sleep_for(20ms);
  std::chrono::steady_clock::duration worst{};
  int unavailable = 0;
  for (const auto end = std::chrono::steady_clock::now() + 1500ms; std::chrono::steady_clock::now() < end;) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto got = r.reserve_daily("groq", fp, day, limit, chunk);
    worst = std::max(worst, std::chrono::steady_clock::now() - t0);
    unavailable += !got;
    std::this_thread::sleep_for(1ms);
  }
  sleeper.join();
  EXPECT_LT(worst, o.budget_timeout + 100ms)
      << std::chrono::duration_cast<std::chrono::milliseconds>(worst).count() << " ms";
  EXPECT_GT(unavailable, 0) << "Redis was stuck: some calls must fall back to local counting";
  // Back: granted again.
  EXPECT_TRUE(eventually([&] { return r.reserve_daily("groq", fp, day, limit, chunk).value_or(0) > 0; }, 5s));
  EXPECT_LE(r.daily_used("groq", fp, day).value_or(limit + 1), limit);
}
