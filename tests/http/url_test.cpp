/// URLs that carry credentials are never quoted back (issue 28, item 3), and
/// localhost names go to loopback without DNS (item 6). Every secret in here
/// is fake.

#include "support/test_server.hpp"

#include <keypool/http/proxy.hpp>
#include <keypool/http/transport.hpp>
#include <keypool/http/url.hpp>

#include <gtest/gtest.h>

#include <string>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace http_url_test {
namespace {

using namespace std::chrono_literals;
namespace http = keypool::http;
using keypool::test::received_request;
using keypool::test::scripted_reply;
using keypool::test::test_server;

TEST(Url, MalformedUrlsNeverQuoteTextBeforeTheLastAtOrAPort) {
  for (const char* u : {"user:sEcReT@api.example.com/v1", "https//user:sEcReT@api.example.com/v1",
                        "https:/user:sEcReT@api.example.com/v1", "user:sEcReT", "https://user:sEcReT/v1",
                        "http://api.example.com:sEcReT/", "https://[::1]:sEcReT/", "sEcReT",
                        "x:sEcReT@y@api.example.com", "https://user:sEcReT@[::1/"}) {
    const auto r = http::parse_url(u);
    ASSERT_FALSE(r) << u;
    EXPECT_EQ(r.error().message.find("sEcReT"), std::string::npos) << u << " -> " << r.error().message;
    EXPECT_EQ(r.error().message.find("user"), std::string::npos) << u << " -> " << r.error().message;
  }
  // What is shown still helps: the scheme and the host.
  const auto h = http::parse_url("user:sEcReT@api.example.com/v1");
  EXPECT_NE(h.error().message.find("***@api.example.com"), std::string::npos) << h.error().message;
  EXPECT_NE(h.error().message.find("missing scheme"), std::string::npos) << h.error().message;
  const auto p = http::parse_url("https://api.example.com:99999/v1");
  EXPECT_NE(p.error().message.find("'https://api.example.com...'"), std::string::npos) << p.error().message;
}

TEST(Url, ProxySettingIsNeverQuoted) {
  for (const char* v :
       {"user:sEcReT", "http://user:sEcReT", "proxy.corp:sEcReT", "http://user:sEcReT/x@proxy.corp:port"}) {
    const auto r = http::select_proxy({v, ""}, "api.example.com");
    ASSERT_FALSE(r) << v;
    EXPECT_EQ(r.error().message.find("sEcReT"), std::string::npos) << v << " -> " << r.error().message;
    EXPECT_EQ(r.error().message.find("user"), std::string::npos) << v << " -> " << r.error().message;
    EXPECT_EQ(r.error().message.rfind("HTTPS_PROXY: ", 0), 0u) << r.error().message;
  }
}

TEST(Url, LocalhostNames) {
  for (const char* h : {"localhost", "LocalHost", "foo.localhost", "a.b.localhost", "localhost."})
    EXPECT_TRUE(http::is_localhost_name(h)) << h;
  for (const char* h : {"127.0.0.1", "::1", "localhost.example.com", "foolocalhost", "example.com", ""})
    EXPECT_FALSE(http::is_localhost_name(h)) << h;
}

/// "foo.localhost" passes the plain-http loopback test by its text, so it
/// must reach loopback whatever DNS says (here it does not resolve at all).
TEST(Transport, LocalhostNamesConnectToLoopbackWithoutDns) {
  test_server s([](const received_request&) { return scripted_reply::json(R"({"ok":true})"); });
  http::transport_options o;
  o.connect_timeout = 2s;
  o.read_timeout = 5s;
  o.total_timeout = 10s;
  o.proxy = http::proxy_options{};
  http::transport t(o);
  for (const std::string host : {"foo.localhost", "api.test.localhost", "localhost"}) {
    const auto r = t.send(http::bhttp::verb::get, "http://" + host + ":" + std::to_string(s.port()) + "/ping");
    ASSERT_TRUE(r) << host << ": " << r.error().message;
    EXPECT_EQ(r->status, 200u) << host;
  }
}

}  // namespace

}  // namespace http_url_test
