#pragma once
/// NVIDIA's error replies: RFC 9457 problem details ({status, title,
/// detail}, the title being the status's reason phrase), a plain-text 401
/// from its gateway for a missing or malformed token, 422 "Validation failed"
/// for a malformed request.

#include <keypool/http/status_text.hpp>
#include <keypool/mock/detail/error_kind.hpp>
#include <keypool/mock/reply.hpp>

#include <boost/json/object.hpp>

#include <string_view>

namespace keypool::mock::detail {

inline boost::json::object nvidia_problem(unsigned status, std::string_view detail = {}) {
  boost::json::object o{{"status", status}, {"title", http::status_text(status)}};
  if (!detail.empty()) o["detail"] = detail;
  return o;
}

/// A missing or malformed token is stopped by the gateway (401, plain text);
/// a well-formed unknown one by the API (403, problem details).
inline reply nvidia_bad_key(error_kind k, const error_context& c) {
  if (k != error_kind::missing_key && !c.malformed_token)
    return json_reply(403, nvidia_problem(403, "Authorization failed"));
  reply r;
  r.status = 401;
  r.body = "Unauthorized";
  r.content_type = "text/plain";
  r.headers.emplace_back("www-authenticate",
                         R"(Bearer error="invalid_token", error_description="Bearer token is malformed")");
  return r;
}

/// NVIDIA's answer to a refused request.
inline reply nvidia_error_reply(error_kind k, const error_context& c) {
  using enum error_kind;
  switch (k) {
    case missing_key:
    case invalid_key: return nvidia_bad_key(k, c);
    case out_of_credit: return json_reply(402, nvidia_problem(402, "Account credits exhausted"));
    case forbidden: return json_reply(403, nvidia_problem(403, "Account suspended"));
    case rate_limited:
    case daily_quota: return json_reply(429, nvidia_problem(429));
    case overloaded: return json_reply(503, nvidia_problem(503, "The service is temporarily overloaded"));
    case server_error: {
      // Whatever status is injected (a burst's 502 and 503 too), the title
      // stays the one of a 500.
      boost::json::object o{{"status", c.server_status()}, {"title", http::status_text(500)}};
      return json_reply(c.server_status(), o);
    }
    case bad_request:
      return json_reply(c.bad_request_status(422),
                        boost::json::object{{"type", "urn:kaizen:problem-details:validation-failed"},
                                            {"title", "Validation failed"},
                                            {"status", c.bad_request_status(422)},
                                            {"detail", c.message}});
    case model_retired:
    case model_not_found:
      return json_reply(404, boost::json::object{{"detail",
                                                  "Function '00000000-0000-4000-8000-00000000mock': Not found for "
                                                  "account 'mock-account'"}});
    case no_route: return json_reply(404, boost::json::object{{"detail", "Not Found"}});
  }
  return {};
}

}  // namespace keypool::mock::detail
