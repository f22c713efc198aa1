// basic_pool::note_attempt: a further attempt on one lease counts as a
// request with its outcome, without ending the lease.
#include <keypool/keypool.hpp>

#include <gtest/gtest.h>

#include <thread>

namespace kp = keypool;

namespace {
struct mistral {
  static kp::provider_info info() { return {"mistral", "MISTRAL"}; }
};
using manual_pool = kp::basic_pool<mistral, kp::policy::clock<kp::clock::manual>>;
}  // namespace

TEST(NoteAttempt, CountsARequestAndItsOutcomeAndKeepsTheLease) {
  manual_pool p({{"MISTRAL_API_KEY_1", "mistral-secret-value-one"}});
  auto l = p.acquire();
  ASSERT_TRUE(l);
  p.note_attempt(*l, kp::outcome::model_unavailable());
  p.report(*l, kp::outcome::success());  // the lease still reports once, not as misuse
  const auto s = p.snapshot();
  ASSERT_EQ(s.keys.size(), 1u);
  const auto& k = s.keys[0];
  EXPECT_EQ(k.requests, 2u);
  EXPECT_EQ(k.failures(), 1u);
  EXPECT_EQ(k.successes(), 1u);
  EXPECT_EQ(k.count(kp::outcome_kind::model_unavailable), 1u);
  EXPECT_EQ(s.misuse, 0u);
  EXPECT_TRUE(k.available());
  EXPECT_EQ(k.consecutive_failures, 0u);  // counted, never applied to the key's state
}

TEST(NoteAttempt, FromAThreadWithoutAShardOfItsOwn) {
  manual_pool p({{"MISTRAL_API_KEY_1", "mistral-secret-value-one"}});
  auto l = p.acquire();
  ASSERT_TRUE(l);
  std::thread([&] { p.note_attempt(*l, kp::outcome::model_unavailable()); }).join();
  p.report(*l, kp::outcome::model_unavailable());
  const auto s = p.snapshot();
  EXPECT_EQ(s.keys[0].requests, 2u);
  EXPECT_EQ(s.keys[0].count(kp::outcome_kind::model_unavailable), 2u);
}

TEST(NoteAttempt, AReportedOrForeignLeaseIsMisuse) {
  manual_pool p({{"MISTRAL_API_KEY_1", "mistral-secret-value-one"}});
  manual_pool other({{"MISTRAL_API_KEY_1", "mistral-secret-value-one"}});
  auto l = p.acquire();
  ASSERT_TRUE(l);
  other.note_attempt(*l, kp::outcome::model_unavailable());
  p.report(*l, kp::outcome::success());
  p.note_attempt(*l, kp::outcome::model_unavailable());
  p.note_attempt(kp::lease{}, kp::outcome::model_unavailable());
  EXPECT_EQ(other.snapshot().misuse, 1u);
  EXPECT_EQ(other.snapshot().keys[0].requests, 0u);
  const auto s = p.snapshot();
  EXPECT_EQ(s.misuse, 2u);
  EXPECT_EQ(s.keys[0].requests, 1u);
  EXPECT_EQ(s.keys[0].count(kp::outcome_kind::model_unavailable), 0u);
}
