#pragma once
/// What the failover-client suites (client_test, spend_test) build their
/// clients from: fake keys, short transport timeouts, a vision request.

#include <keypool/core/key.hpp>
#include <keypool/http/transport.hpp>
#include <keypool/wire/request.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace keypool::test {

/// PREFIX_API_KEY_1..n with obviously fake secrets.
inline std::vector<key_spec> keys(const char* prefix, int n) {
  std::vector<key_spec> out;
  for (int i = 1; i <= n; ++i)
    out.push_back({std::string(prefix) + "_API_KEY_" + std::to_string(i),
                   "test-fake-" + std::string(prefix) + "-" + std::to_string(i)});
  return out;
}

/// Loopback timeouts (a hung test fails in seconds) and no proxy from the
/// environment.
inline http::transport_options fast_options() {
  using namespace std::chrono_literals;
  http::transport_options o;
  o.connect_timeout = 2s;
  o.read_timeout = 5s;
  o.proxy = http::proxy_options{};
  return o;
}

/// A prompt with one (fake) PNG.
inline wire::chat_request vision() {
  wire::chat_request r;
  r.prompt = "what is this?";
  r.images.push_back({"\x89PNG fake", "image/png"});
  return r;
}

}  // namespace keypool::test
