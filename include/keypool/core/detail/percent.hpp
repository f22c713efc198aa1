#pragma once
/// Strict RFC 3986 percent-decoding for the userinfo of connection URLs
/// (REDIS_URL): "p%40ss%3Aw0rd" -> "p@ss:w0rd", as redis-cli, redis-py
/// (from_url) and libcurl decode it. '+' stays '+' (that is form encoding,
/// not URL encoding). Core-level, so any layer may use it.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace keypool::detail {

/// The value of a hex digit, or -1.
constexpr int hex_digit_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// `s` with every "%XX" replaced by its byte; nullopt when a '%' is not
/// followed by two hex digits ("%4", "%zz"), so a mistyped secret is refused
/// rather than sent as written. Callers report the error without `s`, which
/// may be a password.
inline std::optional<std::string> percent_decode_strict(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (s.size() - i < 3) return std::nullopt;  // "%" or "%4" at the end
    const int hi = hex_digit_value(s[i + 1]), lo = hex_digit_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace keypool::detail
