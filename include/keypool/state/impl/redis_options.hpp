#pragma once
/// Out-of-line bodies of state/redis_options.hpp: redis_options::from_url,
/// one helper per part of the URL.

#include <keypool/core/detail/percent.hpp>
#include <keypool/state/detail/redis_tls.hpp>
#include <keypool/state/redis_options.hpp>

#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace keypool::state::detail {

inline redis_url_error url_error(const std::string& why) { return redis_url_error("Redis URL: " + why); }

/// A whole decimal number in [lo, hi], or empty.
inline std::optional<int> url_number(std::string_view text, int lo, int hi) {
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v < lo || v > hi) return std::nullopt;
  return v;
}

/// Removes "[user]:password@" from the front of `url` into `base`.
inline void take_url_userinfo(std::string_view& url, redis_options& base) {
  // The last '@' ends the userinfo (as urlparse, which redis-py uses): an
  // unencoded '@' in a password still works. The first ':' splits user from
  // password; both are percent-decoded after the split, so "%3A" and "%40"
  // are literal ':' and '@'. A bad escape names the part, never its text.
  const auto at = url.rfind('@');
  if (at == std::string_view::npos) return;
  const auto userinfo = url.substr(0, at);
  url.remove_prefix(at + 1);
  const auto decode = [&](std::string_view part, const char* what) {
    auto v = ::keypool::detail::percent_decode(part, ::keypool::detail::bad_escape::refuse);
    if (!v)
      throw url_error(std::string("malformed percent-encoding in the ") + what +
                      " (every '%' must be followed by two hex digits; write '%' itself as %25)");
    return std::move(*v);
  };
  const auto colon = userinfo.find(':');
  if (colon != std::string_view::npos) base.username = decode(userinfo.substr(0, colon), "username");
  base.password = decode(colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1), "password");
}

/// Removes "/db" from the end of `url` into `base`.
inline void take_url_database(std::string_view& url, redis_options& base) {
  const auto slash = url.find('/');
  if (slash == std::string_view::npos) return;
  const auto db = url.substr(slash + 1);
  url = url.substr(0, slash);
  if (db.empty()) return;
  const auto v = url_number(db, 0, 65535);
  // Not quoted: a misplaced password or a "?password=" query lands here.
  if (!v) throw url_error("bad database number after '/' (expected 0..65535; the text is not shown)");
  base.database = *v;
}

/// Splits "host[:port]" or "[IPv6][:port]" into host and port (empty when
/// not given).
inline std::pair<std::string_view, std::string_view> split_url_host_port(std::string_view url) {
  std::string_view host = url, port;
  if (url.starts_with('[')) {  // [IPv6]:port
    const auto close = url.find(']');
    if (close == std::string_view::npos) throw url_error("unterminated IPv6 address");
    host = url.substr(1, close - 1);
    const auto rest = url.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') throw url_error("unexpected text after the IPv6 address");
    if (!rest.empty()) port = rest.substr(1);
    if (rest == ":") throw url_error("empty port");
  } else if (const auto colon = url.rfind(':'); colon != std::string_view::npos) {
    host = url.substr(0, colon);
    port = url.substr(colon + 1);
    if (port.empty()) throw url_error("empty port");
  }
  return {host, port};
}

}  // namespace keypool::state::detail

namespace keypool::state {

inline redis_options redis_options::from_url(std::string_view url, redis_options base) {
  using detail::url_error;
  if (url.starts_with("rediss://")) {
    if (!KEYPOOL_REDIS_TLS) throw url_error("rediss:// (TLS) needs keypool built with OpenSSL (KEYPOOL_REDIS_TLS)");
    url.remove_prefix(9);
    base.tls = true;
  } else if (url.starts_with("redis://")) {
    url.remove_prefix(8);
  } else if (url.find("://") != std::string_view::npos) {
    throw url_error("unsupported scheme (expected redis:// or rediss://)");
  }
  detail::take_url_userinfo(url, base);
  detail::take_url_database(url, base);
  const auto [host, port] = detail::split_url_host_port(url);
  if (!port.empty()) {
    const auto v = detail::url_number(port, 1, 65535);
    // Not quoted: "redis://user:password" without '@host' puts the password
    // here.
    if (!v)
      throw url_error(
          "bad port (expected 1..65535; the text is not shown, as a password without a following '@host' lands "
          "there)");
    base.port = *v;
  }
  for (const char ch : host) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) throw url_error("the host contains whitespace or a control character");
  }
  if (!host.empty()) base.host = std::string(host);
  return base;
}

}  // namespace keypool::state
