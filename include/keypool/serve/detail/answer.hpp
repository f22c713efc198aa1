#pragma once
/// One answer to a caller, before it is written: status, body, the
/// x-keypool-* facts (provider, model, key variable, attempts) and, for the
/// hook, why it failed. A streamed answer is written by the relay instead
/// and only its facts remain here.

#include <keypool/serve/detail/errors.hpp>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::serve::detail {

struct answer {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body{};
  std::vector<std::pair<std::string, std::string>> headers{};  ///< extra (Retry-After, Allow)
  std::string provider{};
  std::string model{};
  std::string key{};  ///< the key's variable name, never the key
  unsigned attempts = 0;
  std::optional<std::uint64_t> input_tokens{};   ///< the answer's usage, when it reports one
  std::optional<std::uint64_t> output_tokens{};  ///< (for the hook's record)
  std::string error{};                           ///< for the hook: why it failed (scrubbed)
  bool streamed = false;                         ///< the relay wrote it (or began to)
  bool close = false;                            ///< close the connection after it
};

/// An error answer in the caller's format.
inline answer error_answer(api_format f, unsigned status, std::string message, std::string_view code = {},
                           std::span<const http::attempt> attempts = {}) {
  answer a;
  a.status = status;
  a.body = error_body(f, status, message, code, attempts);
  a.error = std::move(message);
  return a;
}

/// A plain-text answer (health, statistics).
inline answer text_answer(unsigned status, std::string body, std::string content_type = "text/plain; charset=utf-8") {
  answer a;
  a.status = status;
  a.body = std::move(body);
  a.content_type = std::move(content_type);
  return a;
}

/// "-" for a fact that does not apply (no provider was tried).
inline std::string_view or_dash(std::string_view s) noexcept { return s.empty() ? std::string_view("-") : s; }

/// The x-keypool-* headers as raw header lines (the streamed head).
inline std::string keypool_header_lines(const answer& a) {
  return "x-keypool-provider: " + std::string(or_dash(a.provider)) +
         "\r\nx-keypool-model: " + std::string(or_dash(a.model)) + "\r\nx-keypool-key: " + std::string(or_dash(a.key)) +
         "\r\nx-keypool-attempts: " + std::to_string(a.attempts) + "\r\n";
}

/// The Beast response of a non-streamed answer.
/// Moves the body out of `a`; its facts stay (for the hook).
inline boost::beast::http::response<boost::beast::http::string_body> to_response(answer& a, unsigned version,
                                                                                 bool keep_alive) {
  namespace bhttp = boost::beast::http;
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(a.status), version};
  res.set(bhttp::field::server, "keypool");
  res.set(bhttp::field::content_type, a.content_type);
  for (auto& [n, v] : a.headers) res.insert(n, v);
  res.set("x-keypool-provider", or_dash(a.provider));
  res.set("x-keypool-model", or_dash(a.model));
  res.set("x-keypool-key", or_dash(a.key));
  res.set("x-keypool-attempts", std::to_string(a.attempts));
  res.body() = std::move(a.body);
  res.keep_alive(keep_alive && !a.close);
  res.prepare_payload();
  return res;
}

}  // namespace keypool::serve::detail
