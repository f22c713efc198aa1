// Throw-away infra smoke test (build engineer); deleted when done.
#include <gtest/gtest.h>
#include <atomic>
#include <thread>
TEST(ZzInfraSmoke, Works) { EXPECT_EQ(1 + 1, 2); }
TEST(ZzInfraSmoke, Threads) {
  std::atomic<int> n{0};
  std::thread t{[&] { n.fetch_add(1); }};
  t.join();
  EXPECT_EQ(n.load(), 1);
}
