#pragma once
/// TLS client configuration done right by default: TLS 1.2 or later, the peer
/// certificate verified against OpenSSL's default verify paths (so
/// SSL_CERT_FILE / SSL_CERT_DIR work as in every OpenSSL program), SNI, and
/// the host name (or IP address) checked against the certificate by OpenSSL
/// itself during the handshake.

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace keypool::http {

namespace ssl = boost::asio::ssl;

struct tls_options {
  /// Verify the server certificate and host name. Turning this off makes
  /// TLS encrypt-only: anyone on the path can read the API key.
  bool verify_peer = true;
  /// Trust the system store via OpenSSL's default verify paths.
  bool use_default_verify_paths = true;
  /// Additional trusted CA certificates, PEM file (e.g. a corporate proxy CA).
  std::string ca_file{};
  /// Additional trusted CA certificates, PEM text (tests, embedded bundles).
  std::string ca_pem{};
};

/// A TLS configuration that cannot be used (missing CA file, bad PEM). Thrown
/// at construction time, never on a request path.
class tls_config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

inline std::string openssl_error_text(unsigned long e) {
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

inline bool is_ip_literal(std::string_view host) {
  if (host.find(':') != std::string_view::npos) return true;  // IPv6
  if (host.empty()) return false;
  for (char c : host)
    if (!((c >= '0' && c <= '9') || c == '.')) return false;
  return true;
}

}  // namespace detail

/// Builds a client context. Throws tls_config_error naming the file or
/// setting at fault. The context is immutable afterwards and safe to share
/// between threads and connections.
inline std::shared_ptr<ssl::context> make_tls_context(const tls_options& opts = {}) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1)
    throw tls_config_error("cannot require TLS 1.2 or later");
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  boost::system::error_code ec;
  if (opts.use_default_verify_paths) {
    ctx->set_default_verify_paths(ec);
    // Not fatal on its own: a custom CA may be all the caller needs.
  }
  if (!opts.ca_file.empty()) {
    ctx->load_verify_file(opts.ca_file, ec);
    if (ec) throw tls_config_error("cannot load CA file '" + opts.ca_file + "': " + ec.message());
  }
  if (!opts.ca_pem.empty()) {
    ctx->add_certificate_authority(boost::asio::buffer(opts.ca_pem), ec);
    if (ec) throw tls_config_error("cannot load CA certificate from PEM text: " + ec.message());
  }
  ctx->set_verify_mode(opts.verify_peer ? ssl::verify_peer : ssl::verify_none);
  return ctx;
}

/// Sets SNI (for names, never for IP literals, per RFC 6066) and asks OpenSSL
/// to check the certificate against `host` during the handshake. Call before
/// the handshake on every new connection.
inline boost::system::error_code set_peer_identity(SSL* ssl, const std::string& host) {
  ERR_clear_error();
  if (detail::is_ip_literal(host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1)
      return {static_cast<int>(ERR_get_error()), boost::asio::error::get_ssl_category()};
    return {};
  }
  if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1 || SSL_set1_host(ssl, host.c_str()) != 1)
    return {static_cast<int>(ERR_get_error()), boost::asio::error::get_ssl_category()};
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return {};
}

/// Explains a failed handshake, preferring the certificate verdict
/// ("certificate verify failed: hostname mismatch") over the bare alert.
inline std::string describe_tls_failure(SSL* ssl, const boost::system::error_code& ec) {
  const long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
  if (v != X509_V_OK) return std::string("certificate verify failed: ") + X509_verify_cert_error_string(v);
  return ec.message();
}

}  // namespace keypool::http
