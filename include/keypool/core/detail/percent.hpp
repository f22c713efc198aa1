#pragma once
/// RFC 3986 percent-decoding for the userinfo of connection URLs (REDIS_URL,
/// HTTPS_PROXY): "p%40ss%3Aw0rd" -> "p@ss:w0rd", as redis-cli, redis-py
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

/// What a '%' not followed by two hex digits ("%4", "%zz") does.
enum class bad_escape {
  keep,    ///< stays as written (curl, for proxy URLs)
  refuse,  ///< the whole text is refused (redis-cli, for REDIS_URL)
};

/// `s` with every "%XX" replaced by its byte; nullopt for a bad escape when
/// `on_bad` is refuse, so a mistyped secret is refused rather than sent as
/// written. Callers report the error without `s`, which may be a password.
inline std::optional<std::string> percent_decode(std::string_view s, bad_escape on_bad) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    const int hi = s[i] == '%' && s.size() - i >= 3 ? hex_digit_value(s[i + 1]) : -1;
    const int lo = hi >= 0 ? hex_digit_value(s[i + 2]) : -1;
    if (lo >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (s[i] == '%' && on_bad == bad_escape::refuse) {
      return std::nullopt;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace keypool::detail
