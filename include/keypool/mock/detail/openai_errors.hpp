#pragma once
/// OpenAI's error replies ({"error": {message, type, param, code}}), and
/// Groq's, which follow OpenAI's with their own words for a rate limit, a
/// bad key, an overload and a retired model.

#include <keypool/mock/detail/error_kind.hpp>
#include <keypool/mock/detail/text.hpp>
#include <keypool/mock/reply.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace keypool::mock::detail {

inline boost::json::object openai_error_body(std::string_view message, std::string_view type,
                                             const boost::json::value& code, std::string_view param = {}) {
  boost::json::value p = nullptr;
  if (!param.empty()) p = param;
  return boost::json::object{
      {"error", boost::json::object{{"message", message}, {"type", type}, {"param", std::move(p)}, {"code", code}}}};
}

/// "Rate limit reached for <model> in organization ... Please try again in 6.5s."
inline std::string openai_rate_limit_message(const error_context& c, bool day, bool groq) {
  const std::string org = groq ? "`org_mock`" : "org-mock";
  return (groq ? "Rate limit reached for model `" + c.model + "` in organization " + org +
                     " service tier `on_demand` on "
               : "Rate limit reached for " + c.model + " in organization " + org + " on ") +
         (day ? "requests per day (RPD)" : "requests per min (RPM)") + ": Limit " + std::to_string(c.limit) +
         ", Used " + std::to_string(c.limit) + ", Requested 1. Please try again in " + go_duration(c.retry) + ".";
}

inline reply openai_rate_limited(const error_context& c, bool day, bool groq) {
  reply r =
      json_reply(429, openai_error_body(openai_rate_limit_message(c, day, groq), "requests", "rate_limit_exceeded"));
  return groq || day ? with_retry_after(std::move(r), c) : r;  // OpenAI itself relies on x-ratelimit-reset-*
}

inline reply openai_bad_key(const error_context& c, bool groq) {
  if (groq)
    return json_reply(401, boost::json::object{{"error", boost::json::object{{"message", "Invalid API Key"},
                                                                             {"type", "invalid_request_error"},
                                                                             {"code", "invalid_api_key"}}}});
  return json_reply(401, openai_error_body("Incorrect API key provided: " + c.redacted +
                                               ". You can find your API key at "
                                               "https://platform.openai.com/account/api-keys.",
                                           "invalid_request_error", "invalid_api_key"));
}

inline reply openai_overloaded(bool groq) {
  if (groq)
    return json_reply(503, boost::json::object{{"error", boost::json::object{{"message", "Service Unavailable"},
                                                                             {"type", "internal_server_error"}}}});
  return json_reply(
      503, openai_error_body("The engine is currently overloaded, please try again later", "server_error", nullptr));
}

inline reply openai_unknown_model(const error_context& c, bool retired, bool groq) {
  if (retired && groq)
    return json_reply(400, openai_error_body("The model `" + c.model +
                                                 "` has been decommissioned and is no longer supported. Please refer "
                                                 "to https://console.groq.com/docs/deprecations for a recommendation "
                                                 "on which model to use instead.",
                                             "invalid_request_error", "model_decommissioned"));
  return json_reply(404,
                    openai_error_body("The model `" + c.model + "` does not exist or you do not have access to it.",
                                      "invalid_request_error", "model_not_found"));
}

/// OpenAI's answer (Groq's with `groq`) to a refused request.
inline reply openai_error_reply(error_kind k, const error_context& c, bool groq) {
  using enum error_kind;
  switch (k) {
    case missing_key:
      return json_reply(401, openai_error_body("You didn't provide an API key. You need to provide your API key in an "
                                               "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                                               "YOUR_KEY).",
                                               "invalid_request_error", nullptr));
    case invalid_key: return openai_bad_key(c, groq);
    case out_of_credit:
      return json_reply(429, openai_error_body("You exceeded your current quota, please check your plan and billing "
                                               "details. For more information on this error, read the docs: "
                                               "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                                               "insufficient_quota", "insufficient_quota"));
    case forbidden:
      return json_reply(403, openai_error_body("Country, region, or territory not supported", "request_forbidden",
                                               "unsupported_country_region_territory"));
    case rate_limited:
    case daily_quota: return openai_rate_limited(c, k == daily_quota, groq);
    case overloaded: return openai_overloaded(groq);
    case server_error:
      return json_reply(c.server_status(),
                        openai_error_body("The server had an error while processing your request. Sorry about that!",
                                          "server_error", nullptr));
    case bad_request:
      return json_reply(c.bad_request_status(400),
                        openai_error_body(c.message, "invalid_request_error", nullptr, c.param));
    case model_retired:
    case model_not_found: return openai_unknown_model(c, k == model_retired, groq);
    case no_route: return json_reply(404, openai_error_body(c.message, "invalid_request_error", nullptr));
  }
  return {};
}

}  // namespace keypool::mock::detail
