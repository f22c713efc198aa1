#pragma once
/// The gateway-key check: the key a caller presents (`Authorization:
/// Bearer <key>` or `x-api-key: <key>`) against the configured gateway keys,
/// in time independent of where the first difference is.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::serve::detail {

/// a == b in time that depends on the lengths only (no early exit on the
/// first differing byte).
inline bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0u;
    const auto y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0u;
    diff |= x ^ y;
  }
  return diff == 0;
}

/// The key a caller presented: the Bearer token of `authorization`, else
/// `x_api_key`.
inline std::optional<std::string_view> presented_key(std::optional<std::string_view> authorization,
                                                     std::optional<std::string_view> x_api_key) noexcept {
  if (authorization) {
    auto v = *authorization;
    constexpr std::string_view bearer = "Bearer ";
    if (v.size() > bearer.size() && (v.substr(0, bearer.size()) == bearer || v.substr(0, bearer.size()) == "bearer "))
      return v.substr(bearer.size());
  }
  if (x_api_key && !x_api_key->empty()) return *x_api_key;
  return std::nullopt;
}

/// True when no key is configured or `presented` matches one. Every
/// configured key is compared, whatever matched.
inline bool key_accepted(const std::vector<std::string>& keys, std::optional<std::string_view> presented) noexcept {
  if (keys.empty()) return true;
  if (!presented) return false;
  bool ok = false;
  for (const auto& k : keys) ok = constant_time_equal(k, *presented) || ok;
  return ok;
}

}  // namespace keypool::serve::detail
