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

}  // namespace

TEST(redis_cluster, writes_propagation_and_budgets_work_on_a_three_node_cluster) {
  std::array<keypool_test::redis_server, 3> nodes;
  const auto cli = find_redis_cli();
  if (!nodes[0].available() || cli.empty()) GTEST_SKIP() << keypool_test::redis_server::missing_message();
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

  // The node that owns the namespace's slot answers; the others say MOVED.
  int owner = -1;
  for (int i = 0; i < 3; ++i)
    if (nodes[i].command({"GET", "keypool:{clu}:index"}) == "(nil)") owner = i;
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
