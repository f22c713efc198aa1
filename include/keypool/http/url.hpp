#pragma once
/// Absolute http(s) URLs as the transport needs them: scheme, host, port and
/// request target. Deliberately strict: a URL that could mean two things, or
/// that carries credentials, is rejected with a message that says why.

#include <keypool/core/detail/ascii.hpp>
#include <keypool/core/result.hpp>
#include <keypool/wire/path.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

namespace keypool::http {

enum class scheme : std::uint8_t { http, https };

constexpr std::string_view to_string(scheme s) noexcept { return s == scheme::https ? "https" : "http"; }
constexpr std::uint16_t default_port(scheme s) noexcept { return s == scheme::https ? 443 : 80; }

/// Why a URL was rejected; `message` quotes at most the start of the input
/// and never a userinfo part.
struct url_error {
  std::string message;
};

/// A parsed absolute URL. IPv6 literals are stored without brackets.
struct url {
  http::scheme scheme = http::scheme::https;
  std::string host;          ///< lower-cased; IPv6 literal without brackets
  std::uint16_t port = 443;  ///< explicit or the scheme's default
  std::string target = "/";  ///< path and query, always starting with '/'

  bool is_ipv6_literal() const noexcept { return host.find(':') != std::string::npos; }
  /// "host:port", IPv6 in brackets: how errors name the peer.
  std::string authority() const {
    std::string out = is_ipv6_literal() ? "[" + host + "]" : host;
    return out + ":" + std::to_string(port);
  }
  /// Value for the Host header: the port only when it is not the default.
  std::string host_header() const {
    std::string out = is_ipv6_literal() ? "[" + host + "]" : host;
    if (port != default_port(scheme)) out += ":" + std::to_string(port);
    return out;
  }
  std::string to_string() const { return std::string(http::to_string(scheme)) + "://" + host_header() + target; }
  friend bool operator==(const url&, const url&) = default;
};

namespace detail {

inline bool is_ipv4_literal(std::string_view h) noexcept {
  int parts = 0;
  std::size_t i = 0;
  while (i <= h.size()) {
    std::size_t j = h.find('.', i);
    if (j == std::string_view::npos) j = h.size();
    const auto part = h.substr(i, j - i);
    if (part.empty() || part.size() > 3) return false;
    unsigned v = 0;
    for (char c : part) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v > 255) return false;
    ++parts;
    i = j + 1;
  }
  return parts == 4;
}

/// What a message may show of a rejected URL: the scheme, when it is one,
/// and the host name, nothing else. Never a port or a path, nor a host
/// followed by a port that is no number (`user:secret` reads as host
/// "user", port "secret"), nor any text before the last '@'
/// (a userinfo, whose unencoded password may hold '/', '?' or '#'), nor a
/// query or fragment (a token). Without "://" the text may be anything (a
/// pasted key, "user:secret@host") and only a host after a last '@' is shown.
inline std::string quote_prefix(std::string_view s) {
  constexpr std::string_view scheme_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.";
  constexpr std::string_view host_chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._";
  constexpr auto npos = std::string_view::npos;
  const auto sep = s.find("://");
  const auto qf = s.find_first_of("?#");
  const auto at = s.rfind('@');
  const bool has_scheme = sep != npos && sep > 0 && sep <= 16 && (qf == npos || sep < qf) && (at == npos || sep < at) &&
                          s.substr(0, sep).find_first_not_of(scheme_chars) == npos;
  std::string shown;
  if (has_scheme) shown.append(s.substr(0, sep)).append("://");
  auto host_from = has_scheme ? sep + 3 : npos;
  if (at != npos) {
    // A '@' after a '?' or '#' may be a query's: what follows is no host.
    shown += "***@";
    host_from = (qf == npos || qf > at) ? at + 1 : npos;
  }
  if (host_from != npos) {
    const auto rest = s.substr(host_from);
    if (!rest.empty() && rest.front() == '[') {
      const auto end = rest.find_first_not_of("0123456789abcdefABCDEF:.", 1);
      shown.append(rest.substr(0, end != npos && rest[end] == ']' ? end + 1 : end));
    } else {
      // "user:secret" (its '@' lost) reads as host "user", port "secret":
      // a host whose port is not a number is not shown either.
      const auto end = std::min(rest.find_first_not_of(host_chars), rest.size());
      const auto port = rest.substr(end).substr(0, rest.substr(end).find_first_of("/?#"));
      if (port.empty() || port.substr(1).find_first_not_of("0123456789") == npos) shown.append(rest.substr(0, end));
    }
  }
  if (shown.empty()) return "(not shown)";
  std::string out = "'" + shown.substr(0, 80);
  if (shown.size() > 80 || shown != s) out += "...";
  return out + "'";
}

}  // namespace detail

/// "localhost" and names under ".localhost" (RFC 6761). The transport never
/// asks DNS about them: it connects to 127.0.0.1 and ::1 directly, as curl
/// does, so they are loopback whatever a resolver would answer.
inline bool is_localhost_name(std::string_view host) noexcept {
  if (host.size() < 9) return false;
  const std::string lower = ::keypool::detail::to_lower(host);
  return lower == "localhost" || lower == "localhost." || (lower.size() > 10 && lower.ends_with(".localhost")) ||
         (lower.size() > 11 && lower.ends_with(".localhost."));
}

/// Host names that can only mean this machine: localhost names (see
/// is_localhost_name), 127.0.0.0/8 and ::1. Decided on the text alone, so
/// no DNS answer can turn a remote host into a "loopback" one.
inline bool is_loopback_host(std::string_view host) noexcept {
  if (is_localhost_name(host)) return true;
  if (host == "::1" || host == "0:0:0:0:0:0:0:1") return true;
  return detail::is_ipv4_literal(host) && host.substr(0, 4) == "127.";
}

namespace detail {

/// parse_url, with the reason alone (no part of `text`) as the error.
inline ::keypool::result<url, std::string> parse_url_reason(std::string_view text) {
  using ::keypool::unexpected;
  auto fail = [](std::string why) { return unexpected<std::string>{std::move(why)}; };
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return fail("contains whitespace or a control character");
  }
  url u;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return fail("missing scheme (expected http:// or https://)");
  std::string sch(text.substr(0, sep));
  ::keypool::detail::to_lower_in_place(sch);
  if (sch == "https")
    u.scheme = scheme::https;
  else if (sch == "http")
    u.scheme = scheme::http;
  else if (sch.size() <= 16 && sch.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789+-.") == std::string::npos)
    return fail("unsupported scheme '" + sch + "' (expected http or https)");
  else  // not a scheme name at all: it may be anything, a query string included
    return fail("missing scheme (expected http:// or https://)");
  auto rest = text.substr(sep + 3);
  if (rest.find('#') != std::string_view::npos) return fail("fragments ('#') are not allowed");
  const auto path_at = rest.find_first_of("/?");
  auto authority = rest.substr(0, path_at);
  if (path_at == std::string_view::npos)
    u.target = "/";
  else if (rest[path_at] == '?')
    u.target = "/" + std::string(rest.substr(path_at));
  else
    u.target = std::string(rest.substr(path_at));
  if (authority.find('@') != std::string_view::npos)
    return fail("credentials in the URL are not allowed (use a header)");
  if (authority.empty()) return fail("empty host");
  std::string_view host, port;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return fail("unterminated IPv6 literal");
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after IPv6 literal");
      port = after.substr(1);
      if (port.empty()) return fail("empty port");
    }
    if (host.empty()) return fail("empty host");
    for (char c : host)
      if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.')) return fail("invalid IPv6 literal");
  } else {
    const auto colon = authority.rfind(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
      if (port.empty()) return fail("empty port");
    } else {
      host = authority;
    }
    if (host.empty()) return fail("empty host");
    for (char c : host)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_'))
        return fail("invalid character in host name");
  }
  if (!port.empty()) {
    unsigned v = 0;
    const auto* end = port.data() + port.size();
    const auto r = std::from_chars(port.data(), end, v);
    if (r.ec != std::errc{} || r.ptr != end || port.size() > 5 || v == 0 || v > 65535)
      return fail("port must be a number 1..65535");
    u.port = static_cast<std::uint16_t>(v);
  } else {
    u.port = default_port(u.scheme);
  }
  u.host.assign(host);
  ::keypool::detail::to_lower_in_place(u.host);
  return u;
}

}  // namespace detail

/// Parses "scheme://host[:port][/path][?query]". Rejects: other schemes,
/// userinfo ("user:pass@", credentials belong in headers), empty hosts, bad
/// ports, fragments, whitespace and control characters.
/// The error says why and shows only what detail::quote_prefix allows.
inline ::keypool::result<url, url_error> parse_url(std::string_view text) {
  auto r = detail::parse_url_reason(text);
  if (!r) return ::keypool::unexpected<url_error>{{"invalid URL " + detail::quote_prefix(text) + ": " + r.error()}};
  return std::move(*r);
}

/// The codecs' path join (wire/path.hpp), under its old name.
using wire::join_path;

}  // namespace keypool::http
