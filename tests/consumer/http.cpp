// Uses only what keypool::http propagates: keypool::json and OpenSSL.
#include <openssl/evp.h>
#include <boost/json.hpp>

int main() {
  auto const value = boost::json::parse(R"({"ok":true})");
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest("abc", 3, digest, &length, EVP_sha256(), nullptr) != 1) return 1;
  return value.at("ok").as_bool() && length == 32 ? 0 : 1;
}
