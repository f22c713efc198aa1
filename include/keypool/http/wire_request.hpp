#pragma once
/// Glue between the wire codecs and the transport: an encoded request (path,
/// headers, JSON body) sent to a provider's origin.

#include <keypool/http/transport.hpp>
#include <keypool/wire/request.hpp>

namespace keypool::http {

/// A POST of `e` to `origin` (scheme, host, port; its target is replaced by
/// the encoded path, which already includes the provider's base path).
inline request make_request(const url& origin, const wire::encoded_request& e) {
  request r;
  r.method = bhttp::verb::post;
  r.url = origin;
  r.url.target = e.path;
  for (const auto& h : e.headers) r.headers.insert(h.name, h.value);
  r.body = e.body;
  return r;
}

/// Same, consuming the encoded request (saves copying a large image body).
inline request make_request(const url& origin, wire::encoded_request&& e) {
  request r;
  r.method = bhttp::verb::post;
  r.url = origin;
  r.url.target = std::move(e.path);
  for (const auto& h : e.headers) r.headers.insert(h.name, h.value);
  r.body = std::move(e.body);
  return r;
}

}  // namespace keypool::http
