// state::redis inside one process: two pools, each with its own backend (two
// connections, as two instances would have), against a real redis-server on
// a free loopback port.
#include <keypool/clock/manual.hpp>
#include <keypool/keypool.hpp>
#include <keypool/state/redis.hpp>

#include "redis/support/redis_server.hpp"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace kp = keypool;
using namespace std::chrono_literals;

namespace {

struct groq {
  static kp::provider_info info() { return {"groq", "GROQ"}; }
};

using pool = kp::basic_pool<groq, kp::policy::state<kp::state::redis>>;
/// An instance whose wall clock is set by the test, to play a skewed host.
using skewed_pool = kp::basic_pool<groq, kp::policy::state<kp::state::redis>, kp::policy::clock<kp::clock::manual>>;

std::vector<kp::key_spec> keys() {
  return {{"GROQ_API_KEY_1", "gsk_fake_redis_secret_1"},
          {"GROQ_API_KEY_2", "gsk_fake_redis_secret_2"},
          {"GROQ_API_KEY_3", "gsk_fake_redis_secret_3"}};
}

kp::state::redis_options options(const keypool_test::redis_server& srv, std::string ns = "test") {
  kp::state::redis_options o;
  o.port = srv.port();
  o.name_space = std::move(ns);
  o.backoff_min = 10ms;
  o.backoff_max = 100ms;
  o.ping_interval = 200ms;
  return o;
}

pool::options pool_opts(const kp::state::redis& r) {
  pool::options o;
  o.lockout = kp::lockout::fixed{30s};
  o.state = r;
  return o;
}

/// Polls `f` until true or `limit` passes; returns the time it took.
template <class F>
std::optional<std::chrono::microseconds> time_until(F f, std::chrono::milliseconds limit) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    if (f()) return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    if (std::chrono::steady_clock::now() - start > limit) return std::nullopt;
    std::this_thread::sleep_for(200us);
  }
}

template <class Pool>
kp::key_snapshot key_of(const Pool& p, std::string_view variable) {
  for (auto& k : p.snapshot().keys)
    if (k.variable == variable) return k;
  ADD_FAILURE() << "no key " << variable;
  return {};
}

/// Acquires until the pool hands out `variable` (reporting success for others).
kp::lease lease_of(pool& p, std::string_view variable) {
  for (int i = 0; i < 16; ++i) {
    auto l = p.acquire_or_throw();
    if (l.variable() == variable) return l;
    p.report(l, kp::outcome::success());
  }
  throw std::runtime_error("key not handed out");
}

#define KEYPOOL_START_REDIS(srv)                                                       \
  keypool_test::redis_server srv;                                                      \
  if (!srv.available()) GTEST_SKIP() << keypool_test::redis_server::missing_message(); \
  ASSERT_TRUE(srv.start()) << "redis-server did not start on port " << srv.port()

}  // namespace

TEST(redis, lockout_reaches_other_instance_within_100ms) {
  KEYPOOL_START_REDIS(srv);
  kp::state::redis ra(options(srv)), rb(options(srv));
  pool a(keys(), pool_opts(ra));
  pool b(keys(), pool_opts(rb));
  auto la = ra.attach(a);
  auto lb = rb.attach(b);
  ASSERT_TRUE(ra.wait_ready(5s)) << ra.status().last_error;
  ASSERT_TRUE(rb.wait_ready(5s)) << rb.status().last_error;

  auto l = lease_of(a, "GROQ_API_KEY_2");
  const std::string fp(l.fingerprint());
  a.report(l, kp::outcome::rate_limited());
  const auto took = time_until([&] { return !key_of(b, "GROQ_API_KEY_2").available(); }, 2s);
  ASSERT_TRUE(took) << "the lockout never reached the other instance";
  EXPECT_LT(*took, 100ms);
  const auto k = key_of(b, "GROQ_API_KEY_2");
  EXPECT_EQ(k.status, kp::key_status::locked);
  EXPECT_EQ(k.reason, kp::outcome_kind::rate_limited);
  ASSERT_TRUE(k.available_in);
  EXPECT_GT(*k.available_in, 29s);
  EXPECT_LE(*k.available_in, 30s);
  for (int i = 0; i < 20; ++i) {
    auto x = b.acquire_or_throw();
    EXPECT_NE(x.variable(), "GROQ_API_KEY_2");
    b.report(x, kp::outcome::success());  // successes publish nothing
  }

  // Stored under a namespaced, fingerprint-built key with the lockout's TTL.
  const auto pttl = srv.command({"PTTL", ra.state_key("groq", fp)});
  ASSERT_TRUE(pttl);
  EXPECT_GT(std::stoll(*pttl), 29000);
  EXPECT_LE(std::stoll(*pttl), 30000);
  EXPECT_EQ(ra.state_key("groq", fp), "keypool:{test}:state:groq:" + fp);

  ASSERT_TRUE(ra.flush(2s));
  EXPECT_TRUE(time_until([&] { return ra.status().own_ignored == 1; }, 1s)) << "own message not seen";
  const auto sa = ra.status(), sb = rb.status();
  EXPECT_EQ(sa.published, 1u);
  EXPECT_EQ(sa.written, 1u);
  EXPECT_EQ(sa.received, 0u) << "an instance must not apply its own messages";
  EXPECT_EQ(sb.received, 1u);
  EXPECT_EQ(sb.applied, 1u);
  EXPECT_EQ(sb.published, 0u) << "a remote change must not be re-published";
  EXPECT_FALSE(sa.degraded);
  EXPECT_TRUE(sa.connected && sa.subscribed);
}

TEST(redis, disable_and_enable_propagate) {
  KEYPOOL_START_REDIS(srv);
  kp::state::redis ra(options(srv)), rb(options(srv));
  pool a(keys(), pool_opts(ra));
  pool b(keys(), pool_opts(rb));
  auto la = ra.attach(a);
  auto lb = rb.attach(b);
  ASSERT_TRUE(ra.wait_ready(5s) && rb.wait_ready(5s));

  auto l = lease_of(a, "GROQ_API_KEY_1");
  const std::string fp(l.fingerprint());
  a.report(l, kp::outcome::invalid_key());
  ASSERT_TRUE(time_until([&] { return key_of(b, "GROQ_API_KEY_1").state_name() == "invalid"; }, 2s));
  EXPECT_EQ(key_of(b, "GROQ_API_KEY_1").status, kp::key_status::disabled);
  const auto pttl = srv.command({"PTTL", ra.state_key("groq", fp)});
  ASSERT_TRUE(pttl);
  EXPECT_GT(std::stoll(*pttl), 14 * 60 * 1000) << "a disable lasts until the 15 min re-check";

  // An operator re-enables the key on A: B gets it back and the Redis key goes.
  ASSERT_TRUE(a.enable("GROQ_API_KEY_1"));
  ASSERT_TRUE(time_until([&] { return key_of(b, "GROQ_API_KEY_1").available(); }, 2s));
  ASSERT_TRUE(ra.flush(2s));
  EXPECT_EQ(srv.command({"EXISTS", ra.state_key("groq", fp)}), "0");
}

TEST(redis, new_instance_loads_stored_lockouts) {
  KEYPOOL_START_REDIS(srv);
  kp::state::redis ra(options(srv));
  pool a(keys(), pool_opts(ra));
  auto la = ra.attach(a);
  ASSERT_TRUE(ra.wait_ready(5s));
  a.report(lease_of(a, "GROQ_API_KEY_3"), kp::outcome::rate_limited());
  a.report(lease_of(a, "GROQ_API_KEY_1"), kp::outcome::forbidden());
  ASSERT_TRUE(ra.flush(2s));

  // Started afterwards: learns both from SCAN before ready().
  kp::state::redis rc(options(srv));
  pool c(keys(), pool_opts(rc));
  auto lc = rc.attach(c);
  ASSERT_TRUE(rc.wait_ready(5s));
  EXPECT_EQ(key_of(c, "GROQ_API_KEY_3").status, kp::key_status::locked);
  EXPECT_EQ(key_of(c, "GROQ_API_KEY_1").state_name(), "forbidden");
  EXPECT_TRUE(key_of(c, "GROQ_API_KEY_2").available());
  EXPECT_GE(rc.status().loaded, 2u);

  // Another namespace shares nothing.
  kp::state::redis rd(options(srv, "other"));
  pool d(keys(), pool_opts(rd));
  auto ld = rd.attach(d);
  ASSERT_TRUE(rd.wait_ready(5s));
  for (auto& k : d.snapshot().keys) EXPECT_TRUE(k.available()) << k.variable;
}

TEST(redis, stores_no_secrets) {
  KEYPOOL_START_REDIS(srv);
  kp::state::redis ra(options(srv));
  pool a(keys(), pool_opts(ra));
  auto la = ra.attach(a);
  ASSERT_TRUE(ra.wait_ready(5s));
  a.report(lease_of(a, "GROQ_API_KEY_1"), kp::outcome::rate_limited());
  a.report(lease_of(a, "GROQ_API_KEY_2"), kp::outcome::out_of_credit());
  const auto fp3 = kp::fingerprint("gsk_fake_redis_secret_3");
  EXPECT_EQ(ra.take_daily("groq", fp3, kp::provider_day::at(std::chrono::system_clock::now()), 10),
            kp::state::budget_verdict::granted);
  ASSERT_TRUE(ra.flush(2s));
  const auto all = srv.command({"KEYS", "*"});
  ASSERT_TRUE(all);
  std::string everything = *all;
  std::size_t n = 0;
  for (std::size_t pos = 0; pos <= all->size();) {
    const auto nl = all->find('\n', pos);
    const std::string key = all->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    ++n;
    EXPECT_TRUE(key.starts_with("keypool:{test}:")) << key;
    everything += '\n' + srv.command({"GET", key}).value_or("");
    if (key.ends_with(":index")) everything += '\n' + srv.command({"ZRANGE", key, "0", "-1"}).value_or("");
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  EXPECT_EQ(n, 5u) << *all;  // two state keys, the index, a daily counter, the marker
  EXPECT_EQ(everything.find("secret"), std::string::npos) << everything;
  EXPECT_EQ(everything.find("gsk_"), std::string::npos) << everything;
}

TEST(redis, daily_budget_is_exact_across_threads_and_instances) {
  KEYPOOL_START_REDIS(srv);
  constexpr int workers = 4, takes = 500;
  constexpr std::uint32_t limit = 1000;
  const auto fp = kp::fingerprint("gsk_fake_redis_secret_1");
  const auto day = kp::provider_day::at(std::chrono::system_clock::now(), std::chrono::minutes(8 * 60));
  std::atomic<int> granted{0}, exhausted{0}, unavailable{0};
  {
    // Two instances, two threads each: both the per-instance mutex and
    // cross-connection atomicity are exercised.
    kp::state::redis r1(options(srv)), r2(options(srv));
    std::vector<std::thread> ts;
    for (int w = 0; w < workers; ++w)
      ts.emplace_back([&, w] {
        auto& r = w % 2 ? r1 : r2;
        for (int i = 0; i < takes; ++i) {
          switch (r.take_daily("groq", fp, day, limit)) {
            case kp::state::budget_verdict::granted: ++granted; break;
            case kp::state::budget_verdict::exhausted: ++exhausted; break;
            case kp::state::budget_verdict::unavailable: ++unavailable; break;
          }
        }
      });
    for (auto& t : ts) t.join();
    EXPECT_EQ(r1.daily_used("groq", fp, day), 1000u);
    const auto key = r1.daily_key("groq", fp, day);
    EXPECT_EQ(key, "keypool:{test}:daily:groq:" + fp + ":" + std::to_string(day.index));
    // Expires at the provider's day boundary (08:00 UTC here).
    const auto at = srv.command({"EXPIRETIME", key});
    ASSERT_TRUE(at);
    EXPECT_EQ(std::stoll(*at), (static_cast<long long>(day.index) + 1) * 86400 + 8 * 3600);
    auto more = r1.reserve_daily("groq", fp, day, limit + 5, 10);
    ASSERT_TRUE(more);
    EXPECT_EQ(*more, 5u) << "a batch never exceeds the limit";
  }
  EXPECT_EQ(granted.load(), 1000);
  EXPECT_EQ(exhausted.load(), 1000);
  EXPECT_EQ(unavailable.load(), 0);
}

// A refused write (READONLY replica, OOM, NOPERM) is retried on the same
// connection after a growing pause: not thousands of reconnects a second.
TEST(redis, refused_write_is_retried_with_backoff_on_the_same_connection) {
  KEYPOOL_START_REDIS(srv);
  auto o = options(srv, "refused");
  o.backoff_min = 200ms;
  o.backoff_max = 400ms;
  kp::state::redis r(o);
  ASSERT_TRUE(r.wait_ready(5s)) << r.status().last_error;
  // A replica of a primary that never answers is read-only: the write script
  // is refused with an error reply while connecting and PING still work.
  ASSERT_EQ(srv.command({"REPLICAOF", "127.0.0.1", "1"}), "OK");
  const std::string fp = "0123456789ab";
  const auto start = std::chrono::steady_clock::now();
  r.publish(
      {"groq", fp, kp::key_status::locked, kp::outcome_kind::rate_limited, std::chrono::system_clock::now() + 60s});
  ASSERT_TRUE(time_until([&] { return r.status().write_retries >= 3; }, 5s)) << r.status().last_error;
  // Three attempts are 200 + 400 ms of backoff apart (a loaded box only
  // makes that longer); without a pause they take about a millisecond.
  EXPECT_GE(std::chrono::steady_clock::now() - start, 600ms);
  auto s = r.status();
  EXPECT_LE(s.write_retries, 4u);
  EXPECT_EQ(s.reconnects, 0u) << "an error reply must not drop the connection";
  EXPECT_TRUE(s.connected);
  EXPECT_NE(s.last_error.find("READONLY"), std::string::npos) << s.last_error;
  EXPECT_EQ(s.written, 0u);

  // Writable again: the queued change goes through at the next attempt.
  ASSERT_EQ(srv.command({"REPLICAOF", "NO", "ONE"}), "OK");
  ASSERT_TRUE(r.flush(3s)) << r.status().last_error;
  s = r.status();
  EXPECT_EQ(s.written, 1u);
  EXPECT_EQ(s.dropped, 0u);
  const auto pttl = srv.command({"PTTL", r.state_key("groq", fp)});
  ASSERT_TRUE(pttl);
  EXPECT_GT(std::stoll(*pttl), 50000);
}

// A host whose clock runs behind Redis's asks just after the provider's day
// boundary: by its clock it is still the day before, whose counter would
// expire the moment it is written (EXPIREAT in the past), granting forever.
TEST(redis, daily_budget_grants_nothing_for_a_day_already_over) {
  KEYPOOL_START_REDIS(srv);
  kp::state::redis r(options(srv, "budget_over"));
  const auto fp = kp::fingerprint("gsk_fake_redis_secret_1");
  const auto now = std::chrono::system_clock::now();
  // A boundary one to two minutes ago by the real clock...
  const auto since_midnight = now.time_since_epoch() % std::chrono::days(1);
  const auto boundary = std::chrono::floor<std::chrono::minutes>(since_midnight) - 1min;
  const auto today = kp::provider_day::at(now, boundary);
  // ...and a host 3 minutes behind, still on the previous provider day.
  const auto behind = kp::provider_day::at(now - 3min, boundary);
  ASSERT_EQ(behind.index + 1, today.index);

  int granted = 0, exhausted = 0;
  for (int i = 0; i < 20; ++i) {
    const auto v = r.take_daily("groq", fp, behind, 5);
    granted += v == kp::state::budget_verdict::granted;
    exhausted += v == kp::state::budget_verdict::exhausted;
  }
  EXPECT_EQ(granted, 0) << "a day that is over has no budget left";
  EXPECT_EQ(exhausted, 20);
  EXPECT_EQ(r.reserve_daily("groq", fp, behind, 5, 4), 0u);
  EXPECT_EQ(r.reserve_daily("groq", fp, {behind.index - 1, boundary}, 5, 4), 0u);
  EXPECT_EQ(r.daily_used("groq", fp, behind), 0u);
  EXPECT_EQ(r.status().budget_unavailable, 0u);

  // The current day still counts exactly, and its counter outlives the call.
  EXPECT_EQ(r.reserve_daily("groq", fp, today, 5, 4), 4u);
  EXPECT_EQ(r.reserve_daily("groq", fp, today, 5, 4), 1u);
  EXPECT_EQ(r.take_daily("groq", fp, today, 5), kp::state::budget_verdict::exhausted);
  EXPECT_EQ(r.daily_used("groq", fp, today), 5u);
}

/// Instance B's wall clock is `skew` behind (negative: ahead of) A's, which
/// locks key 1 for 30 s. B must see 30 s, not 30 s + skew. `late`: B starts
/// after the lockout is stored and loads it instead of hearing it.
void skewed_reader_sees_the_same_lockout(const keypool_test::redis_server& srv, std::chrono::seconds skew, bool late,
                                         const std::string& ns) {
  kp::state::redis ra(options(srv, ns)), rb(options(srv, ns));
  pool a(keys(), pool_opts(ra));
  auto la = ra.attach(a);
  skewed_pool::options ob;
  ob.lockout = kp::lockout::fixed{30s};
  ob.state = rb;
  ob.clock = kp::clock::manual(std::chrono::system_clock::now() - skew);  // stands still: exact available_in
  std::optional<skewed_pool> b;
  kp::state::redis::attachment lb;
  const auto start_b = [&] {
    b.emplace(keys(), ob);
    lb = rb.attach(*b);
  };
  if (!late) start_b();
  ASSERT_TRUE(ra.wait_ready(5s)) << ra.status().last_error;
  // "Published": B has loaded the (empty) stored state before the write, so
  // it hears the lockout rather than loading it.
  if (!late) {
    ASSERT_TRUE(rb.wait_ready(5s)) << rb.status().last_error;
  }

  auto l = lease_of(a, "GROQ_API_KEY_1");
  a.report(l, kp::outcome::rate_limited());
  ASSERT_TRUE(ra.flush(2s));
  if (late) start_b();
  ASSERT_TRUE(rb.wait_ready(5s)) << rb.status().last_error;
  ASSERT_TRUE(time_until([&] { return rb.status().applied >= 1; }, 2s)) << "B never applied the lockout";

  const auto k = key_of(*b, "GROQ_API_KEY_1");
  EXPECT_EQ(k.status, kp::key_status::locked);
  ASSERT_TRUE(k.available_in) << "skew " << skew.count() << " s";
  EXPECT_GT(*k.available_in, 29s) << "skew " << skew.count() << " s";
  EXPECT_LE(*k.available_in, 30s) << "skew " << skew.count() << " s";
  EXPECT_EQ(rb.status().loaded, late ? 1u : 0u);
  lb.detach();
}

TEST(redis, lockout_lasts_as_long_for_an_instance_with_a_skewed_clock) {
  KEYPOOL_START_REDIS(srv);
  int n = 0;
  for (const bool late : {false, true})
    for (const auto skew : {std::chrono::seconds(5min), std::chrono::seconds(-60s)}) {
      SCOPED_TRACE(std::string(late ? "loaded" : "published") + ", skew " + std::to_string(skew.count()) + " s");
      skewed_reader_sees_the_same_lockout(srv, skew, late, "skew" + std::to_string(n++));
    }
}

// The published and stored form: the time left, not a wall time.
TEST(redis, change_format_carries_the_time_left) {
  using kp::state::detail::wire_change;
  const wire_change c{"groq", "0123456789ab", kp::key_status::locked, kp::outcome_kind::rate_limited, 30000};
  EXPECT_EQ(c.body(), "locked|rate_limited|30000ms|0123456789ab|groq");
  const auto back = wire_change::parse(c.body(), 0);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->ttl_ms, 30000);
  EXPECT_EQ(back->provider, "groq");
  const wire_change d{"my|provider", "0123456789ab", kp::key_status::disabled, kp::outcome_kind::invalid_key, -1};
  EXPECT_EQ(d.body(), "disabled|invalid_key|never|0123456789ab|my|provider");
  const auto dd = wire_change::parse(d.body(), 0);
  ASSERT_TRUE(dd);
  EXPECT_EQ(dd->ttl_ms, -1);
  EXPECT_EQ(dd->provider, "my|provider");
  // The older absolute form (wall ms, -1: never), from instances not yet upgraded.
  EXPECT_EQ(wire_change::parse("locked|rate_limited|1000500|0123456789ab|groq", 1000000)->ttl_ms, 500);
  EXPECT_EQ(wire_change::parse("locked|rate_limited|999000|0123456789ab|groq", 1000000)->ttl_ms, 0);
  EXPECT_EQ(wire_change::parse("disabled|invalid_key|-1|0123456789ab|groq", 1000000)->ttl_ms, -1);
  for (const char* bad : {"locked|rate_limited|ms|0123456789ab|groq", "locked|rate_limited|-5ms|0123456789ab|groq",
                          "locked|rate_limited||0123456789ab|groq", "locked|rate_limited|12s|0123456789ab|groq",
                          "locked|rate_limited|30000ms||groq", "locked|rate_limited|30000ms|0123456789ab|"})
    EXPECT_FALSE(wire_change::parse(bad, 0)) << bad;
}

/// A loopback socket that completes TCP handshakes (backlog) but never
/// answers: a Redis that hangs.
struct hung_listener {
  int fd = -1, port = 0;
  hung_listener() {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::listen(fd, 64) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      port = ntohs(a.sin_port);
  }
  ~hung_listener() { ::close(fd); }
};

TEST(redis, publish_never_blocks_while_redis_is_down_or_hangs) {
  hung_listener hung;
  ASSERT_NE(hung.port, 0);
  const struct {
    const char* what;
    int port;
  } cases[] = {{"refused", keypool_test::free_loopback_port()}, {"hung", hung.port}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    kp::state::redis_options o;
    o.port = c.port;
    o.name_space = "down";
    o.queue_capacity = 100;
    o.backoff_min = 10ms;
    o.backoff_max = 50ms;
    o.connect_timeout = 300ms;
    o.command_timeout = 300ms;
    auto start = std::chrono::steady_clock::now();
    {
      kp::state::redis r(o);
      std::vector<std::chrono::nanoseconds> each;
      each.reserve(10000);
      const auto fp = kp::fingerprint("gsk_fake_redis_secret_1");
      for (int i = 0; i < 10000; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        r.publish({"groq", fp, kp::key_status::locked, kp::outcome_kind::rate_limited,
                   std::chrono::system_clock::now() + 60s});
        each.push_back(std::chrono::steady_clock::now() - t0);
      }
      std::sort(each.begin(), each.end());
      // The writer is stuck for up to 300 ms per command on the hung socket;
      // publish() must not wait for it. (Generous bounds: a shared 2-core box
      // under a sanitizer can deschedule any thread for a few ms.)
      EXPECT_LT(each[each.size() * 99 / 100], 1ms);
      EXPECT_LT(each.back(), 100ms) << "publish() waited for Redis";
      const auto s = r.status();
      EXPECT_TRUE(s.degraded);
      EXPECT_FALSE(s.connected);
      EXPECT_EQ(s.published, 10000u);
      EXPECT_EQ(s.queued, 100u);
      EXPECT_EQ(s.dropped, 9900u) << "drop-oldest beyond queue_capacity";
      EXPECT_TRUE(time_until([&] { return !r.status().last_error.empty(); }, 2s)) << "no error reported";
      start = std::chrono::steady_clock::now();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms) << "shutdown must not hang on a dead Redis";
  }
}

TEST(redis, shutdown_is_prompt_while_reconnecting) {
  kp::state::redis_options o;  // default backoff: grows towards 2 s
  o.port = keypool_test::free_loopback_port();
  o.name_space = "down";
  std::optional<kp::state::redis> r(std::in_place, o);
  std::this_thread::sleep_for(700ms);  // both threads are now in a long backoff
  EXPECT_GT(r->status().last_error.size(), 0u);
  const auto t0 = std::chrono::steady_clock::now();
  r.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 200ms);
}

TEST(redis, budget_answers_unavailable_when_redis_is_down) {
  kp::state::redis_options o;
  o.port = keypool_test::free_loopback_port();
  o.name_space = "down";
  o.backoff_min = 200ms;
  kp::state::redis r(o);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(r.take_daily("groq", "000000000000", kp::provider_day{1}, 10), kp::state::budget_verdict::unavailable);
  // Within the backoff no new connect is tried: answered at once.
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(r.take_daily("groq", "000000000000", kp::provider_day{1}, 10), kp::state::budget_verdict::unavailable);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 150ms);
  EXPECT_EQ(r.status().budget_unavailable, 101u);
  EXPECT_FALSE(r.reserve_daily("groq", "000000000000", kp::provider_day{1}, 10, 5));
}

TEST(redis, survives_redis_kill_and_restart) {
  KEYPOOL_START_REDIS(srv);
  kp::state::redis ra(options(srv)), rb(options(srv));
  pool a(keys(), pool_opts(ra));
  pool b(keys(), pool_opts(rb));
  auto la = ra.attach(a);
  auto lb = rb.attach(b);
  ASSERT_TRUE(ra.wait_ready(5s) && rb.wait_ready(5s));

  // A picker keeps going the whole time.
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> picks{0}, failures{0};
  std::thread picker([&] {
    while (!done.load(std::memory_order_relaxed)) {
      auto l = a.acquire();
      if (!l) {
        ++failures;
        continue;
      }
      a.report(*l, kp::outcome::success());
      picks.fetch_add(1, std::memory_order_relaxed);
    }
  });

  srv.kill();
  ASSERT_TRUE(time_until([&] { return ra.status().degraded && rb.status().degraded; }, 3s))
      << "killed Redis not noticed";
  // A lockout while Redis is down: applied locally at once, queued for Redis.
  const auto t0 = std::chrono::steady_clock::now();
  a.report(lease_of(a, "GROQ_API_KEY_2"), kp::outcome::rate_limited());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5ms);
  EXPECT_EQ(key_of(a, "GROQ_API_KEY_2").status, kp::key_status::locked);
  EXPECT_EQ(ra.status().queued, 1u);
  for (int i = 0; i < 20; ++i) {
    auto x = a.acquire_or_throw();
    EXPECT_NE(x.variable(), "GROQ_API_KEY_2") << "a locked key was handed out";
    a.report(x, kp::outcome::success());
  }
  const auto before = picks.load();
  std::this_thread::sleep_for(100ms);
  EXPECT_GT(picks.load(), before) << "picks stopped while Redis was down";
  EXPECT_EQ(ra.take_daily("groq", "000000000000", kp::provider_day{1}, 5), kp::state::budget_verdict::unavailable);

  ASSERT_TRUE(srv.start()) << "restart on port " << srv.port();
  ASSERT_TRUE(time_until([&] { return !ra.status().degraded && ra.status().queued == 0; }, 5s))
      << ra.status().last_error;
  ASSERT_TRUE(time_until([&] { return !rb.status().degraded; }, 5s)) << rb.status().last_error;
  // The queued write went through after the restart, and B (re-subscribed,
  // reloaded by SCAN or told on the channel) has the lockout.
  const auto fp2 = kp::fingerprint("gsk_fake_redis_secret_2");
  const auto pttl = srv.command({"PTTL", ra.state_key("groq", fp2)});
  ASSERT_TRUE(pttl);
  EXPECT_GT(std::stoll(*pttl), 25000);
  EXPECT_TRUE(time_until([&] { return key_of(b, "GROQ_API_KEY_2").status == kp::key_status::locked; }, 2s));
  const auto sa = ra.status();
  EXPECT_GE(sa.reconnects, 1u);
  EXPECT_EQ(sa.written, 1u);
  EXPECT_EQ(sa.dropped, 0u);
  EXPECT_EQ(rb.status().dropped, 0u);
  EXPECT_EQ(ra.take_daily("groq", fp2, kp::provider_day::at(std::chrono::system_clock::now()), 5),
            kp::state::budget_verdict::granted)
      << "budget connection recovers";

  done = true;
  picker.join();
  EXPECT_EQ(failures.load(), 0u);
  EXPECT_GT(picks.load(), 0u);
}

TEST(redis, default_handle_is_inert) {
  kp::state::redis r;
  r.publish({"groq", "000000000000", kp::key_status::locked, kp::outcome_kind::rate_limited, {}});
  EXPECT_FALSE(r.status().configured);
  EXPECT_FALSE(r.ready());
  EXPECT_EQ(r.take_daily("groq", "000000000000", kp::provider_day{1}, 1), kp::state::budget_verdict::unavailable);
  EXPECT_THROW(kp::state::redis({.name_space = "bad name"}), std::invalid_argument);
  EXPECT_THROW(kp::state::redis({.name_space = "a*"}), std::invalid_argument);
}

// REDIS_URL forms, and errors that name the problem without the password.
TEST(redis_url, parses_the_usual_forms) {
  using o = kp::state::redis_options;
  auto a = o::from_url("redis://app:s3cret-test-FAKE@cache.internal:6380/2");
  EXPECT_EQ(a.host, "cache.internal");
  EXPECT_EQ(a.port, 6380);
  EXPECT_EQ(a.username, "app");
  EXPECT_EQ(a.password, "s3cret-test-FAKE");
  EXPECT_EQ(a.database, 2);
  auto b = o::from_url("redis://:pw-test-FAKE@10.0.0.5");
  EXPECT_EQ(b.host, "10.0.0.5");
  EXPECT_EQ(b.port, 6379);
  EXPECT_EQ(b.username, "");
  EXPECT_EQ(b.password, "pw-test-FAKE");
  auto c = o::from_url("[::1]:7000");
  EXPECT_EQ(c.host, "::1");
  EXPECT_EQ(c.port, 7000);
  // What the URL does not name keeps the base's value.
  o base;
  base.name_space = "fleet-a";
  base.port = 7001;
  auto d = o::from_url("redis-host", base);
  EXPECT_EQ(d.host, "redis-host");
  EXPECT_EQ(d.port, 7001);
  EXPECT_EQ(d.name_space, "fleet-a");
}

TEST(redis_url, rejects_bad_urls_without_echoing_the_password) {
  using o = kp::state::redis_options;
  for (const char* bad :
       {"rediss://u:pw-test-FAKE@host:0", "redis://u:pw-test-FAKE@host:0", "redis://u:pw-test-FAKE@host:70000",
        "redis://u:pw-test-FAKE@host:port", "redis://u:pw-test-FAKE@host:", "redis://u:pw-test-FAKE@host/db9",
        "redis://u:pw-test-FAKE@[::1", "http://u:pw-test-FAKE@host", "redis://u:pw-test-FAKE@ho st"}) {
    try {
      (void)o::from_url(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const kp::state::redis_url_error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("Redis URL: ", 0), 0u) << msg;
      EXPECT_EQ(msg.find("pw-test-FAKE"), std::string::npos) << msg;
    }
  }
}

// User and password are percent-decoded, as redis-cli, redis-py (from_url)
// and libcurl do: '@', ':' and '/' in a password must be written %40, %3A,
// %2F, and the decoded text is what AUTH gets.
TEST(redis_url, percent_decodes_user_and_password) {
  using o = kp::state::redis_options;
  auto a = o::from_url("redis://:p%40ss%3Aw0rd@127.0.0.1:6379/0");
  EXPECT_EQ(a.username, "");
  EXPECT_EQ(a.password, "p@ss:w0rd");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 6379);
  EXPECT_EQ(a.database, 0);
  // The first unencoded ':' splits user from password; an encoded one is
  // part of the name. Lower-case hex, %25 for '%' itself, '+' stays '+'.
  auto b = o::from_url("redis://svc%3Afleet%40corp:a%2fb%25c+d%20e@cache.internal:6380/3");
  EXPECT_EQ(b.username, "svc:fleet@corp");
  EXPECT_EQ(b.password, "a/b%c+d e");
  EXPECT_EQ(b.host, "cache.internal");
  EXPECT_EQ(b.port, 6380);
  EXPECT_EQ(b.database, 3);
  // A password with no user, no ':' (redis-cli's form) is decoded as well.
  EXPECT_EQ(o::from_url("redis://only%40pw@host").password, "only@pw");
}

TEST(redis_url, at_sign_in_the_password_splits_at_the_last_at) {
  using o = kp::state::redis_options;
  auto encoded = o::from_url("redis://app:a%40b%40c@host.example:7000/1");
  EXPECT_EQ(encoded.username, "app");
  EXPECT_EQ(encoded.password, "a@b@c");
  EXPECT_EQ(encoded.host, "host.example");
  EXPECT_EQ(encoded.port, 7000);
  // Unencoded, as urlparse (redis-py) reads it: the host follows the last '@'.
  auto raw = o::from_url("redis://app:a@b@c@host.example:7000/1");
  EXPECT_EQ(raw.username, "app");
  EXPECT_EQ(raw.password, "a@b@c");
  EXPECT_EQ(raw.host, "host.example");
  EXPECT_EQ(raw.port, 7000);
  EXPECT_EQ(raw.database, 1);
}

TEST(redis_url, rejects_malformed_percent_escapes_without_echoing_the_password) {
  using o = kp::state::redis_options;
  struct bad_case {
    const char* url;
    const char* part;
  };
  for (const auto& [url, part] :
       {bad_case{"redis://u:pw-test-FAKE%4@host", "password"}, bad_case{"redis://u:pw-test-FAKE%zz@host", "password"},
        bad_case{"redis://u:pw-test-FAKE%@host:6379", "password"},
        bad_case{"redis://u:pw-test-FAKE%4g@host", "password"}, bad_case{"redis://:pw-test-FAKE%G0@host/2", "password"},
        bad_case{"redis://pw-test-FAKE%2@host", "password"},
        bad_case{"redis://us%zzer:pw-test-FAKE@host", "username"}}) {
    try {
      const auto parsed = o::from_url(url);
      ADD_FAILURE() << "accepted " << url << " (password of " << parsed.password.size() << " bytes)";
    } catch (const kp::state::redis_url_error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("Redis URL: ", 0), 0u) << msg;
      EXPECT_NE(msg.find("percent-encoding"), std::string::npos) << msg;
      EXPECT_NE(msg.find(part), std::string::npos) << url << ": " << msg;
      EXPECT_EQ(msg.find("pw-test-FAKE"), std::string::npos) << msg;
      EXPECT_EQ(msg.find("us%zzer"), std::string::npos) << msg;
    }
  }
}

// End to end: the decoded user and password authenticate against an ACL user
// whose name and password contain ':', '@' and '/'.
TEST(redis_url, percent_encoded_credentials_authenticate) {
  KEYPOOL_START_REDIS(srv);
  ASSERT_EQ(srv.command({"ACL", "SETUSER", "svc:fleet@corp", "on", ">p@ss:w0rd/FAKE", "~*", "&*", "+@all"}), "OK");
  auto o = kp::state::redis_options::from_url(
      "redis://svc%3Afleet%40corp:p%40ss%3Aw0rd%2FFAKE@127.0.0.1:" + std::to_string(srv.port()) + "/0",
      options(srv, "auth"));
  EXPECT_EQ(o.username, "svc:fleet@corp");
  kp::state::redis r(o);
  ASSERT_TRUE(r.wait_ready(5s)) << r.status().last_error;
  EXPECT_FALSE(r.status().degraded);
}
