#pragma once
/// HTTPS proxy settings (CONNECT tunnels) as every curl-like tool reads them:
/// HTTPS_PROXY / https_proxy for the proxy, NO_PROXY / no_proxy for the
/// exceptions. TLS runs end to end through the tunnel, so the proxy sees the
/// host name but never the API key.

#include <keypool/core/detail/ascii.hpp>
#include <keypool/core/detail/percent.hpp>
#include <keypool/http/url.hpp>

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::http {

struct proxy_options {
  /// Proxy for https:// requests, "http://host:port" (a bare "host:port" is
  /// read as http). Empty: connect directly. Plain http:// requests are never
  /// proxied (they only go to loopback unless explicitly allowed).
  std::string https_proxy{};
  /// Comma-separated hosts that bypass the proxy: "example.com" matches it and
  /// its subdomains, ".example.com" only subdomains, "*" everything. Loopback
  /// hosts always bypass it.
  std::string no_proxy{};

  /// Reads HTTPS_PROXY/https_proxy and NO_PROXY/no_proxy (lower case wins,
  /// as in curl).
  static proxy_options from_environment() {
    auto get = [](const char* lower, const char* upper) -> std::string {
      if (const char* v = std::getenv(lower); v && *v) return v;
      if (const char* v = std::getenv(upper); v && *v) return v;
      return {};
    };
    return {get("https_proxy", "HTTPS_PROXY"), get("no_proxy", "NO_PROXY")};
  }
};

/// Where the proxy is, and its credentials for Proxy-Authorization (never
/// printed).
struct proxy_endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string userinfo;  ///< "user:password", percent-decoded (as curl does)
  std::string authority() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
};

/// The proxy to use for `host`, if any; an error when the setting itself is
/// unusable (so a typo in HTTPS_PROXY does not silently bypass the proxy).
inline ::keypool::result<std::optional<proxy_endpoint>, url_error> select_proxy(const proxy_options& opts,
                                                                                std::string_view host) {
  using result_t = std::optional<proxy_endpoint>;
  if (opts.https_proxy.empty() || is_loopback_host(host)) return result_t{};
  std::string_view list = opts.no_proxy;
  while (!list.empty()) {
    const auto comma = list.find(',');
    auto entry = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    while (!entry.empty() && (entry.front() == ' ' || entry.front() == '\t')) entry.remove_prefix(1);
    while (!entry.empty() && (entry.back() == ' ' || entry.back() == '\t')) entry.remove_suffix(1);
    if (entry.empty()) continue;
    if (entry == "*") return result_t{};
    if (entry.front() == '[') {
      // "[2001:db8::1]" or "[2001:db8::1]:8443": hosts are kept without
      // brackets; the port is ignored.
      if (const auto close = entry.find(']'); close != std::string_view::npos) entry = entry.substr(1, close - 1);
    } else if (const auto colon = entry.rfind(':'); colon != std::string_view::npos && entry.find(':') == colon) {
      entry = entry.substr(0, colon);  // "host:port": the port is ignored
    }
    if (entry.empty()) continue;  // "[]", ":443"
    std::string e(entry);
    ::keypool::detail::to_lower_in_place(e);
    if (e.front() == '.') {
      if (host.size() > e.size() && host.ends_with(e)) return result_t{};
    } else if (host == e || (host.size() > e.size() && host.ends_with(e) && host[host.size() - e.size() - 1] == '.')) {
      return result_t{};
    }
  }
  std::string text = opts.https_proxy;
  if (text.find("://") == std::string::npos) text = "http://" + text;
  proxy_endpoint ep;
  const auto scheme_end = text.find("://") + 3;
  // The last '@': a password may hold an unencoded '/' (a proxy URL has no
  // use for '@' in a path).
  const auto at = text.rfind('@');
  if (at != std::string::npos && at >= scheme_end) {
    // An invalid escape is kept as written, as curl does.
    ep.userinfo = *::keypool::detail::percent_decode(std::string_view(text).substr(scheme_end, at - scheme_end),
                                                     ::keypool::detail::bad_escape::keep);
    text.erase(scheme_end, at - scheme_end + 1);
  }
  // No part of the setting is quoted: "user:secret" reads as host "user",
  // port "secret", and a typo may have cut the '@' of its userinfo.
  auto u = detail::parse_url_reason(text);
  if (!u) return ::keypool::unexpected<url_error>{{"HTTPS_PROXY: invalid proxy URL (not shown): " + u.error()}};
  if (u->scheme != scheme::http)
    return ::keypool::unexpected<url_error>{
        {"HTTPS_PROXY: only http:// proxies (CONNECT over plain TCP) are supported"}};
  ep.host = u->host;
  ep.port = u->port;  // no explicit port: 80, the http default
  return result_t{std::move(ep)};
}

}  // namespace keypool::http
