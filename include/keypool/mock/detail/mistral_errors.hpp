#pragma once
/// Mistral's error replies: a flat {"object": "error", message, type, param,
/// code}, a bare {"message": "Unauthorized"} for a bad key, 422 for a
/// malformed request.

#include <keypool/mock/detail/error_kind.hpp>
#include <keypool/mock/reply.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace keypool::mock::detail {

inline boost::json::object mistral_error_body(std::string_view message, std::string_view type,
                                              const boost::json::value& code) {
  return boost::json::object{
      {"object", "error"}, {"message", message}, {"type", type}, {"param", nullptr}, {"code", code}};
}

/// Mistral's answer to a refused request.
inline reply mistral_error_reply(error_kind k, const error_context& c, std::uint64_t request_id) {
  using enum error_kind;
  switch (k) {
    case missing_key:
    case invalid_key:
      return json_reply(401,
                        boost::json::object{{"message", "Unauthorized"}, {"request_id", std::to_string(request_id)}});
    case out_of_credit:
      return json_reply(402, mistral_error_body("Payment required", "invalid_request_error", nullptr));
    case forbidden: return json_reply(403, mistral_error_body("Forbidden", "invalid_request_error", nullptr));
    case rate_limited:
    case daily_quota:
      return with_retry_after(json_reply(429, mistral_error_body("Rate limit exceeded", "rate_limited", "1300")), c);
    case overloaded: return json_reply(503, mistral_error_body("Service unavailable", "service_unavailable", nullptr));
    case server_error:
      return json_reply(c.server_status(),
                        mistral_error_body("Internal server error", "internal_server_error", nullptr));
    case bad_request:
      return json_reply(c.bad_request_status(422), mistral_error_body(c.message, "invalid_request_error", nullptr));
    case model_retired:
    case model_not_found:
      return json_reply(400, boost::json::object{{"object", "error"},
                                                 {"message", "Invalid model: " + c.model},
                                                 {"type", "invalid_request_error"},
                                                 {"param", "model"},
                                                 {"code", "unknown_model"}});
    case no_route: return json_reply(404, boost::json::object{{"detail", "Not Found"}});
  }
  return {};
}

}  // namespace keypool::mock::detail
