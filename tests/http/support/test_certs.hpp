#pragma once
/// A throwaway certificate authority created in memory when a test runs:
/// EC P-256 keys, SHA-256 signatures, one-day validity. Nothing is ever
/// written to the repository; tests that need a CA file write the CA
/// certificate (public) to a temporary file.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace keypool::test {

struct pem_pair {
  std::string cert;  ///< PEM certificate
  std::string key;   ///< PEM private key (PKCS#8)
};

namespace certs_detail {

struct pkey_free {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct x509_free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
struct bio_free {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

inline void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate generation failed: ") + what);
}

inline pkey_ptr make_key() {
  pkey_ptr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  check(k != nullptr, "EVP_PKEY_Q_keygen");
  return k;
}

inline void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value);
  check(ext != nullptr, value);
  check(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

inline x509_ptr make_cert(EVP_PKEY* subject_key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
                          long serial) {
  x509_ptr x(X509_new());
  check(x != nullptr, "X509_new");
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400);
  X509_set_pubkey(x.get(), subject_key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("keypool tests"), -1, -1,
                             0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  (void)issuer_key;
  return x;
}

inline std::string to_pem(X509* x) {
  std::unique_ptr<BIO, bio_free> b(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_X509(b.get(), x) == 1, "PEM_write_bio_X509");
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(b.get(), &mem);
  return std::string(mem->data, mem->length);
}

inline std::string to_pem(EVP_PKEY* k) {
  std::unique_ptr<BIO, bio_free> b(BIO_new(BIO_s_mem()));
  check(PEM_write_bio_PrivateKey(b.get(), k, nullptr, nullptr, 0, nullptr, nullptr) == 1, "PEM_write_bio_PrivateKey");
  BUF_MEM* mem = nullptr;
  BIO_get_mem_ptr(b.get(), &mem);
  return std::string(mem->data, mem->length);
}

}  // namespace certs_detail

/// A CA that issues server certificates for the test server.
class test_ca {
 public:
  explicit test_ca(const std::string& cn = "keypool test CA") : key_(certs_detail::make_key()) {
    using namespace certs_detail;
    cert_ = make_cert(key_.get(), cn, nullptr, key_.get(), 1);
    add_ext(cert_.get(), cert_.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert_.get(), cert_.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
    add_ext(cert_.get(), cert_.get(), NID_subject_key_identifier, "hash");
    check(X509_sign(cert_.get(), key_.get(), EVP_sha256()) > 0, "X509_sign (CA)");
    cert_pem_ = to_pem(cert_.get());
  }

  /// The CA certificate (public; what a client trusts).
  const std::string& cert_pem() const noexcept { return cert_pem_; }

  /// A server certificate for the given subjectAltName entries, e.g.
  /// {"DNS:localhost", "IP:127.0.0.1"}.
  pem_pair issue(const std::vector<std::string>& alt_names, const std::string& cn = "keypool test server") {
    using namespace certs_detail;
    auto key = make_key();
    auto x = make_cert(key.get(), cn, cert_.get(), key_.get(), ++serial_);
    add_ext(x.get(), cert_.get(), NID_basic_constraints, "critical,CA:FALSE");
    add_ext(x.get(), cert_.get(), NID_key_usage, "critical,digitalSignature");
    add_ext(x.get(), cert_.get(), NID_ext_key_usage, "serverAuth");
    add_ext(x.get(), cert_.get(), NID_subject_key_identifier, "hash");
    add_ext(x.get(), cert_.get(), NID_authority_key_identifier, "keyid:always");
    std::string san;
    for (const auto& n : alt_names) san += (san.empty() ? "" : ",") + n;
    if (!san.empty()) add_ext(x.get(), cert_.get(), NID_subject_alt_name, san.c_str());
    check(X509_sign(x.get(), key_.get(), EVP_sha256()) > 0, "X509_sign (leaf)");
    return {to_pem(x.get()), to_pem(key.get())};
  }

 private:
  certs_detail::pkey_ptr key_;
  certs_detail::x509_ptr cert_;
  std::string cert_pem_;
  long serial_ = 1;
};

}  // namespace keypool::test
