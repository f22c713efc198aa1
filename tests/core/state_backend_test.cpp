// The state-backend policy: transitions (never picks) reach the backend, and
// apply_remote() brings another process's transitions in.
#include <keypool/keypool.hpp>

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace kp = keypool;
using namespace std::chrono_literals;

namespace {

struct groq {
  static kp::provider_info info() { return {"groq", "GROQ"}; }
};

/// Records what it is told; copies share the record (like a connection handle).
struct recording_backend {
  struct entry {
    std::string fingerprint;
    kp::key_status status;
    kp::outcome_kind reason;
    std::chrono::system_clock::time_point until;
  };
  std::shared_ptr<std::vector<entry>> log = std::make_shared<std::vector<entry>>();
  void publish(const kp::state_change& c) noexcept {
    log->push_back({std::string(c.fingerprint), c.status, c.reason, c.until});
  }
};

using pool = kp::basic_pool<groq, kp::policy::clock<kp::clock::manual>, kp::policy::state<recording_backend>>;

std::vector<kp::key_spec> keys() {
  return {{"GROQ_API_KEY_1", "gsk_fake_state_1"}, {"GROQ_API_KEY_2", "gsk_fake_state_2"}};
}

}  // namespace

TEST(StateBackend, TransitionsArePublishedPicksAreNot) {
  kp::clock::manual clock;
  pool p(keys(), {.lockout = kp::lockout::fixed{60s}, .clock = clock});
  for (int i = 0; i < 10; ++i) p.report(*p.acquire(), kp::outcome::success());
  EXPECT_TRUE(p.backend().log->empty());
  auto l = *p.acquire();
  p.report(l, kp::outcome::rate_limited());
  ASSERT_EQ(p.backend().log->size(), 1u);
  const auto& e = p.backend().log->back();
  EXPECT_EQ(e.fingerprint, kp::fingerprint("gsk_fake_state_1"));
  EXPECT_EQ(e.status, kp::key_status::locked);
  EXPECT_EQ(e.until, clock.wall_now() + 60s);
  clock.advance(60s);
  for (int i = 0; i < 3; ++i) p.report(*p.acquire(), kp::outcome::success());  // probe recovers key 1
  ASSERT_EQ(p.backend().log->size(), 2u);
  EXPECT_EQ(p.backend().log->back().status, kp::key_status::available);
}

TEST(StateBackend, RemoteLockoutAppliesWithoutEcho) {
  kp::clock::manual clock;
  pool a(keys(), {.clock = clock});
  pool b(keys(), {.clock = clock});
  a.report(*a.acquire(), kp::outcome::invalid_key());
  // Ship A's transition to B, as a Redis backend would.
  for (const auto& e : *a.backend().log) EXPECT_TRUE(b.apply_remote(e.fingerprint, e.status, e.reason, e.until));
  EXPECT_EQ(b.snapshot().keys[0].state_name(), "invalid");
  EXPECT_TRUE(b.backend().log->empty()) << "a remote change must not be re-published";
  EXPECT_FALSE(
      b.apply_remote("000000000000", kp::key_status::locked, kp::outcome_kind::rate_limited, clock.wall_now() + 1s));
  // A remote release brings the key back.
  EXPECT_TRUE(b.apply_remote(kp::fingerprint("gsk_fake_state_1"), kp::key_status::available, kp::outcome_kind::success,
                             clock.wall_now()));
  EXPECT_TRUE(b.snapshot().keys[0].available());
  // A remote lockout already over is ignored; a shorter one never shortens ours.
  b.report(*b.acquire(), kp::outcome::rate_limited());  // key 2 locally locked 60 s... or key 1
  const auto before = b.snapshot();
  for (const auto& k : before.keys)
    b.apply_remote(k.fingerprint, kp::key_status::locked, kp::outcome_kind::rate_limited, clock.wall_now() + 5s);
  const auto after = b.snapshot();
  for (std::size_t i = 0; i < after.keys.size(); ++i)
    EXPECT_GE(*after.keys[i].available_in, before.keys[i].available_in.value_or(5s));
}

// A provider day counts from the provider's boundary, not from midnight UTC:
// at 01:00 UTC a provider whose day starts at 08:00 UTC is still on the day
// before, which ends at 08:00 today.
TEST(StateBackend, ProviderDayCountsFromTheBoundary) {
  using namespace std::chrono;
  const sys_days nov28 = year{2026} / November / 28;
  const auto at_one = kp::provider_day::at(nov28 + 1h, 8h);
  EXPECT_EQ(at_one.index, static_cast<std::uint32_t>((nov28 - days{1}).time_since_epoch().count()));
  EXPECT_EQ(at_one.boundary_utc, 8h);
  EXPECT_EQ(at_one.end(), nov28 + 8h);
  EXPECT_EQ(kp::provider_day::at(nov28 + 8h, 8h).index, at_one.index + 1) << "the boundary starts the next day";
  EXPECT_EQ(kp::provider_day::at(nov28 + 8h - 1ms, 8h), at_one);
  EXPECT_EQ(kp::provider_day::at(nov28 + 1h).end(), nov28 + days{1}) << "no boundary: midnight UTC";
  const sys_days epoch{};
  EXPECT_EQ(kp::provider_day::at(epoch + 1h, 8h).end(), epoch + 8h) << "the day before 1970 ends at 08:00 on day 0";
}
