#pragma once
/// Gemini's error replies, in Google's RPC form ({"error": {code, message,
/// status, details}}): 403 PERMISSION_DENIED without a key, 400
/// API_KEY_INVALID for a bad one, 429 RESOURCE_EXHAUSTED with QuotaFailure
/// and RetryInfo details for limits and depleted credits alike.

#include <keypool/mock/detail/error_kind.hpp>
#include <keypool/mock/detail/text.hpp>
#include <keypool/mock/reply.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace keypool::mock::detail {

inline boost::json::object gemini_error_body(unsigned code, std::string_view status, std::string_view message,
                                             boost::json::array details = {}) {
  boost::json::object e{{"code", code}, {"message", message}, {"status", status}};
  if (!details.empty()) e["details"] = std::move(details);
  return boost::json::object{{"error", std::move(e)}};
}

inline reply gemini_invalid_key() {
  return json_reply(
      400,
      gemini_error_body(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                        boost::json::array{boost::json::object{
                            {"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
                            {"reason", "API_KEY_INVALID"},
                            {"domain", "googleapis.com"},
                            {"metadata", boost::json::object{{"service", "generativelanguage.googleapis.com"}}}}}));
}

/// A per-minute or per-day quota: which quota, and when to retry.
inline reply gemini_quota_exceeded(const error_context& c, bool day) {
  namespace json = boost::json;
  const std::string quota = day ? "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
                                : "GenerateRequestsPerMinutePerProjectPerModel-FreeTier";
  json::object violation{{"quotaMetric", "generativelanguage.googleapis.com/generate_content_free_tier_requests"},
                         {"quotaId", quota},
                         {"quotaDimensions", json::object{{"location", "global"}, {"model", c.model}}},
                         {"quotaValue", std::to_string(c.limit)}};
  json::array details{json::object{{"@type", "type.googleapis.com/google.rpc.QuotaFailure"},
                                   {"violations", json::array{std::move(violation)}}},
                      json::object{{"@type", "type.googleapis.com/google.rpc.RetryInfo"},
                                   {"retryDelay", std::to_string(ceil_seconds(c.retry)) + "s"}}};
  return json_reply(429, gemini_error_body(429, "RESOURCE_EXHAUSTED",
                                           "You exceeded your current quota, please check your plan and billing "
                                           "details.",
                                           std::move(details)));
}

/// Gemini's answer to a refused request.
inline reply gemini_error_reply(error_kind k, const error_context& c) {
  using enum error_kind;
  switch (k) {
    case missing_key:
      return json_reply(403, gemini_error_body(403, "PERMISSION_DENIED",
                                               "Method doesn't allow unregistered callers (callers without "
                                               "established identity). Please use API Key or other form of API "
                                               "consumer identity to call this API."));
    case invalid_key: return gemini_invalid_key();
    case out_of_credit:
      // Gemini has no "no credit" status of its own: depleted prepaid
      // credits come back as RESOURCE_EXHAUSTED.
      return json_reply(429, gemini_error_body(429, "RESOURCE_EXHAUSTED",
                                               "Your prepayment credits are depleted. Please go to AI Studio at "
                                               "https://ai.studio/projects to manage your project and billing."));
    case forbidden:
      return json_reply(403,
                        gemini_error_body(403, "PERMISSION_DENIED", "Permission denied: Consumer has been suspended."));
    case rate_limited:
    case daily_quota: return gemini_quota_exceeded(c, k == daily_quota);
    case overloaded:
      return json_reply(503, gemini_error_body(503, "UNAVAILABLE", "The model is overloaded. Please try again later."));
    case server_error:
      return json_reply(c.server_status(),
                        gemini_error_body(c.server_status(), c.server_status() == 503 ? "UNAVAILABLE" : "INTERNAL",
                                          "An internal error has occurred. Please retry or report in "
                                          "https://developers.generativeai.google/guide/troubleshooting"));
    case bad_request:
      return json_reply(c.bad_request_status(400),
                        gemini_error_body(c.bad_request_status(400), "INVALID_ARGUMENT", c.message));
    case model_retired:
    case model_not_found:
      return json_reply(404, gemini_error_body(404, "NOT_FOUND",
                                               "models/" + c.model +
                                                   " is not found for API version v1beta, or is not supported for "
                                                   "generateContent. Call ListModels to see the list of available "
                                                   "models and their supported methods."));
    case no_route: return json_reply(404, gemini_error_body(404, "NOT_FOUND", c.message));
  }
  return {};
}

}  // namespace keypool::mock::detail
