// Daily limits counted by the pool itself across instances, through the
// optional shared_budget_backend hook (pool_options::daily_chunk). Skipped
// while the core does not have the hook yet (see docs/distributed.md).
#include <keypool/keypool.hpp>
#include <keypool/state/redis.hpp>

#include "redis/support/redis_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace kp = keypool;
using namespace std::chrono_literals;

namespace {

struct groq {
  static kp::provider_info info() { return {"groq", "GROQ", std::chrono::minutes(0)}; }
};

using pool = kp::basic_pool<groq, kp::policy::state<kp::state::redis>>;

template <class Options>
concept has_shared_budgets = requires(Options o) {
  o.daily_chunk;
};

/// Two instances, two threads each, pick key 1 (daily limit 50, the only
/// key) until the pool says no: exactly 50 picks in total.
template <class Pool>
void exact_daily_limit(int port, std::uint32_t chunk) {
  kp::state::redis_options ro;
  ro.port = port;
  ro.name_space = "pool_budget_" + std::to_string(chunk);
  kp::state::redis ra(ro), rb(ro);
  typename Pool::options oa, ob;
  oa.state = ra;
  ob.state = rb;
  oa.daily_chunk = ob.daily_chunk = chunk;
  const std::vector<kp::key_spec> keys = {{"GROQ_API_KEY_1", "gsk_fake_pool_budget_1", 1, "", 50}};
  Pool a(keys, oa), b(keys, ob);
  auto la = ra.attach(a);
  auto lb = rb.attach(b);
  ASSERT_TRUE(ra.wait_ready(5s) && rb.wait_ready(5s));
  std::atomic<int> picks{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      Pool& p = t % 2 ? a : b;
      for (int i = 0; i < 100; ++i) {
        auto l = p.acquire();
        if (!l) continue;
        ++picks;
        p.report(*l, kp::outcome::success());
      }
    });
  for (auto& t : ts) t.join();
  const auto day = kp::provider_day::at(std::chrono::system_clock::now());
  const auto used = ra.daily_used("groq", kp::fingerprint("gsk_fake_pool_budget_1"), day);
  if (chunk == 1) {
    EXPECT_EQ(picks.load(), 50) << "exactly the limit across both instances";
    EXPECT_EQ(used, 50u);
  } else {
    EXPECT_LE(picks.load(), 50) << "never more than the limit";
    EXPECT_GE(picks.load(), 50 - 2 * static_cast<int>(chunk - 1)) << "at most chunk-1 unused per instance";
    EXPECT_EQ(used, 50u);
  }
  EXPECT_EQ(ra.status().budget_unavailable + rb.status().budget_unavailable, 0u);
}

template <class Pool>
void run_shared_budget_test() {
  if constexpr (!has_shared_budgets<typename Pool::options>) {
    GTEST_SKIP() << "core has no shared_budget_backend hook yet (pool_options::daily_chunk)";
  } else {
    keypool_test::redis_server srv;
    if (!srv.available()) GTEST_SKIP() << keypool_test::redis_server::missing_message();
    ASSERT_TRUE(srv.start());
    exact_daily_limit<Pool>(srv.port(), 1);
    exact_daily_limit<Pool>(srv.port(), 8);
  }
}

}  // namespace

TEST(redis, pool_daily_limit_is_shared_exactly) { run_shared_budget_test<pool>(); }
