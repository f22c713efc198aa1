#pragma once
/// Error answers in the caller's format: OpenAI's `{"error":{...}}` for
/// /v1/chat/completions and the rest, Anthropic's `{"type":"error",...}` for
/// /v1/messages. Messages are built from provider ids, key variable names
/// and scrubbed reasons only: never a secret.

#include <keypool/http/failover.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace keypool::serve::detail {

/// The API a caller speaks (the format of its request and of our errors).
enum class api_format : std::uint8_t { openai, anthropic };

/// The error type each format uses for a status.
inline std::string_view error_type(api_format f, unsigned status) noexcept {
  const bool a = f == api_format::anthropic;
  switch (status) {
    case 401: return "authentication_error";
    case 404: return a ? "not_found_error" : "invalid_request_error";
    case 413: return a ? "request_too_large" : "invalid_request_error";
    case 429: return "rate_limit_error";
    case 501: return a ? "api_error" : "not_implemented";
    case 502: return a ? "api_error" : "upstream_error";
    case 503: return a ? "overloaded_error" : "server_error";
    default: return status >= 500 ? (a ? "api_error" : "server_error") : "invalid_request_error";
  }
}

/// The attempts as JSON: provider, model, key variable, status, outcome,
/// reason (already scrubbed).
inline boost::json::array attempts_json(std::span<const http::attempt> attempts) {
  boost::json::array out;
  for (const auto& a : attempts)
    out.push_back(boost::json::object{{"provider", a.provider},
                                      {"model", a.model},
                                      {"key", a.key_variable},
                                      {"status", a.status},
                                      {"outcome", std::string(to_string(a.outcome.kind))},
                                      {"reason", a.reason}});
  return out;
}

/// An error body; `code` may be empty, `attempts` too.
inline std::string error_body(api_format f, unsigned status, std::string_view message, std::string_view code = {},
                              std::span<const http::attempt> attempts = {}) {
  boost::json::object e{{"type", error_type(f, status)}, {"message", message}};
  if (f == api_format::openai) e["code"] = code.empty() ? boost::json::value(nullptr) : boost::json::value(code);
  if (!attempts.empty()) e["attempts"] = attempts_json(attempts);
  if (f == api_format::anthropic) return boost::json::serialize(boost::json::object{{"type", "error"}, {"error", e}});
  return boost::json::serialize(boost::json::object{{"error", e}});
}

}  // namespace keypool::serve::detail
