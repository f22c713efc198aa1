// state::redis keeps a namespace's state in its own keys, read in one round
// trip: the cost of (re)loading it is O(namespace), not O(database). Against
// real redis-server processes.
#include <keypool/state/redis.hpp>

#include "redis/support/redis_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
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
  ASSERT_EQ(srv.command({"DBSIZE"}), "1000003");  // two state keys and the index besides
  attach_once(full);
  EXPECT_EQ(empty.count("scan"), 0u);
  EXPECT_EQ(full.count("scan"), 0u) << "the database was scanned";
  EXPECT_EQ(full.count("keys"), 0u);
  // The same work either way (a few commands of slack: a reload may run
  // twice when the connect and the attach race).
  EXPECT_LE(total(full), total(empty) + 8) << "empty: " << total(empty) << ", 1 M keys: " << total(full);
  EXPECT_LE(total(full), 60);
}
