// TLS on the gateway's listener: a certificate made at test time, a client
// that verifies it (chain and host 127.0.0.1) gets its answers; plain HTTP
// to the TLS port is dropped without harm to the server; unusable
// certificate or key files fail listen() naming the file, never quoting
// the key.

#include "http/support/test_server.hpp"
#include "serve/support/gateway_fixture.hpp"

#include <keypool/mock/certificate.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/serve/gateway.hpp>

#include <gtest/gtest.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>

#include <filesystem>
#include <fstream>
#include <string>

// Named, so that the folder's files can share one translation unit (a unity
// build, tests/CMakeLists.txt) without their helpers colliding.
namespace serve_tls_test {
namespace {

using keypool::test::received_request;
using keypool::test::scripted_reply;
namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;
namespace bhttp = boost::beast::http;
namespace serve = keypool::serve;
namespace providers = keypool::providers;

using groq_pool = keypool::basic_pool<providers::groq>;
using mistral_pool = keypool::basic_pool<providers::mistral>;
using gateway_over_servers = keypool::test::gateway_over_servers<groq_pool, mistral_pool>;

scripted_reply ok_reply(const received_request&) { return scripted_reply::json(keypool::test::openai_ok); }

/// The certificate and key in a fresh directory, removed at the end.
struct cert_files {
  keypool::mock::generated_certificate cert = keypool::mock::generate_certificate();
  std::filesystem::path dir;
  std::filesystem::path cert_file, key_file;
  cert_files() {
    dir = std::filesystem::temp_directory_path() / ("keypool-tls-test-" + std::to_string(::getpid()) + "-" +
                                                    std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(dir);
    cert_file = dir / "cert.pem";
    key_file = dir / "key.pem";
    std::ofstream(cert_file) << cert.cert_pem;
    std::ofstream(key_file) << cert.key_pem;
  }
  ~cert_files() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  serve::gateway_options options() const {
    serve::gateway_options o;
    o.tls_cert_file = cert_file.string();
    o.tls_key_file = key_file.string();
    return o;
  }
};

/// One GET over TLS that verifies the gateway against `ca_pem`.
keypool::test::answer tls_get(std::uint16_t port, const std::string& ca_pem, const std::string& target) {
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.add_certificate_authority(asio::buffer(ca_pem));
  ctx.set_verify_mode(ssl::verify_peer);
  ssl::stream<boost::beast::tcp_stream> s(ioc, ctx);
  s.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  boost::beast::get_lowest_layer(s).expires_after(std::chrono::seconds(10));
  boost::beast::get_lowest_layer(s).connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  s.handshake(ssl::stream_base::client);
  bhttp::request<bhttp::string_body> req{bhttp::verb::get, target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  bhttp::write(s, req);
  boost::beast::flat_buffer buf;
  bhttp::response<bhttp::string_body> res;
  bhttp::read(s, buf, res);
  keypool::test::answer a;
  a.status = res.result_int();
  a.body = res.body();
  return a;
}

TEST(GatewayTls, AVerifyingClientGetsItsAnswers) {
  cert_files f;
  gateway_over_servers g(ok_reply, ok_reply, f.options());
  EXPECT_TRUE(g.gw.tls());
  const auto health = tls_get(g.port, f.cert.ca_pem, "/healthz");
  EXPECT_EQ(health.status, 200u);
  const auto page = tls_get(g.port, f.cert.ca_pem, "/");
  EXPECT_EQ(page.status, 200u);
  EXPECT_NE(page.body.find("/v1/describe"), std::string::npos);
}

TEST(GatewayTls, PlainHttpToTheTlsPortIsDroppedAndTheServerGoesOn) {
  cert_files f;
  gateway_over_servers g(ok_reply, ok_reply, f.options());
  const auto raw = keypool::test::raw_exchange(g.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(raw.find("HTTP/1.1 200"), std::string::npos) << raw;
  EXPECT_EQ(tls_get(g.port, f.cert.ca_pem, "/healthz").status, 200u);
}

TEST(GatewayTls, AClientThatDoesNotTrustTheCertificateFails) {
  cert_files f;
  gateway_over_servers g(ok_reply, ok_reply, f.options());
  const auto other = keypool::mock::generate_certificate();
  EXPECT_THROW(tls_get(g.port, other.ca_pem, "/healthz"), boost::system::system_error);
  EXPECT_EQ(tls_get(g.port, f.cert.ca_pem, "/healthz").status, 200u);
}

/// listen()'s message for these options (empty: it listened).
std::string listen_error(serve::gateway_options o) {
  try {
    gateway_over_servers g(ok_reply, ok_reply, std::move(o));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return {};
}

TEST(GatewayTls, UnusableFilesFailListenNamingTheFileNeverTheKey) {
  cert_files f;
  auto missing = f.options();
  missing.tls_cert_file = (f.dir / "absent.pem").string();
  auto e = listen_error(missing);
  EXPECT_NE(e.find("absent.pem"), std::string::npos) << e;
  EXPECT_NE(e.find("--tls-cert"), std::string::npos) << e;

  auto only_cert = f.options();
  only_cert.tls_key_file.clear();
  e = listen_error(only_cert);
  EXPECT_NE(e.find("--tls-key"), std::string::npos) << e;

  auto swapped = f.options();  // the key where the certificate should be
  swapped.tls_cert_file = f.key_file.string();
  e = listen_error(swapped);
  EXPECT_NE(e.find("key.pem"), std::string::npos) << e;
  EXPECT_NE(e.find("not a PEM certificate"), std::string::npos) << e;

  cert_files other;  // a key that belongs to another certificate
  auto mismatched = f.options();
  mismatched.tls_key_file = other.key_file.string();
  e = listen_error(mismatched);
  EXPECT_NE(e.find(other.key_file.string()), std::string::npos) << e;
  for (const auto* pem : {&f.cert.key_pem, &other.cert.key_pem}) {
    const auto body = pem->substr(pem->find('\n') + 1, 40);  // a line of key material
    EXPECT_EQ(e.find(body), std::string::npos) << "key material in the message";
  }
}

}  // namespace

}  // namespace serve_tls_test
