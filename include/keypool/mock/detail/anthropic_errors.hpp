#pragma once
/// Anthropic's error replies ({"type": "error", "error": {type, message},
/// "request_id"}): 402 for billing, 529 for an overload, and Retry-After on
/// every rate limit (its absence means a spend cap).

#include <keypool/mock/detail/error_kind.hpp>
#include <keypool/mock/reply.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace keypool::mock::detail {

inline boost::json::object anthropic_error_body(std::string_view type, std::string_view message, std::uint64_t id) {
  return boost::json::object{{"type", "error"},
                             {"error", boost::json::object{{"type", type}, {"message", message}}},
                             {"request_id", "req_mock_" + std::to_string(id)}};
}

/// Anthropic's answer to a refused request.
inline reply anthropic_error_reply(error_kind k, const error_context& c, std::uint64_t id) {
  using enum error_kind;
  switch (k) {
    case missing_key:
      return json_reply(401, anthropic_error_body("authentication_error", "x-api-key header is required", id));
    case invalid_key: return json_reply(401, anthropic_error_body("authentication_error", "invalid x-api-key", id));
    case out_of_credit:
      return json_reply(402, anthropic_error_body("billing_error",
                                                  "Your credit balance is too low to access the Anthropic API. Please "
                                                  "go to Plans & Billing to upgrade or purchase credits.",
                                                  id));
    case forbidden:
      return json_reply(
          403, anthropic_error_body("permission_error",
                                    "Your API key does not have permission to use the specified resource.", id));
    case rate_limited:
    case daily_quota:
      return with_retry_after(
          json_reply(429, anthropic_error_body("rate_limit_error",
                                               "This request would exceed your organization's rate limit of " +
                                                   std::to_string(c.limit) + " requests per " +
                                                   (k == daily_quota ? "day" : "minute") + ".",
                                               id)),
          c);
    case overloaded: return json_reply(529, anthropic_error_body("overloaded_error", "Overloaded", id));
    case server_error:
      return json_reply(c.server_status(), anthropic_error_body("api_error", "Internal server error", id));
    case bad_request:
      return json_reply(c.bad_request_status(400), anthropic_error_body("invalid_request_error", c.message, id));
    case model_retired:
    case model_not_found: return json_reply(404, anthropic_error_body("not_found_error", "model: " + c.model, id));
    case no_route: return json_reply(404, anthropic_error_body("not_found_error", c.message, id));
  }
  return {};
}

}  // namespace keypool::mock::detail
