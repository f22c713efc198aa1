#pragma once
/// The listener's TLS context from a PEM certificate chain and private key
/// (`gateway_options::tls_cert_file`, `tls_key_file`). Errors name the file
/// and OpenSSL's reason, never the key material.

#include <boost/asio/ssl/context.hpp>
#include <boost/system/system_error.hpp>

#include <openssl/ssl.h>

#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace keypool::serve::detail {

/// A TLS 1.2+ server context; throws std::invalid_argument naming the
/// option and file that could not be used.
inline std::unique_ptr<boost::asio::ssl::context> make_tls_context(const std::string& cert_file,
                                                                   const std::string& key_file) {
  namespace ssl = boost::asio::ssl;
  const auto fail = [](const std::string& what) { throw std::invalid_argument("keypool::serve::gateway: " + what); };
  if (cert_file.empty() != key_file.empty())
    fail(std::string("TLS needs both a certificate and a key (") +
         (cert_file.empty() ? "--tls-cert / tls_cert_file is missing)" : "--tls-key / tls_key_file is missing)"));
  for (const auto* f : {&cert_file, &key_file})
    if (!std::ifstream(*f))
      fail("cannot read " + std::string(f == &cert_file ? "TLS certificate" : "TLS private key") + " file '" + *f +
           "' (" + (f == &cert_file ? "--tls-cert" : "--tls-key") + ")");
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  try {
    ctx->use_certificate_chain_file(cert_file);
  } catch (const boost::system::system_error& e) {
    fail("TLS certificate file '" + cert_file + "' (--tls-cert) is not a PEM certificate: " + e.code().message());
  }
  try {
    ctx->use_private_key_file(key_file, ssl::context::pem);
  } catch (const boost::system::system_error& e) {
    fail("TLS private key file '" + key_file +
         "' (--tls-key) is not a PEM private key for that certificate: " + e.code().message());
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    fail("TLS private key file '" + key_file + "' (--tls-key) does not match the certificate '" + cert_file + "'");
  return ctx;
}

}  // namespace keypool::serve::detail
