// state::redis on a Redis Cluster: three nodes on loopback, made a cluster by
// redis-cli --cluster create. Every key of a namespace is under one hash tag,
// so one node serves them all; an instance seeded at another node follows
// the MOVED reply there.
#include <keypool/state/redis.hpp>

#include "redis/support/redis_server.hpp"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

namespace kp = keypool;
using namespace std::chrono_literals;

namespace {

template <class F>
bool eventually(F f, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!f()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

/// redis-cli next to redis-server, or empty.
std::string find_redis_cli() {
  const auto server = keypool_test::find_redis_server();
  const auto slash = server.rfind('/');
  if (slash == std::string::npos) return {};
  const auto cli = server.substr(0, slash) + "/redis-cli";
  return ::access(cli.c_str(), X_OK) == 0 ? cli : std::string();
}

kp::state::redis_options options(int port) {
  kp::state::redis_options o;
  o.port = port;
  o.name_space = "clu";
  o.backoff_min = 10ms;
  o.backoff_max = 100ms;
  o.ping_interval = 200ms;
  return o;
}

/// Starts `nodes` as one cluster (each node serving a third of the slots).
void start_cluster(std::array<keypool_test::redis_server, 3>& nodes, const std::string& cli) {
  std::string create = cli + " --cluster create";
  for (auto& n : nodes) {
    // The bus port is given (not port + 10000, which may be taken or > 65535).
    n.extra_args = {"--cluster-enabled",      "yes",
                    "--cluster-config-file",  n.dir() + "/nodes.conf",
                    "--cluster-port",         std::to_string(keypool_test::free_loopback_port()),
                    "--cluster-node-timeout", "2000"};
    ASSERT_TRUE(n.start()) << "cluster node did not start";
    create += " 127.0.0.1:" + std::to_string(n.port());
  }
  create += " --cluster-replicas 0 --cluster-yes >/dev/null 2>&1";
  ASSERT_EQ(std::system(create.c_str()), 0) << create;
  for (auto& n : nodes)
    ASSERT_TRUE(eventually(
        [&] {
          return n.command({"CLUSTER", "INFO"}).value_or("").find("cluster_state:ok") != std::string::npos;
        },
        10s));
}

/// The node serving the namespace "clu" (the others answer MOVED), or -1.
int owner_of_clu(std::array<keypool_test::redis_server, 3>& nodes) {
  for (int i = 0; i < 3; ++i)
    if (nodes[i].command({"GET", "keypool:{clu}:index"}) == "(nil)") return i;
  return -1;
}

}  // namespace

TEST(redis_cluster, writes_propagation_and_budgets_work_on_a_three_node_cluster) {
  std::array<keypool_test::redis_server, 3> nodes;
  const auto cli = find_redis_cli();
  if (!nodes[0].available() || cli.empty()) GTEST_SKIP() << keypool_test::redis_server::missing_message();
  start_cluster(nodes, cli);
  if (::testing::Test::HasFatalFailure()) return;

  // The node that owns the namespace's slot answers; the others say MOVED.
  const int owner = owner_of_clu(nodes);
  ASSERT_GE(owner, 0);
  auto& seed_a = nodes[(owner + 1) % 3];
  auto& seed_b = nodes[(owner + 2) % 3];

  kp::state::redis a(options(seed_a.port())), b(options(seed_b.port()));
  std::atomic<int> heard{0};
  auto link = b.attach("groq", [&](std::string_view, kp::key_status, kp::outcome_kind,
                                   std::chrono::system_clock::time_point) { return ++heard, true; });
  ASSERT_TRUE(a.wait_ready(5s)) << a.status().last_error;
  ASSERT_TRUE(b.wait_ready(5s)) << b.status().last_error;

  // A write reaches the owner and the other instance.
  const std::string fp = "0123456789ab";
  a.publish(
      {"groq", fp, kp::key_status::locked, kp::outcome_kind::rate_limited, std::chrono::system_clock::now() + 60s});
  ASSERT_TRUE(a.flush(3s)) << a.status().last_error;
  EXPECT_TRUE(eventually([&] { return heard.load() >= 1; }, 2s)) << "not propagated";
  const auto pttl = nodes[owner].command({"PTTL", a.state_key("groq", fp)});
  ASSERT_TRUE(pttl);
  EXPECT_GT(std::stoll(*pttl), 50000);
  auto s = a.status();
  EXPECT_FALSE(s.degraded) << s.last_error;
  EXPECT_FALSE(s.writes_refused);
  EXPECT_GE(s.redirects, 1u);
  EXPECT_EQ(s.written, 1u);
  EXPECT_EQ(s.last_error, "");

  // Budgets: exact across the two instances.
  const auto day = kp::provider_day::at(std::chrono::system_clock::now());
  std::uint64_t granted = 0;
  for (int spent = 0, rounds = 0; spent < 2 && rounds < 100; ++rounds) {
    const auto x = a.reserve_daily("groq", fp, day, 50, 3), y = b.reserve_daily("groq", fp, day, 50, 3);
    ASSERT_TRUE(x && y) << a.status().last_error << " / " << b.status().last_error;
    granted += *x + *y;
    spent = (*x == 0) + (*y == 0);
  }
  EXPECT_EQ(granted, 50u);
  EXPECT_EQ(b.daily_used("groq", fp, day), 50u);

  // A newcomer seeded at a node without the slot loads the stored lockout.
  kp::state::redis late(options(seed_b.port()));
  std::atomic<int> loaded{0};
  auto late_link = late.attach("groq", [&](std::string_view, kp::key_status, kp::outcome_kind,
                                           std::chrono::system_clock::time_point) { return ++loaded, true; });
  ASSERT_TRUE(late.wait_ready(5s)) << late.status().last_error;
  EXPECT_GE(loaded.load(), 1);
}

// While the namespace's slot migrates, keys already moved are answered with
// ASK: a write of keys that are all on the target runs there once, after
// ASKING (a plain retry would get ASK again until the migration ends). A write
// that also needs a key not moved yet gets TRYAGAIN there: retried, not
// reported as refused, and it lands once the migration ends with MOVED.
TEST(redis_cluster, a_write_during_a_slot_migration_follows_ask_to_the_target) {
  std::array<keypool_test::redis_server, 3> nodes;
  const auto cli = find_redis_cli();
  if (!nodes[0].available() || cli.empty()) GTEST_SKIP() << keypool_test::redis_server::missing_message();
  start_cluster(nodes, cli);
  if (::testing::Test::HasFatalFailure()) return;
  const int owner = owner_of_clu(nodes);
  ASSERT_GE(owner, 0);
  auto& source = nodes[owner];
  auto& target = nodes[(owner + 1) % 3];
  kp::state::redis a(options(source.port()));
  ASSERT_TRUE(a.wait_ready(5s)) << a.status().last_error;
  const std::string fp = "0123456789ab", other = "ba9876543210";
  const auto lock = [&](const std::string& f, std::chrono::seconds d) {
    a.publish(
        {"groq", f, kp::key_status::locked, kp::outcome_kind::rate_limited, std::chrono::system_clock::now() + d});
  };
  lock(fp, 60s);
  ASSERT_TRUE(a.flush(3s)) << a.status().last_error;

  const auto slot = source.command({"CLUSTER", "KEYSLOT", "{clu}"}).value_or("");
  const auto source_id = source.command({"CLUSTER", "MYID"}).value_or("");
  const auto target_id = target.command({"CLUSTER", "MYID"}).value_or("");
  ASSERT_EQ(target.command({"CLUSTER", "SETSLOT", slot, "IMPORTING", source_id}), "OK");
  ASSERT_EQ(source.command({"CLUSTER", "SETSLOT", slot, "MIGRATING", target_id}), "OK");
  // Every key of the namespace moves: the source answers ASK for all of them.
  const auto keys = source.command({"CLUSTER", "GETKEYSINSLOT", slot, "100"}).value_or("");
  std::vector<std::string> migrate{"MIGRATE", "127.0.0.1", std::to_string(target.port()), "", "0", "5000", "KEYS"};
  for (std::size_t at = 0, end; at < keys.size(); at = end + 1) {
    end = keys.find('\n', at);
    if (end == std::string::npos) end = keys.size();
    migrate.push_back(keys.substr(at, end - at));
  }
  ASSERT_GT(migrate.size(), 8u) << "the namespace's keys are not on the source";
  ASSERT_EQ(source.command(migrate), "OK");

  lock(fp, 120s);  // its state key and the index are on the target: ASK, then ASKING
  ASSERT_TRUE(a.flush(3s)) << a.status().last_error;
  EXPECT_GE(a.status().asks, 1u);
  EXPECT_EQ(a.status().written, 2u);
  lock(other, 60s);  // a new key: TRYAGAIN on the target until the migration ends
  EXPECT_FALSE(a.flush(300ms));
  EXPECT_FALSE(a.status().writes_refused) << a.status().last_error;

  // The migration ends: MOVED, and both lockouts are on the new owner.
  for (auto& n : nodes) n.command({"CLUSTER", "SETSLOT", slot, "NODE", target_id});
  ASSERT_TRUE(a.flush(5s)) << a.status().last_error;
  const auto pttl = target.command({"PTTL", a.state_key("groq", fp)});
  ASSERT_TRUE(pttl);
  EXPECT_GT(std::stoll(*pttl), 100000);
  EXPECT_NE(target.command({"GET", a.state_key("groq", other)}).value_or("(nil)"), "(nil)");
}
