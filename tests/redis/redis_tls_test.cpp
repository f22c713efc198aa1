// state::redis over TLS (rediss://) against a redis-server with a TLS port
// and a CA generated at test time by the openssl command: a verified
// connection works end to end; an untrusted certificate or one that does not
// name the host is refused, with the reason and nothing else.
#include <keypool/state/redis.hpp>

#include "redis/support/redis_server.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace kp = keypool;
using namespace std::chrono_literals;

namespace {

/// A CA, a server certificate it signed for IP 127.0.0.1, and an unrelated
/// CA, in `dir`; false when openssl is missing or fails.
bool make_certificates(const std::string& dir) {
  const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  const std::string cmd =
      "cd '" + dir + "' && openssl req -x509" + ec + " -keyout ca.key -out ca.crt -subj /CN=keypool-test-ca -days 2" +
      " && openssl req -x509" + ec + " -keyout other.key -out other.crt -subj /CN=keypool-other-ca -days 2" +
      " && openssl req" + ec + " -keyout server.key -out server.csr -subj /CN=keypool-test-server" +
      " && printf 'subjectAltName=IP:127.0.0.1\\n' > ext.cnf" +
      " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2" +
      " -extfile ext.cnf && chmod 644 server.key";
  return std::system(("(" + cmd + ") >/dev/null 2>&1").c_str()) == 0;
}

template <class F>
bool eventually(F f, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!f()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

struct tls_server {
  keypool_test::redis_server srv;
  int tls_port = 0;
  bool start() {
    if (!make_certificates(srv.dir())) return false;
    tls_port = keypool_test::free_loopback_port();
    srv.extra_args = {"--tls-port",         std::to_string(tls_port),
                      "--tls-cert-file",    srv.dir() + "/server.crt",
                      "--tls-key-file",     srv.dir() + "/server.key",
                      "--tls-ca-cert-file", srv.dir() + "/ca.crt",
                      "--tls-auth-clients", "no"};
    return srv.start();
  }
  kp::state::redis_options options(const std::string& ca, std::string host = "127.0.0.1") const {
    auto o = kp::state::redis_options::from_url("rediss://" + host + ":" + std::to_string(tls_port));
    o.ca_file = srv.dir() + "/" + ca;
    o.name_space = "tls";
    o.backoff_min = 10ms;
    o.backoff_max = 100ms;
    o.ping_interval = 200ms;
    return o;
  }
};

#define KEYPOOL_START_TLS_REDIS(t)                                                               \
  tls_server t;                                                                                  \
  if (!KEYPOOL_REDIS_TLS) GTEST_SKIP() << "keypool built without OpenSSL: rediss:// is refused"; \
  if (!t.srv.available()) GTEST_SKIP() << keypool_test::redis_server::missing_message();         \
  if (!t.start()) GTEST_SKIP() << "openssl or a TLS-enabled redis-server is missing: TLS tests skipped"

}  // namespace

TEST(redis_tls, verified_connection_carries_writes_propagation_and_budgets) {
  KEYPOOL_START_TLS_REDIS(t);
  const auto o = t.options("ca.crt");
  ASSERT_TRUE(o.tls);
  kp::state::redis a(o), b(o);
  std::atomic<int> heard{0};
  auto link = b.attach("groq", [&](std::string_view, kp::key_status, kp::outcome_kind,
                                   std::chrono::system_clock::time_point) { return ++heard, true; });
  ASSERT_TRUE(a.wait_ready(5s)) << a.status().last_error;
  ASSERT_TRUE(b.wait_ready(5s)) << b.status().last_error;
  const std::string fp = "0123456789ab";
  a.publish(
      {"groq", fp, kp::key_status::locked, kp::outcome_kind::rate_limited, std::chrono::system_clock::now() + 60s});
  ASSERT_TRUE(a.flush(3s)) << a.status().last_error;
  EXPECT_TRUE(eventually([&] { return heard.load() == 1; }, 2s));
  // Stored, as seen through the plain port.
  EXPECT_GT(std::stoll(t.srv.command({"PTTL", a.state_key("groq", fp)}).value_or("0")), 50000);
  const auto day = kp::provider_day::at(std::chrono::system_clock::now());
  EXPECT_EQ(a.reserve_daily("groq", fp, day, 10, 1), 1u) << a.status().last_error;
  EXPECT_EQ(b.daily_used("groq", fp, day), 1u);
  EXPECT_EQ(a.status().last_error, "");
}

TEST(redis_tls, untrusted_or_misnamed_certificate_is_refused) {
  KEYPOOL_START_TLS_REDIS(t);
  struct bad_case {
    const char* ca;
    const char* host;
  };
  for (const auto& [ca, host] : {bad_case{"other.crt", "127.0.0.1"}, bad_case{"ca.crt", "localhost"}}) {
    SCOPED_TRACE(std::string(ca) + " " + host);
    kp::state::redis r(t.options(ca, host));
    ASSERT_TRUE(eventually([&] { return !r.status().last_error.empty(); }, 3s));
    EXPECT_FALSE(r.wait_ready(300ms));
    const auto s = r.status();
    EXPECT_TRUE(s.degraded);
    EXPECT_NE(s.last_error.find("TLS: certificate refused"), std::string::npos) << s.last_error;
  }
}

// rediss:// turns TLS on; what the URL does not name (the CA file) keeps the
// base's value.
TEST(redis_url, rediss_sets_tls) {
  if (!KEYPOOL_REDIS_TLS) {
    EXPECT_THROW((void)kp::state::redis_options::from_url("rediss://host"), kp::state::redis_url_error);
    return;
  }
  kp::state::redis_options base;
  base.ca_file = "/etc/ssl/fleet-ca.pem";
  const auto o = kp::state::redis_options::from_url("rediss://:pw-test-FAKE@cache.internal:6380/1", base);
  EXPECT_TRUE(o.tls);
  EXPECT_TRUE(o.tls_verify);
  EXPECT_EQ(o.ca_file, "/etc/ssl/fleet-ca.pem");
  EXPECT_EQ(o.host, "cache.internal");
  EXPECT_EQ(o.port, 6380);
  EXPECT_EQ(o.database, 1);
  EXPECT_FALSE(kp::state::redis_options::from_url("redis://cache.internal").tls);
}
