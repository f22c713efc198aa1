#pragma once
/// A certificate for the mock fleet's HTTPS listener, made in memory when the
/// fleet starts: a throwaway CA (EC P-256, SHA-256, valid one day) and a
/// server certificate it signs for DNS:localhost and IP:127.0.0.1. Clients
/// trust `ca_pem` (http::tls_options::ca_pem, or a file for the CLI's
/// --ca-file). Nothing is written to disk unless the caller does it.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace keypool::mock {

struct generated_certificate {
  std::string ca_pem;    ///< the CA certificate (public): what clients trust
  std::string cert_pem;  ///< the server certificate chain
  std::string key_pem;   ///< the server's private key (PKCS#8)
};

namespace detail {

struct pkey_deleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct x509_deleter {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
struct bio_deleter {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};

inline void ossl_check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("mock certificate generation failed: ") + what);
}

inline void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value);
  ossl_check(ext != nullptr, value);
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  ossl_check(ok == 1, "X509_add_ext");
}

inline std::unique_ptr<X509, x509_deleter> new_cert(EVP_PKEY* key, const char* cn, X509* issuer, long serial) {
  std::unique_ptr<X509, x509_deleter> x(X509_new());
  ossl_check(x != nullptr, "X509_new");
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("keypool mock fleet"), -1,
                             -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  return x;
}

template <class F>
std::string pem_of(F&& write) {
  std::unique_ptr<BIO, bio_deleter> b(BIO_new(BIO_s_mem()));
  ossl_check(b != nullptr && write(b.get()) == 1, "PEM_write");
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(b.get(), &mem);
  return std::string(mem->data, mem->length);
}

}  // namespace detail

/// Makes a fresh CA and a localhost server certificate. Throws
/// std::runtime_error if OpenSSL fails.
inline generated_certificate generate_certificate() {
  using namespace detail;
  std::unique_ptr<EVP_PKEY, pkey_deleter> ca_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  std::unique_ptr<EVP_PKEY, pkey_deleter> key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ossl_check(ca_key && key, "EVP_PKEY_Q_keygen");
  auto ca = new_cert(ca_key.get(), "keypool mock CA", nullptr, 1);
  add_extension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  ossl_check(X509_sign(ca.get(), ca_key.get(), EVP_sha256()) > 0, "X509_sign (CA)");

  auto leaf = new_cert(key.get(), "localhost", ca.get(), 2);
  add_extension(leaf.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(leaf.get(), ca.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(leaf.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  add_extension(leaf.get(), ca.get(), NID_subject_key_identifier, "hash");
  add_extension(leaf.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  add_extension(leaf.get(), ca.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  ossl_check(X509_sign(leaf.get(), ca_key.get(), EVP_sha256()) > 0, "X509_sign (server)");

  generated_certificate out;
  out.ca_pem = pem_of([&](BIO* b) { return PEM_write_bio_X509(b, ca.get()); });
  out.cert_pem = pem_of([&](BIO* b) { return PEM_write_bio_X509(b, leaf.get()); });
  out.key_pem =
      pem_of([&](BIO* b) { return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr); });
  return out;
}

}  // namespace keypool::mock
