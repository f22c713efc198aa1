#pragma once
/// Z.AI's error replies: {"error": {code, message}} with its numeric business
/// codes (1001 no key, 1113 no balance, 1302 concurrency, 1304 daily limit,
/// 1305 overload, ...), a bad key and a locked account both 401, an overload
/// 429.

#include <keypool/mock/detail/error_kind.hpp>
#include <keypool/mock/reply.hpp>

#include <boost/json/object.hpp>

#include <string_view>

namespace keypool::mock::detail {

inline boost::json::object zai_error_body(std::string_view code, std::string_view message) {
  return boost::json::object{{"error", boost::json::object{{"code", code}, {"message", message}}}};
}

/// Z.AI's answer to a refused request.
inline reply zai_error_reply(error_kind k, const error_context& c) {
  using enum error_kind;
  switch (k) {
    case missing_key:
      return json_reply(401, zai_error_body("1001", "Header中未收到Authorization参数，无法进行身份验证。"));
    case invalid_key:
      return json_reply(401, zai_error_body("1002", "Authorization Token非法，请确认Authorization Token正确传递。"));
    case out_of_credit:
      return json_reply(429, zai_error_body("1113", "Insufficient balance or no resource package. Please recharge."));
    case forbidden:
      return json_reply(401, zai_error_body("1112", "Your account has been locked. Please contact customer service."));
    case rate_limited:
      return json_reply(429, zai_error_body("1302",
                                            "High concurrency usage of this API, please reduce concurrency or contact "
                                            "customer service to increase limits"));
    case daily_quota:
      return json_reply(429, zai_error_body("1304", "The daily call limit for this API has been reached"));
    case overloaded:
      return json_reply(429,
                        zai_error_body("1305", "The service may be temporarily overloaded, please try again later"));
    case server_error: return json_reply(c.server_status(), zai_error_body("500", "Internal Error"));
    case bad_request: return json_reply(c.bad_request_status(400), zai_error_body("1214", c.message));
    case model_retired:
    case model_not_found: return json_reply(400, zai_error_body("1211", "Model does not exist: " + c.model));
    case no_route: return json_reply(404, zai_error_body("404", c.message));
  }
  return {};
}

}  // namespace keypool::mock::detail
