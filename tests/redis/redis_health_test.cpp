// state::redis reports what is wrong, and only while it is: refused writes
// (a read-only replica, a user without permission) make it degraded with the
// reason, a dead writer connection clears ready() at once, errors clear on
// recovery and never quote a credential. Against real redis-server processes.
#include <keypool/state/redis.hpp>

#include "redis/support/redis_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
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
  o.ping_interval = 200ms;
  return o;
}

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

void publish_lockout(kp::state::redis& r, const std::string& fp) {
  r.publish(
      {"groq", fp, kp::key_status::locked, kp::outcome_kind::rate_limited, std::chrono::system_clock::now() + 60s});
}

/// The id of the client whose CLIENT SETNAME name contains `part`, or empty.
std::string client_id(const keypool_test::redis_server& srv, const std::string& part) {
  const auto list = srv.command({"CLIENT", "LIST"});
  if (!list) return {};
  std::istringstream in(*list);
  for (std::string line; std::getline(in, line);) {
    if (line.find("name=") == std::string::npos || line.find(part) == std::string::npos) continue;
    const auto id = line.find("id=");
    if (id != std::string::npos) return line.substr(id + 3, line.find(' ', id) - id - 3);
  }
  return {};
}

#define KEYPOOL_START_REDIS(srv)                                                       \
  keypool_test::redis_server srv;                                                      \
  if (!srv.available()) GTEST_SKIP() << keypool_test::redis_server::missing_message(); \
  ASSERT_TRUE(srv.start()) << "redis-server did not start on port " << srv.port()

}  // namespace

// A replica refuses writes with READONLY while connecting, PING and
// SUBSCRIBE work: the backend must say so rather than look healthy.
TEST(redis_health, refused_write_on_a_replica_is_degraded_with_the_reason) {
  KEYPOOL_START_REDIS(primary);
  keypool_test::redis_server replica;
  replica.extra_args = {"--replicaof", "127.0.0.1", std::to_string(primary.port())};
  ASSERT_TRUE(replica.start()) << "replica did not start";
  kp::state::redis r(options(replica, "replica"));
  ASSERT_TRUE(r.wait_ready(5s)) << r.status().last_error;
  EXPECT_FALSE(r.status().degraded);

  publish_lockout(r, "0123456789ab");
  ASSERT_TRUE(eventually([&] { return r.status().degraded; }, 2s)) << "a refused write still reads healthy";
  auto s = r.status();
  EXPECT_TRUE(s.writes_refused);
  EXPECT_TRUE(s.connected) << "the connection itself is fine";
  EXPECT_NE(s.last_error.find("READONLY"), std::string::npos) << s.last_error;
  EXPECT_EQ(s.written, 0u);

  // Promoted: the queued write goes through, and nothing wrong is left.
  ASSERT_EQ(replica.command({"REPLICAOF", "NO", "ONE"}), "OK");
  ASSERT_TRUE(r.flush(3s)) << r.status().last_error;
  s = r.status();
  EXPECT_FALSE(s.degraded);
  EXPECT_FALSE(s.writes_refused);
  EXPECT_EQ(s.written, 1u);
  EXPECT_EQ(s.last_error, "") << "the error outlived the recovery";
}

// A least-privilege user missing the namespace's keys: NOPERM is reported,
// the password is not.
TEST(redis_health, write_without_permission_is_degraded_and_quotes_no_password) {
  KEYPOOL_START_REDIS(srv);
  ASSERT_EQ(srv.command({"ACL", "SETUSER", "fleet", "on", ">pw-health-FAKE-1", "~other:*", "&*", "+@all"}), "OK");
  auto o = options(srv, "noperm");
  o.username = "fleet";
  o.password = "pw-health-FAKE-1";
  kp::state::redis r(o);
  ASSERT_TRUE(r.wait_ready(5s)) << r.status().last_error;
  publish_lockout(r, "0123456789ab");
  ASSERT_TRUE(eventually([&] { return r.status().degraded; }, 2s));
  auto s = r.status();
  EXPECT_TRUE(s.writes_refused);
  EXPECT_NE(s.last_error.find("NOPERM"), std::string::npos) << s.last_error;
  EXPECT_EQ(s.last_error.find("pw-health-FAKE-1"), std::string::npos) << s.last_error;

  // Granted the keys: written, healthy, error gone.
  ASSERT_EQ(srv.command({"ACL", "SETUSER", "fleet", "~keypool:*"}), "OK");
  ASSERT_TRUE(r.flush(3s)) << r.status().last_error;
  s = r.status();
  EXPECT_FALSE(s.degraded);
  EXPECT_EQ(s.last_error, "");
}

// The server's answer to AUTH is not repeated (a server or proxy may echo
// what it got); once the password is right, the error is gone.
TEST(redis_health, refused_authentication_is_reported_by_code_and_clears) {
  KEYPOOL_START_REDIS(srv);
  ASSERT_EQ(srv.command({"ACL", "SETUSER", "fleet", "on", ">pw-other-FAKE", "~*", "&*", "+@all"}), "OK");
  auto o = options(srv, "auth");
  o.username = "fleet";
  o.password = "pw-health-FAKE-2";
  kp::state::redis r(o);
  ASSERT_TRUE(eventually([&] { return !r.status().last_error.empty(); }, 2s));
  auto s = r.status();
  EXPECT_FALSE(r.ready());
  EXPECT_NE(s.last_error.find("authentication refused (WRONGPASS)"), std::string::npos) << s.last_error;
  EXPECT_EQ(s.last_error.find("invalid username-password"), std::string::npos) << "the reply quoted: " << s.last_error;
  EXPECT_EQ(s.last_error.find("pw-health-FAKE-2"), std::string::npos) << s.last_error;

  ASSERT_EQ(srv.command({"ACL", "SETUSER", "fleet", "resetpass", ">pw-health-FAKE-2"}), "OK");
  ASSERT_TRUE(r.wait_ready(5s)) << r.status().last_error;
  // Both threads recovered; each clears its own error once it has.
  ASSERT_TRUE(eventually([&] { return r.status().last_error.empty(); }, 2s)) << r.status().last_error;
  EXPECT_FALSE(r.status().degraded);
}

// ready() follows the writer's connection, not its next PING: the server
// drops that one connection (CLIENT KILL, as a proxy or failover would) and
// new connections are refused, while the subscriber stays connected.
TEST(redis_health, ready_is_false_as_soon_as_the_writer_connection_dies) {
  KEYPOOL_START_REDIS(srv);
  ASSERT_EQ(srv.command({"ACL", "SETUSER", "fleet", "on", ">pw-health-FAKE-3", "~*", "&*", "+@all"}), "OK");
  auto o = options(srv, "writerdead");
  o.username = "fleet";
  o.password = "pw-health-FAKE-3";
  o.ping_interval = 5s;  // a PING would notice only seconds later
  kp::state::redis r(o);
  ASSERT_TRUE(r.wait_ready(5s)) << r.status().last_error;
  const auto id = client_id(srv, ":writer:" + r.instance_id());
  ASSERT_FALSE(id.empty()) << "the writer's connection carries no name";

  ASSERT_EQ(srv.command({"ACL", "SETUSER", "fleet", "resetpass", ">pw-changed-FAKE"}), "OK");
  ASSERT_EQ(srv.command({"CLIENT", "KILL", "ID", id}), "1");
  EXPECT_TRUE(eventually([&] { return !r.ready(); }, 1s)) << "ready() with a dead writer connection";
  auto s = r.status();
  EXPECT_FALSE(s.connected);
  EXPECT_TRUE(s.subscribed);
  EXPECT_TRUE(s.degraded);

  ASSERT_EQ(srv.command({"ACL", "SETUSER", "fleet", "resetpass", ">pw-health-FAKE-3"}), "OK");
  ASSERT_TRUE(r.wait_ready(5s)) << r.status().last_error;
  EXPECT_TRUE(eventually([&] { return r.status().last_error.empty(); }, 2s)) << r.status().last_error;
}

// Issue 28: what a malformed URL names, it never quotes, when the text may be
// a password: a port, a database, anything before the last '@'.
TEST(redis_url, errors_never_quote_a_port_database_or_userinfo) {
  using o = kp::state::redis_options;
  for (const char* bad :
       {"redis://default:hunter2", "default:hunter2", "redis://:hunter2", "redis://host/?password=hunter2",
        "redis://u:x@host/hunter2", "host:6379/hunter2", "redis://hunter2@host:hunter2", "redis://u:hunter2@[::1]:x",
        "rediss://default:hunter2", "http://default:hunter2", "redis://u:hunter2@ho st"}) {
    try {
      const auto parsed = o::from_url(bad);
      ADD_FAILURE() << "accepted " << bad << " (host of " << parsed.host.size() << " bytes)";
    } catch (const kp::state::redis_url_error& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.find("hunter2"), std::string::npos) << bad << " -> " << msg;
    }
  }
}

// The least-privilege user docs/distributed.md gives: every operation works
// with exactly these permissions (commands run inside scripts are checked
// too), and nothing is left in last_error.
TEST(redis_health, least_privilege_user_from_the_docs_suffices) {
  KEYPOOL_START_REDIS(srv);
  ASSERT_EQ(srv.command({"ACL",
                         "SETUSER",
                         "keypool",
                         "reset",
                         "on",
                         ">pw-health-FAKE-4",
                         "~keypool:{acl}:*",
                         "&keypool:acl:events",
                         "+ping",
                         "+select",
                         "+client|setname",
                         "+script|load",
                         "+eval",
                         "+evalsha",
                         "+subscribe",
                         "+get",
                         "+set",
                         "+del",
                         "+pttl",
                         "+zadd",
                         "+zrem",
                         "+zscore",
                         "+zcount",
                         "+zrank",
                         "+zrange",
                         "+zremrangebyscore",
                         "+incrby",
                         "+expireat",
                         "+time",
                         "+publish"}),
            "OK");
  auto o = options(srv, "acl");
  o.username = "keypool";
  o.password = "pw-health-FAKE-4";
  kp::state::redis a(o), b(o);
  std::atomic<int> heard{0};
  auto link = b.attach("groq", [&](std::string_view, kp::key_status, kp::outcome_kind,
                                   std::chrono::system_clock::time_point) { return ++heard, true; });
  ASSERT_TRUE(a.wait_ready(5s) && b.wait_ready(5s)) << a.status().last_error << b.status().last_error;
  publish_lockout(a, "0123456789ab");
  ASSERT_TRUE(a.flush(3s)) << a.status().last_error;
  EXPECT_TRUE(eventually([&] { return heard.load() == 1; }, 2s));
  const auto day = kp::provider_day::at(std::chrono::system_clock::now());
  EXPECT_EQ(a.reserve_daily("groq", "0123456789ab", day, 10, 4), 4u) << a.status().last_error;
  const auto used = b.daily_used("groq", "0123456789ab", day);
  ASSERT_TRUE(used) << b.status().last_error;
  EXPECT_TRUE(*used == 4 || *used == 8) << *used << " (4, or 8 with the next chunk fetched ahead)";
  // A late instance loads the stored state with the same rights.
  kp::state::redis c(o);
  auto late = c.attach("groq", [](std::string_view, kp::key_status, kp::outcome_kind,
                                  std::chrono::system_clock::time_point) { return true; });
  ASSERT_TRUE(c.wait_ready(5s)) << c.status().last_error;
  EXPECT_EQ(c.status().loaded, 1u);
  for (auto* r : {&a, &b, &c}) {
    const auto s = r->status();
    EXPECT_FALSE(s.degraded);
    EXPECT_EQ(s.last_error, "");
  }
}
