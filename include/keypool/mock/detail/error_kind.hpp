#pragma once
/// Why a mock provider refuses a request, with what the refusal quotes, and
/// the reply helpers each dialect's error replies share. Each provider says
/// the same refusals in its own words: one header per error dialect
/// (openai_errors.hpp, ..., nvidia_errors.hpp), chosen in error_reply.hpp.

#include <keypool/mock/detail/text.hpp>
#include <keypool/mock/reply.hpp>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace keypool::mock::detail {

/// Every reason a mock provider can refuse a request.
enum class error_kind : std::uint8_t {
  missing_key,
  invalid_key,
  out_of_credit,
  forbidden,
  rate_limited,
  daily_quota,
  overloaded,
  server_error,
  bad_request,
  model_not_found,
  model_retired,
  no_route,
};

struct error_context {
  std::string message;  ///< bad_request, no_route
  std::string param;    ///< bad_request: the field OpenAI's error.param names (empty: null)
  std::string model;
  std::string redacted;  ///< invalid_key: the key as the provider would quote it (redacted)
  std::chrono::milliseconds retry{0};
  std::uint32_t limit = 0;
  unsigned status = 0;           ///< server_error / bad_request override
  bool malformed_token = false;  ///< NVIDIA: not an nvapi- token at all

  /// The status of an injected server error (500 unless overridden).
  unsigned server_status() const noexcept { return status ? status : 500; }
  /// The status of a bad request, `fallback` unless overridden.
  unsigned bad_request_status(unsigned fallback) const noexcept { return status ? status : fallback; }
};

/// A JSON error reply.
inline reply json_reply(unsigned status, const boost::json::value& body) {
  reply r;
  r.status = status;
  r.body = to_text(body);
  return r;
}

/// Adds Retry-After: the wait in whole seconds, rounded up.
inline reply with_retry_after(reply r, const error_context& c) {
  r.headers.emplace_back("retry-after", std::to_string(ceil_seconds(c.retry)));
  return r;
}

}  // namespace keypool::mock::detail
