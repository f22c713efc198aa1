#pragma once
/// Typed transport errors. Every message names the peer as host:port and the
/// phase that failed; none ever contains a request header (so never an
/// Authorization value or API key).

#include <keypool/core/result.hpp>

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace keypool::http {

enum class errc : std::uint8_t {
  invalid_url,            ///< the URL could not be parsed
  invalid_request,        ///< a header name or value holds CR, LF or NUL (header injection)
  insecure_http_refused,  ///< plain http:// to a non-loopback host without allow_insecure_http
  resolve_failed,         ///< DNS lookup failed
  connect_failed,         ///< TCP connect (or proxy CONNECT) failed
  proxy_failed,           ///< the proxy refused or broke the CONNECT tunnel
  tls_failed,             ///< TLS handshake or certificate verification failed
  timeout,                ///< a connect, read or total deadline passed
  pool_exhausted,         ///< no connection slot to the host freed up in time
  write_failed,           ///< sending the request failed
  connection_closed,      ///< the peer closed the connection before a full response
  body_too_large,         ///< the response exceeded max_response_bytes
  malformed_response,     ///< not valid HTTP/1.1
  cancelled,              ///< the operation was cancelled
  internal,               ///< an unexpected exception inside the transport (e.g. out of memory)
};

constexpr std::string_view to_string(errc e) noexcept {
  switch (e) {
    case errc::invalid_url: return "invalid_url";
    case errc::invalid_request: return "invalid_request";
    case errc::insecure_http_refused: return "insecure_http_refused";
    case errc::resolve_failed: return "resolve_failed";
    case errc::connect_failed: return "connect_failed";
    case errc::proxy_failed: return "proxy_failed";
    case errc::tls_failed: return "tls_failed";
    case errc::timeout: return "timeout";
    case errc::pool_exhausted: return "pool_exhausted";
    case errc::write_failed: return "write_failed";
    case errc::connection_closed: return "connection_closed";
    case errc::body_too_large: return "body_too_large";
    case errc::malformed_response: return "malformed_response";
    case errc::cancelled: return "cancelled";
    case errc::internal: return "internal";
  }
  return "unknown";
}

/// A failed exchange: what kind, a human message ("timeout: no response from
/// api.groq.com:443 within 30000 ms"), and the lower-level cause if any.
struct error {
  errc code = errc::connect_failed;
  std::string message;
  boost::system::error_code cause{};

  /// True when nothing reached the provider in a way that could have been
  /// processed, so another key or provider may be tried without risk of a
  /// duplicate request.
  bool before_request_sent() const noexcept {
    switch (code) {
      case errc::invalid_url:
      case errc::invalid_request:
      case errc::insecure_http_refused:
      case errc::resolve_failed:
      case errc::connect_failed:
      case errc::proxy_failed:
      case errc::tls_failed:
      case errc::pool_exhausted: return true;
      default: return false;
    }
  }
};

template <class T>
using result = ::keypool::result<T, error>;

}  // namespace keypool::http
