/// The network half of the bad-input catalogue (docs/security.md): a server
/// that drips one byte a second, an unresolvable host, a connection reset
/// mid-body, an expired (and a not-yet-valid) certificate, header injection
/// end to end, and providers that echo the key back. Each asserts a clear
/// error, no crash, no key lost from the pool and no secret in any message.
/// Every key in here is obviously fake; nothing leaves 127.0.0.1.

#include "http/support/test_certs.hpp"
#include "http/support/test_server.hpp"

#include <keypool/chain/chain.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/client.hpp>
#include <keypool/http/transport.hpp>
#include <keypool/http/wire_request.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/wire/openai_chat.hpp>

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace hardening_network_test {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace http = keypool::http;
namespace wire = keypool::wire;
namespace providers = keypool::providers;
using asio::ip::tcp;
using keypool::test::received_request;
using keypool::test::scripted_reply;
using keypool::test::test_server;

const std::vector<std::string> secrets = {"gsk_test_FAKE_network_hardening_0001",
                                          "gsk_test_FAKE_network_hardening_0002"};

using groq_pool = keypool::basic_pool<providers::groq>;

std::vector<keypool::key_spec> groq_keys() { return {{"GROQ_API_KEY_1", secrets[0]}, {"GROQ_API_KEY_2", secrets[1]}}; }

http::transport_options fast_options() {
  http::transport_options o;
  o.connect_timeout = 2s;
  o.read_timeout = 2s;
  o.total_timeout = 4s;
  o.proxy = http::proxy_options{};  // never a proxy from the test environment
  return o;
}

void expect_no_secret(std::string_view text, std::string_view where) {
  for (const auto& s : secrets) EXPECT_EQ(text.find(s), std::string_view::npos) << where << ": " << text;
}

/// Every lease handed out was reported once, and every configured key is
/// still in the pool.
void expect_pool_intact(const groq_pool& p) {
  const auto snap = p.snapshot();
  ASSERT_EQ(snap.keys.size(), 2u) << "a key was lost";
  for (const auto& k : snap.keys) {
    std::uint64_t reports = 0;
    for (auto n : k.outcomes) reports += n;
    EXPECT_EQ(k.requests, reports) << k.variable << ": leases handed out != reports";
  }
}

/// A loopback TCP server whose connections run a raw coroutine script:
/// what no well-behaved HTTP server would do.
class raw_server {
 public:
  using script = std::function<asio::awaitable<void>(tcp::socket)>;
  explicit raw_server(script s) : script_(std::move(s)), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  raw_server(const raw_server&) = delete;
  raw_server& operator=(const raw_server&) = delete;
  ~raw_server() {
    ioc_.stop();
    thread_.join();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      auto sock = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      asio::co_spawn(ioc_, script_(std::move(sock)), asio::detached);
    }
  }
  script script_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread thread_;
};

/// Reads whatever the client sent first (the request head at least).
asio::awaitable<void> read_request(tcp::socket& s) {
  std::array<char, 65536> buf;
  boost::system::error_code ec;
  co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
}

/// Answers one byte per second, starting with the status line.
asio::awaitable<void> drip(tcp::socket s) {
  co_await read_request(s);
  const std::string reply =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 64\r\n\r\n"
      R"({"choices":[{"message":{"content":"never finished"}}]}         )";
  asio::steady_timer t(s.get_executor());
  for (char c : reply) {
    boost::system::error_code ec;
    co_await asio::async_write(s, asio::buffer(&c, 1), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    t.expires_after(1s);
    co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

/// Sends the head and part of the body, then resets the connection (RST).
asio::awaitable<void> reset_mid_body(tcp::socket s) {
  co_await read_request(s);
  const std::string part =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"choices\":[{\"mess";
  boost::system::error_code ec;
  co_await asio::async_write(s, asio::buffer(part), asio::redirect_error(asio::use_awaitable, ec));
  s.set_option(asio::socket_base::linger(true, 0), ec);  // close() now sends RST
  s.close(ec);
}

// =================================================================== drip

TEST(Network, DrippingServerHitsTheDeadline) {
  raw_server s(drip);
  http::transport t(fast_options());
  const auto start = std::chrono::steady_clock::now();
  auto r = t.send(http::bhttp::verb::get, s.base_url() + "/v1/models");
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::timeout) << r.error().message;
  EXPECT_NE(r.error().message.find("127.0.0.1"), std::string::npos) << r.error().message;
  EXPECT_GE(took, 1500ms);
  EXPECT_LT(took, 8s);
}

/// Through the failover client: the deadline ends the attempt, the key is
/// reported (transient: not its fault) and stays in rotation.
template <class Server>
void expect_clean_client_failure(const Server& s, std::string_view expect_reason) {
  groq_pool gp(groq_keys());
  auto chain = keypool::make_chain(gp);
  http::transport t(fast_options());
  http::failover_options fo;
  fo.deadline = 6s;
  http::client c(chain, t, {{providers::groq::descriptor().with_base_url(s.base_url() + "/openai/v1"), {"m"}}}, fo);
  wire::chat_request req;
  req.prompt = "hello";
  auto r = c.chat(req);
  ASSERT_FALSE(r);
  EXPECT_FALSE(r.error().attempts.empty());
  for (const auto& a : r.error().attempts) {
    EXPECT_NE(a.reason.find(expect_reason), std::string::npos) << a.reason;
    expect_no_secret(a.reason, "attempt reason");
  }
  expect_no_secret(r.error().message, "failover message");
  expect_pool_intact(gp);
  EXPECT_EQ(gp.snapshot().available(), 2u);  // transport trouble never blames a key
}

TEST(Network, DrippingServerThroughTheClientLosesNoKey) {
  raw_server s(drip);
  expect_clean_client_failure(s, "timeout");
}

// ====================================================== unresolvable host

TEST(Network, UnresolvableHostIsAResolveError) {
  http::transport t(fast_options());
  const auto start = std::chrono::steady_clock::now();
  // .invalid never resolves (RFC 6761); no DNS server is needed to fail.
  auto r = t.send(http::bhttp::verb::get, "https://keypool-hardening.invalid/v1/models");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().code == http::errc::resolve_failed || r.error().code == http::errc::timeout)
      << r.error().message;
  EXPECT_NE(r.error().message.find("keypool-hardening.invalid"), std::string::npos) << r.error().message;
  EXPECT_TRUE(r.error().before_request_sent() || r.error().code == http::errc::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 8s);
}

TEST(Network, UnresolvableHostThroughTheClientLosesNoKey) {
  struct unresolvable {
    // No 8-character run of the test keys in the host: the client masks those.
    std::string base_url() const { return "https://keypool-unresolvable.invalid"; }
  };
  expect_clean_client_failure(unresolvable{}, "keypool-unresolvable.invalid");
}

// ================================================== connection reset mid-body

TEST(Network, ConnectionResetMidBodyIsAClearError) {
  raw_server s(reset_mid_body);
  http::transport t(fast_options());
  auto r = t.send(http::bhttp::verb::get, s.base_url() + "/v1/models");
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().code == http::errc::connection_closed || r.error().code == http::errc::malformed_response)
      << r.error().message;
  EXPECT_NE(r.error().message.find("127.0.0.1"), std::string::npos) << r.error().message;
}

TEST(Network, ConnectionResetThroughTheClientLosesNoKey) {
  raw_server s(reset_mid_body);
  expect_clean_client_failure(s, "127.0.0.1");
}

// ===================================================== expired certificate

/// A throwaway CA that can also issue certificates outside their validity
/// window (test_certs.hpp only issues valid ones).
struct dated_ca {
  keypool::test::certs_detail::pkey_ptr key = keypool::test::certs_detail::make_key();
  keypool::test::certs_detail::x509_ptr cert;
  std::string cert_pem;
  long serial = 1;

  dated_ca() {
    using namespace keypool::test::certs_detail;
    cert = make_cert(key.get(), "keypool hardening CA", nullptr, key.get(), serial);
    add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
    check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign (CA)");
    cert_pem = to_pem(cert.get());
  }

  /// A localhost certificate valid from now+`from` to now+`to` (seconds).
  keypool::test::pem_pair issue(long from, long to) {
    using namespace keypool::test::certs_detail;
    auto k = make_key();
    auto x = make_cert(k.get(), "localhost", cert.get(), key.get(), ++serial);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), from);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), to);
    add_ext(x.get(), cert.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x.get(), cert.get(), NID_ext_key_usage, "serverAuth");
    add_ext(x.get(), cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    check(X509_sign(x.get(), key.get(), EVP_sha256()) > 0, "X509_sign (leaf)");
    return {to_pem(x.get()), to_pem(k.get())};
  }
};

http::result<http::response> https_get(const dated_ca& ca, const keypool::test::pem_pair& leaf) {
  keypool::test::server_options so;
  so.tls = std::pair{leaf.cert, leaf.key};
  test_server s([](const received_request&) { return scripted_reply::json(R"({"ok":true})"); }, so);
  auto o = fast_options();
  o.tls.ca_pem = ca.cert_pem;
  http::transport t(o);
  return t.send(http::bhttp::verb::get, s.base_url() + "/v1/models");
}

TEST(Network, ExpiredCertificateIsRejected) {
  dated_ca ca;
  // The control: a current certificate from the same CA is accepted.
  auto ok = https_get(ca, ca.issue(-3600, 86400));
  ASSERT_TRUE(ok) << ok.error().message;
  auto r = https_get(ca, ca.issue(-2 * 86400, -86400));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::tls_failed);
  EXPECT_NE(r.error().message.find("expired"), std::string::npos) << r.error().message;
}

TEST(Network, NotYetValidCertificateIsRejected) {
  dated_ca ca;
  auto r = https_get(ca, ca.issue(86400, 2 * 86400));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, http::errc::tls_failed);
  EXPECT_NE(r.error().message.find("not yet valid"), std::string::npos) << r.error().message;
}

// ============================================== header injection, end to end

/// Whatever path a secret with CR/LF takes to the transport (an encoder
/// called directly, a header set by hand), no extra header may reach the
/// server: the request must be refused before it is written.
TEST(Network, NoHeaderInjectionReachesTheServer) {
  test_server s([](const received_request&) { return scripted_reply::json(R"({"ok":true})"); });
  http::transport t(fast_options());
  const std::string bad = "gsk_test_FAKE\r\nX-Injected: yes";
  wire::chat_request req;
  req.model = "m";
  req.prompt = "hi";
  if (auto enc = wire::openai_chat::encode(req, bad)) {
    (void)t.send(http::make_request(http::parse_url(s.base_url()).value(), std::move(*enc)));
  }
  http::bhttp::fields h;
  h.set("Authorization", "Bearer " + bad);
  (void)t.send(http::bhttp::verb::post, s.base_url() + "/v1/chat/completions", std::move(h), "{}");
  for (const auto& rq : s.requests()) EXPECT_EQ(rq.header("X-Injected"), "") << "an injected header reached the server";
}

// ======================================================= echoed secrets

/// Some gateways echo the request's credentials in their error bodies. The
/// client knows the secret it sent: it must not hand it back in a message,
/// an attempt's reason or the error's body excerpt.
TEST(Network, SecretsEchoedByTheServerNeverReachTheCaller) {
  test_server s([](const received_request& rq) {
    const std::string auth = rq.header("Authorization");
    if (auth.ends_with("0001"))  // a 2xx whose body is an error echoing the key
      return scripted_reply::json(R"({"error":{"message":"bad header: )" + auth + R"("}})", 200);
    return scripted_reply::json(
        R"({"error":{"message":"invalid header )" + auth + R"(","code":")" + auth.substr(7) + R"("}})", 400);
  });
  groq_pool gp(groq_keys());
  auto chain = keypool::make_chain(gp);
  http::transport t(fast_options());
  http::client c(chain, t, {{providers::groq::descriptor().with_base_url(s.base_url() + "/openai/v1"), {"m"}}});
  wire::chat_request req;
  req.prompt = "hello";
  for (int i = 0; i < 3; ++i) {
    auto r = c.chat(req);
    ASSERT_FALSE(r);
    expect_no_secret(r.error().message, "failover message");
    expect_no_secret(r.error().body, "failover body excerpt");
    for (const auto& a : r.error().attempts) expect_no_secret(a.reason, "attempt reason");
  }
  expect_pool_intact(gp);
}

}  // namespace

}  // namespace hardening_network_test
