#pragma once
/// The mock providers' behaviour, independent of sockets: one request
/// (method, target, headers, body) in, one reply out, exactly as the real
/// provider would answer it — its auth header, its request shape, its
/// success body, its error bodies and status codes (the ones
/// keypool::classify reads), its rate-limit headers.
///
/// Paths: the fleet serves every provider on one port, under a prefix that
/// is the provider id followed by the provider's own base path:
///   /openai/v1/chat/completions            /anthropic/v1/messages
///   /groq/openai/v1/chat/completions       /mistral/v1/chat/completions
///   /nvidia/v1/chat/completions            /zai/api/paas/v4/chat/completions
///   /google/v1beta/models/{model}:generateContent
/// so `base_path(id)` appended to the server's origin is a drop-in base URL.
///
/// Thread safety: handle() and every control function may be called from any
/// number of threads; each provider's counters sit behind its own mutex.

#include <keypool/core/detail/ascii.hpp>
#include <keypool/core/key.hpp>
#include <keypool/mock/clock.hpp>
#include <keypool/mock/config.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/providers/descriptor.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::mock {

/// How the server should deliver a reply.
enum class fault_action : std::uint8_t {
  none,      ///< a normal HTTP response
  truncate,  ///< headers announce the whole body, half of it is sent, the connection closes
  reset,     ///< no response: the connection is reset
  stall,     ///< no response for `delay`, then the connection closes
};

struct reply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
  std::string content_type = "application/json";
  std::chrono::milliseconds delay{0};  ///< latency before the answer
  fault_action action = fault_action::none;
};

/// Request headers by name (case-insensitive in the server's implementation).
using header_lookup = std::function<std::optional<std::string_view>(std::string_view)>;

/// What one mock provider answered, by category. A request counts once.
struct provider_stats {
  std::string provider;
  std::uint64_t requests = 0;
  std::uint64_t successes = 0;
  std::uint64_t rate_limited = 0;     ///< per-minute limit hit (429)
  std::uint64_t quota_exhausted = 0;  ///< per-day limit hit
  std::uint64_t auth_errors = 0;      ///< missing, unknown or revoked key
  std::uint64_t credit_errors = 0;    ///< key out of credit
  std::uint64_t forbidden = 0;
  std::uint64_t overloaded = 0;     ///< provider-wide overload
  std::uint64_t server_errors = 0;  ///< injected 5xx
  std::uint64_t bad_requests = 0;   ///< malformed request, wrong path or method, too large
  std::uint64_t model_errors = 0;   ///< unknown or retired model
  std::uint64_t faults = 0;         ///< truncated, malformed, stalled or reset
  std::uint64_t images = 0;         ///< images in well-formed requests
};

namespace detail {

namespace json = boost::json;

inline std::string to_text(const json::value& v) { return json::serialize(v); }

/// "6m0s", "12.5s", "120ms": the Go-style durations of x-ratelimit-reset-*.
inline std::string go_duration(std::chrono::milliseconds d) {
  const long long ms = std::max<long long>(d.count(), 0);
  if (ms < 1000) return std::to_string(ms) + "ms";
  if (ms < 60'000) {
    std::string s = std::to_string(ms / 1000);
    if (ms % 1000) {
      std::string frac = std::to_string(1000 + ms % 1000).substr(1);
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
      s += "." + frac;
    }
    return s + "s";
  }
  return std::to_string(ms / 60'000) + "m" + std::to_string((ms % 60'000) / 1000) + "s";
}

/// Whole seconds, rounded up, at least 1 (Retry-After).
inline long long ceil_seconds(std::chrono::milliseconds d) { return std::max<long long>((d.count() + 999) / 1000, 1); }

inline std::string rfc3339(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss hms{secs - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

/// Valid base64 (RFC 4648, padded): returns the decoded size.
inline std::optional<std::size_t> base64_size(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (ok && pad == 0) continue;
    if (c == '=' && i + 2 >= s.size()) {
      ++pad;
      continue;
    }
    return std::nullopt;
  }
  return s.size() / 4 * 3 - pad;
}

inline bool image_mime(std::string_view m) {
  return m == "image/jpeg" || m == "image/png" || m == "image/webp" || m == "image/gif";
}

/// "data:image/png;base64,...": the decoded size, or why not.
inline std::optional<std::string> check_data_url(std::string_view url, std::size_t& bytes) {
  if (url.substr(0, 5) != "data:") return "image url must be a data: URL";
  const auto semi = url.find(";base64,");
  if (semi == std::string_view::npos) return "image data URL must be base64 (data:<mime>;base64,<data>)";
  if (!image_mime(url.substr(5, semi - 5)))
    return "unsupported image type '" + std::string(url.substr(5, std::min<std::size_t>(semi - 5, 40))) + "'";
  const auto n = base64_size(url.substr(semi + 8));
  if (!n) return "image data is not valid base64";
  bytes += *n;
  return std::nullopt;
}

/// The request as far as the mock cares.
struct parsed_request {
  std::string model;
  std::string prompt;
  std::size_t images = 0;
  std::size_t image_bytes = 0;
};

struct shape_error {
  std::string message;
  unsigned status = 400;
};

using check_result = std::pair<std::optional<shape_error>, parsed_request>;

inline check_result openai_shape(std::string_view body, const providers::provider_descriptor& d) {
  parsed_request r;
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object())
    return {shape_error{"We could not parse the JSON body of your request. The request body must be a JSON object."},
            r};
  const auto& o = v.get_object();
  const auto* model = o.if_contains("model");
  if (!model || !model->is_string() || model->get_string().empty())
    return {shape_error{"you must provide a model parameter"}, r};
  r.model = std::string(model->get_string());
  const auto* messages = o.if_contains("messages");
  if (!messages || !messages->is_array() || messages->get_array().empty())
    return {shape_error{"'messages' must be a non-empty array"}, r};
  if (const auto* mt = o.if_contains("max_tokens"); mt && !(mt->is_int64() && mt->get_int64() > 0) && !mt->is_uint64())
    return {shape_error{"'max_tokens' must be a positive integer"}, r};
  const bool zai = d.id == "zai", mistral = d.id == "mistral", nvidia = d.id == "nvidia";
  for (const auto& m : messages->get_array()) {
    if (!m.is_object()) return {shape_error{"each message must be an object"}, r};
    const auto& mo = m.get_object();
    const auto* role = mo.if_contains("role");
    if (!role || !role->is_string()) return {shape_error{"each message needs a 'role'"}, r};
    const std::string_view rs = role->get_string();
    if (rs != "system" && rs != "user" && rs != "assistant" && rs != "tool")
      return {shape_error{"invalid role '" + std::string(rs.substr(0, 20)) + "'"}, r};
    const auto* content = mo.if_contains("content");
    if (!content) return {shape_error{"each message needs 'content'"}, r};
    if (content->is_string()) {
      std::string_view text = content->get_string();
      if (rs == "user") r.prompt += std::string(text);
      // NVIDIA's older VLMs: images inline as <img src="data:..." />.
      for (auto pos = text.find("<img src=\""); nvidia && pos != std::string_view::npos;
           pos = text.find("<img src=\"", pos + 1)) {
        const auto start = pos + 10, end = text.find('"', start);
        if (end == std::string_view::npos) return {shape_error{"unterminated <img> tag", 422}, r};
        if (auto e = check_data_url(text.substr(start, end - start), r.image_bytes)) return {shape_error{*e, 422}, r};
        ++r.images;
      }
      continue;
    }
    if (!content->is_array()) return {shape_error{"'content' must be a string or an array of parts"}, r};
    for (const auto& p : content->get_array()) {
      if (!p.is_object()) return {shape_error{"each content part must be an object"}, r};
      const auto& po = p.get_object();
      const auto* type = po.if_contains("type");
      if (!type || !type->is_string()) return {shape_error{"each content part needs a 'type'"}, r};
      if (type->get_string() == "text") {
        const auto* t = po.if_contains("text");
        if (!t || !t->is_string()) return {shape_error{"a text part needs 'text'"}, r};
        r.prompt += std::string(t->get_string());
      } else if (type->get_string() == "image_url") {
        const auto* iu = po.if_contains("image_url");
        std::string_view url;
        if (iu && iu->is_object()) {
          const auto* u = iu->get_object().if_contains("url");
          if (!u || !u->is_string()) return {shape_error{"image_url.url must be a string"}, r};
          url = u->get_string();
        } else if (iu && iu->is_string() && mistral) {
          url = iu->get_string();  // Mistral's documented form
        } else {
          return {shape_error{"image_url must be an object with a 'url'"}, r};
        }
        if (url.substr(0, 8) == "https://" || url.substr(0, 7) == "http://") {
          // a remote image: accepted, not fetched
        } else if (zai && url.substr(0, 5) != "data:") {
          const auto n = base64_size(url);  // some GLM models take raw base64
          if (!n) return {shape_error{"image data is not valid base64"}, r};
          r.image_bytes += *n;
        } else if (auto e = check_data_url(url, r.image_bytes)) {
          return {shape_error{*e}, r};
        }
        ++r.images;
      } else {
        return {shape_error{"unsupported content part type '" +
                            std::string(std::string_view(type->get_string()).substr(0, 20)) + "'"},
                r};
      }
    }
  }
  if (d.id == "groq" && r.images > 5)
    return {shape_error{"Too many images provided. This model supports up to 5 images"}, r};
  if (mistral && r.images > 8) return {shape_error{"Too many images in request. Max is 8.", 422}, r};
  return {std::nullopt, r};
}

inline check_result anthropic_shape(std::string_view body) {
  parsed_request r;
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return {shape_error{"Invalid JSON in request body"}, r};
  const auto& o = v.get_object();
  const auto* model = o.if_contains("model");
  if (!model || !model->is_string() || model->get_string().empty()) return {shape_error{"model: Field required"}, r};
  r.model = std::string(model->get_string());
  const auto* mt = o.if_contains("max_tokens");
  if (!mt) return {shape_error{"max_tokens: Field required"}, r};
  if (!(mt->is_int64() && mt->get_int64() > 0) && !mt->is_uint64())
    return {shape_error{"max_tokens: Input should be a valid positive integer"}, r};
  const auto* messages = o.if_contains("messages");
  if (!messages || !messages->is_array() || messages->get_array().empty())
    return {shape_error{"messages: at least one message is required"}, r};
  std::size_t i = 0;
  for (const auto& m : messages->get_array()) {
    const std::string at = "messages." + std::to_string(i++);
    if (!m.is_object()) return {shape_error{at + ": Input should be a valid dictionary"}, r};
    const auto* role = m.get_object().if_contains("role");
    if (!role || !role->is_string() || (role->get_string() != "user" && role->get_string() != "assistant"))
      return {shape_error{at + ".role: Input should be 'user' or 'assistant'"}, r};
    const auto* content = m.get_object().if_contains("content");
    if (!content) return {shape_error{at + ".content: Field required"}, r};
    if (content->is_string()) {
      r.prompt += std::string(content->get_string());
      continue;
    }
    if (!content->is_array()) return {shape_error{at + ".content: Input should be a valid list"}, r};
    std::size_t j = 0;
    for (const auto& b : content->get_array()) {
      const std::string bat = at + ".content." + std::to_string(j++);
      if (!b.is_object()) return {shape_error{bat + ": Input should be a valid dictionary"}, r};
      const auto& bo = b.get_object();
      const auto* type = bo.if_contains("type");
      if (!type || !type->is_string()) return {shape_error{bat + ".type: Field required"}, r};
      if (type->get_string() == "text") {
        const auto* t = bo.if_contains("text");
        if (!t || !t->is_string()) return {shape_error{bat + ".text: Field required"}, r};
        r.prompt += std::string(t->get_string());
      } else if (type->get_string() == "image") {
        const auto* src = bo.if_contains("source");
        if (!src || !src->is_object()) return {shape_error{bat + ".source: Field required"}, r};
        const auto& so = src->get_object();
        const auto* st = so.if_contains("type");
        if (st && st->is_string() && st->get_string() == "url") {
          ++r.images;
          continue;
        }
        if (!st || !st->is_string() || st->get_string() != "base64")
          return {shape_error{bat + ".source.type: Input should be 'base64' or 'url'"}, r};
        const auto* mt2 = so.if_contains("media_type");
        if (!mt2 || !mt2->is_string() || !image_mime(mt2->get_string()))
          return {
              shape_error{bat +
                          ".source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"},
              r};
        const auto* data = so.if_contains("data");
        const auto n = data && data->is_string() ? base64_size(data->get_string()) : std::nullopt;
        if (!n) return {shape_error{bat + ".source.data: invalid base64 data"}, r};
        r.image_bytes += *n;
        ++r.images;
      } else {
        return {shape_error{bat + ".type: unsupported content block type"}, r};
      }
    }
  }
  return {std::nullopt, r};
}

inline check_result gemini_shape(std::string_view body) {
  parsed_request r;
  boost::system::error_code ec;
  const json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return {shape_error{"Invalid JSON payload received. Unexpected token."}, r};
  const auto* contents = v.get_object().if_contains("contents");
  if (!contents || !contents->is_array() || contents->get_array().empty())
    return {shape_error{"* GenerateContentRequest.contents: contents is not specified"}, r};
  for (const auto& c : contents->get_array()) {
    if (!c.is_object()) return {shape_error{"Invalid JSON payload received. Invalid value at 'contents'"}, r};
    const auto* parts = c.get_object().if_contains("parts");
    if (!parts || !parts->is_array() || parts->get_array().empty())
      return {shape_error{"* GenerateContentRequest.contents.parts: contents.parts must not be empty."}, r};
    for (const auto& p : parts->get_array()) {
      if (!p.is_object()) return {shape_error{"Invalid JSON payload received. Invalid value at 'contents.parts'"}, r};
      const auto& po = p.get_object();
      if (const auto* t = po.if_contains("text")) {
        if (!t->is_string()) return {shape_error{"Invalid value at 'contents.parts.text' (TYPE_STRING)"}, r};
        r.prompt += std::string(t->get_string());
        continue;
      }
      const auto* inline_data = po.if_contains("inlineData");
      if (!inline_data) inline_data = po.if_contains("inline_data");
      if (!inline_data || !inline_data->is_object())
        return {shape_error{"* GenerateContentRequest.contents.parts: a part must have text or inlineData"}, r};
      const auto& io = inline_data->get_object();
      const auto* mime = io.if_contains("mimeType");
      if (!mime) mime = io.if_contains("mime_type");
      if (!mime || !mime->is_string() || !image_mime(mime->get_string()))
        return {shape_error{"Unsupported MIME type in inlineData"}, r};
      const auto* data = io.if_contains("data");
      const auto n = data && data->is_string() ? base64_size(data->get_string()) : std::nullopt;
      if (!n)
        return {shape_error{"Invalid value at 'contents.parts.inline_data.data' (TYPE_BYTES), Base64 decoding failed"},
                r};
      r.image_bytes += *n;
      ++r.images;
    }
  }
  return {std::nullopt, r};
}

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
  std::string model;
  std::string redacted;  ///< invalid_key: the key as the provider would quote it (redacted)
  std::chrono::milliseconds retry{0};
  std::uint32_t limit = 0;
  unsigned status = 0;           ///< server_error / bad_request override
  bool malformed_token = false;  ///< NVIDIA: not an nvapi- token at all
};

inline json::object openai_error(std::string_view message, std::string_view type, const json::value& code) {
  return json::object{
      {"error", json::object{{"message", message}, {"type", type}, {"param", nullptr}, {"code", code}}}};
}

inline json::object anthropic_error(std::string_view type, std::string_view message, std::uint64_t id) {
  return json::object{{"type", "error"},
                      {"error", json::object{{"type", type}, {"message", message}}},
                      {"request_id", "req_mock_" + std::to_string(id)}};
}

inline json::object google_error(unsigned code, std::string_view status, std::string_view message,
                                 json::array details = {}) {
  json::object e{{"code", code}, {"message", message}, {"status", status}};
  if (!details.empty()) e["details"] = std::move(details);
  return json::object{{"error", std::move(e)}};
}

inline json::object zai_error(std::string_view code, std::string_view message) {
  return json::object{{"error", json::object{{"code", code}, {"message", message}}}};
}

inline json::object nvidia_problem(unsigned status, std::string_view title, std::string_view detail = {}) {
  json::object o{{"status", status}, {"title", title}};
  if (!detail.empty()) o["detail"] = detail;
  return o;
}

inline json::object mistral_error(std::string_view message, std::string_view type, const json::value& code) {
  return json::object{{"object", "error"}, {"message", message}, {"type", type}, {"param", nullptr}, {"code", code}};
}

/// The provider's own answer to a refused request.
inline reply error_reply(const providers::provider_descriptor& d, error_kind k, const error_context& c,
                         std::uint64_t request_id) {
  using enum error_kind;
  using providers::error_dialect;
  reply r;
  const long long retry_s = ceil_seconds(c.retry);
  const std::string retry_text = go_duration(c.retry);
  auto set = [&](unsigned status, const json::value& body) {
    r.status = status;
    r.body = to_text(body);
  };
  auto retry_after = [&] { r.headers.emplace_back("retry-after", std::to_string(retry_s)); };
  const unsigned server_status = c.status ? c.status : 500;

  switch (d.errors) {
    case error_dialect::openai:
    case error_dialect::groq: {
      const bool groq = d.errors == error_dialect::groq;
      const std::string org = groq ? "`org_mock`" : "org-mock";
      switch (k) {
        case missing_key:
          set(401, openai_error("You didn't provide an API key. You need to provide your API key in an Authorization "
                                "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                                "invalid_request_error", nullptr));
          break;
        case invalid_key:
          if (groq)
            set(401, json::object{{"error", json::object{{"message", "Invalid API Key"},
                                                         {"type", "invalid_request_error"},
                                                         {"code", "invalid_api_key"}}}});
          else
            set(401, openai_error("Incorrect API key provided: " + c.redacted +
                                      ". You can find your API key at https://platform.openai.com/account/api-keys.",
                                  "invalid_request_error", "invalid_api_key"));
          break;
        case out_of_credit:
          set(429, openai_error("You exceeded your current quota, please check your plan and billing details. For more "
                                "information on this error, read the docs: "
                                "https://platform.openai.com/docs/guides/error-codes/api-errors.",
                                "insufficient_quota", "insufficient_quota"));
          break;
        case forbidden:
          set(403, openai_error("Country, region, or territory not supported", "request_forbidden",
                                "unsupported_country_region_territory"));
          break;
        case rate_limited:
        case daily_quota: {
          const bool day = k == daily_quota;
          const std::string msg = (groq ? "Rate limit reached for model `" + c.model + "` in organization " + org +
                                              " service tier `on_demand` on "
                                        : "Rate limit reached for " + c.model + " in organization " + org + " on ") +
                                  (day ? "requests per day (RPD)" : "requests per min (RPM)") + ": Limit " +
                                  std::to_string(c.limit) + ", Used " + std::to_string(c.limit) +
                                  ", Requested 1. Please try again in " + retry_text + ".";
          set(429, openai_error(msg, "requests", "rate_limit_exceeded"));
          if (groq || day) retry_after();  // OpenAI itself relies on x-ratelimit-reset-*
          break;
        }
        case overloaded:
          if (groq)
            set(503, json::object{{"error", json::object{{"message", "Service Unavailable"},
                                                         {"type", "internal_server_error"}}}});
          else
            set(503,
                openai_error("The engine is currently overloaded, please try again later", "server_error", nullptr));
          break;
        case server_error:
          set(server_status, openai_error("The server had an error while processing your request. Sorry about that!",
                                          "server_error", nullptr));
          break;
        case bad_request:
          set(c.status ? c.status : 400, openai_error(c.message, "invalid_request_error", nullptr));
          break;
        case model_retired:
          if (groq) {
            set(400, openai_error("The model `" + c.model +
                                      "` has been decommissioned and is no longer supported. Please refer to "
                                      "https://console.groq.com/docs/deprecations for a recommendation on which model "
                                      "to use instead.",
                                  "invalid_request_error", "model_decommissioned"));
            break;
          }
          [[fallthrough]];
        case model_not_found:
          set(404, openai_error("The model `" + c.model + "` does not exist or you do not have access to it.",
                                "invalid_request_error", "model_not_found"));
          break;
        case no_route: set(404, openai_error(c.message, "invalid_request_error", nullptr)); break;
      }
      break;
    }
    case error_dialect::mistral:
      switch (k) {
        case missing_key:
        case invalid_key:
          set(401, json::object{{"message", "Unauthorized"}, {"request_id", std::to_string(request_id)}});
          break;
        case out_of_credit: set(402, mistral_error("Payment required", "invalid_request_error", nullptr)); break;
        case forbidden: set(403, mistral_error("Forbidden", "invalid_request_error", nullptr)); break;
        case rate_limited:
        case daily_quota:
          set(429, mistral_error("Rate limit exceeded", "rate_limited", "1300"));
          retry_after();
          break;
        case overloaded: set(503, mistral_error("Service unavailable", "service_unavailable", nullptr)); break;
        case server_error:
          set(server_status, mistral_error("Internal server error", "internal_server_error", nullptr));
          break;
        case bad_request:
          set(c.status ? c.status : 422, mistral_error(c.message, "invalid_request_error", nullptr));
          break;
        case model_retired:
        case model_not_found:
          set(400, json::object{{"object", "error"},
                                {"message", "Invalid model: " + c.model},
                                {"type", "invalid_request_error"},
                                {"param", "model"},
                                {"code", "unknown_model"}});
          break;
        case no_route: set(404, json::object{{"detail", "Not Found"}}); break;
      }
      break;
    case error_dialect::anthropic:
      switch (k) {
        case missing_key:
          set(401, anthropic_error("authentication_error", "x-api-key header is required", request_id));
          break;
        case invalid_key: set(401, anthropic_error("authentication_error", "invalid x-api-key", request_id)); break;
        case out_of_credit:
          set(402, anthropic_error("billing_error",
                                   "Your credit balance is too low to access the Anthropic API. Please go to Plans & "
                                   "Billing to upgrade or purchase credits.",
                                   request_id));
          break;
        case forbidden:
          set(403, anthropic_error("permission_error",
                                   "Your API key does not have permission to use the specified resource.", request_id));
          break;
        case rate_limited:
        case daily_quota:
          set(429,
              anthropic_error("rate_limit_error",
                              "This request would exceed your organization's rate limit of " + std::to_string(c.limit) +
                                  " requests per " + (k == daily_quota ? "day" : "minute") + ".",
                              request_id));
          retry_after();  // always sent on a rate limit (its absence means a spend cap)
          break;
        case overloaded: set(529, anthropic_error("overloaded_error", "Overloaded", request_id)); break;
        case server_error: set(server_status, anthropic_error("api_error", "Internal server error", request_id)); break;
        case bad_request:
          set(c.status ? c.status : 400, anthropic_error("invalid_request_error", c.message, request_id));
          break;
        case model_retired:
        case model_not_found: set(404, anthropic_error("not_found_error", "model: " + c.model, request_id)); break;
        case no_route: set(404, anthropic_error("not_found_error", c.message, request_id)); break;
      }
      break;
    case error_dialect::gemini:
      switch (k) {
        case missing_key:
          set(403, google_error(403, "PERMISSION_DENIED",
                                "Method doesn't allow unregistered callers (callers without established identity). "
                                "Please use API Key or other form of API consumer identity to call this API."));
          break;
        case invalid_key:
          set(400, google_error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.",
                                json::array{json::object{
                                    {"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
                                    {"reason", "API_KEY_INVALID"},
                                    {"domain", "googleapis.com"},
                                    {"metadata", json::object{{"service", "generativelanguage.googleapis.com"}}}}}));
          break;
        case out_of_credit:
          // Gemini has no "no credit" status of its own: depleted prepaid
          // credits come back as RESOURCE_EXHAUSTED.
          set(429, google_error(429, "RESOURCE_EXHAUSTED",
                                "Your prepayment credits are depleted. Please go to AI Studio at "
                                "https://ai.studio/projects to manage your project and billing."));
          break;
        case forbidden:
          set(403, google_error(403, "PERMISSION_DENIED", "Permission denied: Consumer has been suspended."));
          break;
        case rate_limited:
        case daily_quota: {
          const bool day = k == daily_quota;
          const std::string quota = day ? "GenerateRequestsPerDayPerProjectPerModel-FreeTier"
                                        : "GenerateRequestsPerMinutePerProjectPerModel-FreeTier";
          set(429,
              google_error(
                  429, "RESOURCE_EXHAUSTED",
                  "You exceeded your current quota, please check your plan and billing details.",
                  json::array{
                      json::object{
                          {"@type", "type.googleapis.com/google.rpc.QuotaFailure"},
                          {"violations",
                           json::array{json::object{
                               {"quotaMetric", "generativelanguage.googleapis.com/generate_content_free_tier_requests"},
                               {"quotaId", quota},
                               {"quotaDimensions", json::object{{"location", "global"}, {"model", c.model}}},
                               {"quotaValue", std::to_string(c.limit)}}}}},
                      json::object{{"@type", "type.googleapis.com/google.rpc.RetryInfo"},
                                   {"retryDelay", std::to_string(retry_s) + "s"}}}));
          break;
        }
        case overloaded:
          set(503, google_error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."));
          break;
        case server_error:
          set(server_status, google_error(server_status, server_status == 503 ? "UNAVAILABLE" : "INTERNAL",
                                          "An internal error has occurred. Please retry or report in "
                                          "https://developers.generativeai.google/guide/troubleshooting"));
          break;
        case bad_request:
          set(c.status ? c.status : 400, google_error(c.status ? c.status : 400, "INVALID_ARGUMENT", c.message));
          break;
        case model_retired:
        case model_not_found:
          set(404,
              google_error(404, "NOT_FOUND",
                           "models/" + c.model +
                               " is not found for API version v1beta, or is not supported for generateContent. "
                               "Call ListModels to see the list of available models and their supported methods."));
          break;
        case no_route: set(404, google_error(404, "NOT_FOUND", c.message)); break;
      }
      break;
    case error_dialect::zai:
      switch (k) {
        case missing_key: set(401, zai_error("1001", "Header中未收到Authorization参数，无法进行身份验证。")); break;
        case invalid_key:
          set(401, zai_error("1002", "Authorization Token非法，请确认Authorization Token正确传递。"));
          break;
        case out_of_credit:
          set(429, zai_error("1113", "Insufficient balance or no resource package. Please recharge."));
          break;
        case forbidden:
          set(401, zai_error("1112", "Your account has been locked. Please contact customer service."));
          break;
        case rate_limited:
          set(429, zai_error("1302",
                             "High concurrency usage of this API, please reduce concurrency or contact customer "
                             "service to increase limits"));
          break;
        case daily_quota: set(429, zai_error("1304", "The daily call limit for this API has been reached")); break;
        case overloaded:
          set(429, zai_error("1305", "The service may be temporarily overloaded, please try again later"));
          break;
        case server_error: set(server_status, zai_error("500", "Internal Error")); break;
        case bad_request: set(c.status ? c.status : 400, zai_error("1214", c.message)); break;
        case model_retired:
        case model_not_found: set(400, zai_error("1211", "Model does not exist: " + c.model)); break;
        case no_route: set(404, zai_error("404", c.message)); break;
      }
      break;
    case error_dialect::nvidia:
      switch (k) {
        case missing_key:
        case invalid_key:
          if (k == missing_key || c.malformed_token) {
            r.status = 401;
            r.body = "Unauthorized";
            r.content_type = "text/plain";
            r.headers.emplace_back("www-authenticate",
                                   R"(Bearer error="invalid_token", error_description="Bearer token is malformed")");
          } else {
            set(403, nvidia_problem(403, "Forbidden", "Authorization failed"));
          }
          break;
        case out_of_credit: set(402, nvidia_problem(402, "Payment Required", "Account credits exhausted")); break;
        case forbidden: set(403, nvidia_problem(403, "Forbidden", "Account suspended")); break;
        case rate_limited:
        case daily_quota: set(429, nvidia_problem(429, "Too Many Requests")); break;
        case overloaded:
          set(503, nvidia_problem(503, "Service Unavailable", "The service is temporarily overloaded"));
          break;
        case server_error: set(server_status, nvidia_problem(server_status, "Internal Server Error")); break;
        case bad_request:
          set(c.status ? c.status : 422, json::object{{"type", "urn:kaizen:problem-details:validation-failed"},
                                                      {"title", "Validation failed"},
                                                      {"status", c.status ? c.status : 422},
                                                      {"detail", c.message}});
          break;
        case model_retired:
        case model_not_found:
          set(404, json::object{{"detail",
                                 "Function '00000000-0000-4000-8000-00000000mock': Not found for account "
                                 "'mock-account'"}});
          break;
        case no_route: set(404, json::object{{"detail", "Not Found"}}); break;
      }
      break;
  }
  return r;
}

/// A deterministic answer and a token count for the spend.
inline std::string answer_text(const providers::provider_descriptor& d, const parsed_request& p) {
  std::string prompt = p.prompt.substr(0, 60);
  if (p.prompt.size() > 60) prompt += "...";
  std::string s = "[mock " + d.display_name + " " + p.model + "] ";
  if (p.images)
    s += "I see " + std::to_string(p.images) + (p.images == 1 ? " image" : " images") + " (" +
         std::to_string(p.image_bytes) + " bytes): a small test pattern. ";
  return s + "You asked: \"" + prompt + "\"";
}

inline std::uint64_t input_tokens(const parsed_request& p) { return (p.prompt.size() + 3) / 4 + 258 * p.images + 8; }
inline std::uint64_t output_tokens(const std::string& text) { return (text.size() + 3) / 4; }

inline std::string success_body(const providers::provider_descriptor& d, const parsed_request& p, std::uint64_t id,
                                std::chrono::system_clock::time_point wall) {
  const std::string text = answer_text(d, p);
  const auto in = input_tokens(p), out = output_tokens(text);
  switch (d.wire) {
    case providers::wire_format::openai_chat:
      return to_text(json::object{
          {"id", "chatcmpl-mock-" + std::to_string(id)},
          {"object", "chat.completion"},
          {"created", std::chrono::duration_cast<std::chrono::seconds>(wall.time_since_epoch()).count()},
          {"model", p.model},
          {"choices", json::array{json::object{{"index", 0},
                                               {"message", json::object{{"role", "assistant"}, {"content", text}}},
                                               {"finish_reason", "stop"}}}},
          {"usage", json::object{{"prompt_tokens", in}, {"completion_tokens", out}, {"total_tokens", in + out}}}});
    case providers::wire_format::anthropic_messages:
      return to_text(json::object{{"id", "msg_mock_" + std::to_string(id)},
                                  {"type", "message"},
                                  {"role", "assistant"},
                                  {"model", p.model},
                                  {"content", json::array{json::object{{"type", "text"}, {"text", text}}}},
                                  {"stop_reason", "end_turn"},
                                  {"stop_sequence", nullptr},
                                  {"usage", json::object{{"input_tokens", in}, {"output_tokens", out}}}});
    case providers::wire_format::gemini_generate_content:
      return to_text(json::object{
          {"candidates",
           json::array{json::object{
               {"content", json::object{{"parts", json::array{json::object{{"text", text}}}}, {"role", "model"}}},
               {"finishReason", "STOP"},
               {"index", 0}}}},
          {"usageMetadata",
           json::object{{"promptTokenCount", in}, {"candidatesTokenCount", out}, {"totalTokenCount", in + out}}},
          {"modelVersion", p.model},
          {"responseId", "mock-" + std::to_string(id)}});
  }
  return "{}";
}

/// The path of a URL ("https://api.groq.com/openai/v1" -> "/openai/v1").
inline std::string url_path(std::string_view url) {
  const auto sep = url.find("://");
  const auto slash = url.find('/', sep == std::string_view::npos ? 0 : sep + 3);
  return slash == std::string_view::npos ? std::string() : std::string(url.substr(slash));
}

}  // namespace detail

/// The seven mock providers behind one handle(). See the file comment.
class provider_fleet {
 public:
  explicit provider_fleet(fleet_config cfg, fleet_clock clock = fleet_clock::real())
      : clock_(std::move(clock)), tls_(cfg.tls), port_(cfg.port), threads_(cfg.threads) {
    std::uint64_t salt = cfg.seed;
    for (auto& pb : cfg.providers) {
      const auto* d = providers::find_builtin(pb.id);
      if (!d) throw config_error("mock provider '" + pb.id + "' is not a built-in provider");
      auto rt = std::make_unique<runtime>();
      rt->desc = *d;
      rt->base_path = "/" + pb.id + detail::url_path(d->base_url);
      rt->cfg = std::move(pb);
      rt->rng.seed(salt++ * 0x9E3779B97F4A7C15ull + 1);
      rt->stats.provider = rt->cfg.id;
      runtimes_.push_back(std::move(rt));
    }
  }

  provider_fleet(const provider_fleet&) = delete;
  provider_fleet& operator=(const provider_fleet&) = delete;

  /// Answers one request. Thread-safe.
  reply handle(std::string_view method, std::string_view target, const header_lookup& headers, std::string_view body) {
    std::string_view path = target, query;
    if (const auto q = target.find('?'); q != std::string_view::npos) {
      path = target.substr(0, q);
      query = target.substr(q + 1);
    }
    runtime* rt = nullptr;
    for (auto& r : runtimes_)
      if (path.substr(0, r->base_path.size()) == r->base_path &&
          (path.size() == r->base_path.size() || path[r->base_path.size()] == '/'))
        rt = r.get();
    if (rt == nullptr) {
      reply r;
      r.status = 404;
      r.body =
          R"({"error":{"message":"no mock provider serves this path; expected /<provider>/<base path>/...","type":"not_found"}})";
      return r;
    }
    std::lock_guard lock(rt->mu);
    return handle_locked(*rt, method, path.substr(rt->base_path.size()), query, headers, body);
  }

  /// "/groq/openai/v1": appended to the server's origin, the provider's base URL.
  std::string base_path(std::string_view id) const {
    for (const auto& r : runtimes_)
      if (r->cfg.id == id) return r->base_path;
    return {};
  }

  /// Provider ids served, in configuration order.
  std::vector<std::string> provider_ids() const {
    std::vector<std::string> out;
    for (const auto& r : runtimes_) out.push_back(r->cfg.id);
    return out;
  }

  /// A copy of a provider's current behaviour (keys included), or empty.
  std::optional<provider_behavior> behavior(std::string_view id) const {
    for (const auto& r : runtimes_)
      if (r->cfg.id == id) {
        std::lock_guard lock(r->mu);
        return r->cfg;
      }
    return std::nullopt;
  }

  // ---- control (tests, demo) --------------------------------------------------

  /// Changes a key's state (revoke it, run it out of credit). False if unknown.
  bool set_key_state(std::string_view id, std::string_view variable, key_state s) {
    return with(id, [&](runtime& r) {
      for (auto& k : r.cfg.keys)
        if (k.variable == variable) {
          k.state = s;
          return true;
        }
      return false;
    });
  }

  /// Changes a key's per-minute limit. False if unknown.
  bool set_key_limit(std::string_view id, std::string_view variable, std::uint32_t per_minute) {
    return with(id, [&](runtime& r) {
      for (auto& k : r.cfg.keys)
        if (k.variable == variable) {
          k.per_minute = per_minute;
          return true;
        }
      return false;
    });
  }

  bool set_overloaded(std::string_view id, bool on) {
    return with(id, [&](runtime& r) {
      r.cfg.overloaded = on;
      return true;
    });
  }

  bool set_latency(std::string_view id, std::chrono::milliseconds latency, std::chrono::milliseconds jitter = {}) {
    return with(id, [&](runtime& r) {
      r.cfg.latency = latency;
      r.cfg.jitter = jitter;
      return true;
    });
  }

  bool set_faults(std::string_view id, const fault_config& f) {
    return with(id, [&](runtime& r) {
      r.cfg.faults = f;
      return true;
    });
  }

  /// The next `n` requests to this provider get `status` (a 5xx burst).
  bool fail_next(std::string_view id, std::uint32_t n, unsigned status = 500) {
    return with(id, [&](runtime& r) {
      r.fail_next = n;
      r.fail_status = status;
      return true;
    });
  }

  /// Forgets every rate-limit window and daily count (not the statistics).
  void reset_limits() {
    for (auto& r : runtimes_) {
      std::lock_guard lock(r->mu);
      r->counters.clear();
    }
  }

  provider_stats stats(std::string_view id) const {
    for (const auto& r : runtimes_)
      if (r->cfg.id == id) {
        std::lock_guard lock(r->mu);
        return r->stats;
      }
    return provider_stats{std::string(id)};
  }

  std::vector<provider_stats> stats() const {
    std::vector<provider_stats> out;
    for (const auto& r : runtimes_) {
      std::lock_guard lock(r->mu);
      out.push_back(r->stats);
    }
    return out;
  }

  bool tls() const noexcept { return tls_; }
  std::uint16_t configured_port() const noexcept { return port_; }
  unsigned threads() const noexcept { return threads_; }
  const fleet_clock& clock() const noexcept { return clock_; }

 private:
  struct counter {
    long long window_start = LLONG_MIN;
    std::uint32_t minute = 0;
    long long day = LLONG_MIN;
    std::uint32_t day_count = 0;
  };

  struct runtime {
    provider_behavior cfg;
    providers::provider_descriptor desc;
    std::string base_path;
    mutable std::mutex mu;
    std::map<std::string, counter> counters;  // by account (or secret)
    provider_stats stats;
    std::mt19937_64 rng;
    std::uint64_t seq = 0;
    std::uint32_t burst_left = 0;
    std::uint32_t fail_next = 0;
    unsigned fail_status = 500;
  };

  template <class F>
  bool with(std::string_view id, F&& f) {
    for (auto& r : runtimes_)
      if (r->cfg.id == id) {
        std::lock_guard lock(r->mu);
        return f(*r);
      }
    return false;
  }

  static bool dice(runtime& r, double p) {
    if (p <= 0) return false;
    return std::uniform_real_distribution<double>(0, 1)(r.rng) < p;
  }

  std::chrono::milliseconds latency(runtime& r) const {
    auto d = r.cfg.latency;
    if (r.cfg.jitter.count() > 0)
      d += std::chrono::milliseconds(std::uniform_int_distribution<long long>(0, r.cfg.jitter.count())(r.rng));
    return d;
  }

  reply refuse(runtime& r, detail::error_kind k, const detail::error_context& c) {
    using enum detail::error_kind;
    auto& s = r.stats;
    switch (k) {
      case missing_key:
      case invalid_key: ++s.auth_errors; break;
      case out_of_credit: ++s.credit_errors; break;
      case forbidden: ++s.forbidden; break;
      case rate_limited: ++s.rate_limited; break;
      case daily_quota: ++s.quota_exhausted; break;
      case overloaded: ++s.overloaded; break;
      case server_error: ++s.server_errors; break;
      case bad_request:
      case no_route: ++s.bad_requests; break;
      case model_not_found:
      case model_retired: ++s.model_errors; break;
    }
    reply out = detail::error_reply(r.desc, k, c, r.seq);
    out.delay = latency(r);
    return out;
  }

  /// The key the request carries, by the provider's auth style; empty: none.
  static std::string_view credential(const runtime& r, const header_lookup& h, std::string_view query) {
    switch (r.desc.auth) {
      case providers::auth_style::bearer: {
        const auto v = h("authorization");
        if (!v || v->size() < 7 || !::keypool::detail::iequals(v->substr(0, 7), "bearer ")) return {};
        return v->substr(7);
      }
      case providers::auth_style::x_api_key: return h("x-api-key").value_or(std::string_view{});
      case providers::auth_style::x_goog_api_key: {
        if (auto v = h("x-goog-api-key")) return *v;
        // the legacy ?key= query parameter
        for (std::size_t pos = 0; pos < query.size();) {
          auto amp = query.find('&', pos);
          if (amp == std::string_view::npos) amp = query.size();
          const auto kv = query.substr(pos, amp - pos);
          if (kv.substr(0, 4) == "key=") return kv.substr(4);
          pos = amp + 1;
        }
        return {};
      }
    }
    return {};
  }

  void add_limit_headers(runtime& r, reply& out, const key_behavior& k, const counter& c, bool limited,
                         std::chrono::milliseconds reset) const {
    if (!r.cfg.rate_limit_headers) return;
    const std::string& id = r.cfg.id;
    const std::uint32_t used = c.minute;
    const std::uint32_t limit = k.per_minute ? k.per_minute : 10'000;
    const std::uint32_t remaining = limited ? 0 : (limit > used ? limit - used : 0);
    if (id == "openai") {
      out.headers.emplace_back("x-ratelimit-limit-requests", std::to_string(limit));
      out.headers.emplace_back("x-ratelimit-remaining-requests", std::to_string(remaining));
      out.headers.emplace_back("x-ratelimit-reset-requests", detail::go_duration(reset));
      out.headers.emplace_back("x-ratelimit-limit-tokens", "30000");
      out.headers.emplace_back("x-ratelimit-remaining-tokens", "29000");
      out.headers.emplace_back("x-ratelimit-reset-tokens", "2s");
    } else if (id == "groq") {
      // Groq: requests per day, tokens per minute.
      const std::uint32_t day_limit = k.per_day ? k.per_day : 14'400;
      out.headers.emplace_back("x-ratelimit-limit-requests", std::to_string(day_limit));
      out.headers.emplace_back("x-ratelimit-remaining-requests",
                               std::to_string(day_limit > c.day_count ? day_limit - c.day_count : 0));
      out.headers.emplace_back("x-ratelimit-reset-requests", detail::go_duration(reset));
      out.headers.emplace_back("x-ratelimit-limit-tokens", "6000");
      out.headers.emplace_back("x-ratelimit-remaining-tokens", "5000");
      out.headers.emplace_back("x-ratelimit-reset-tokens", "7.66s");
    } else if (id == "mistral") {
      out.headers.emplace_back("x-ratelimit-limit-req-minute", std::to_string(limit));
      out.headers.emplace_back("x-ratelimit-remaining-req-minute", std::to_string(remaining));
      out.headers.emplace_back("x-ratelimit-limit-tokens-minute", "500000");
      out.headers.emplace_back("x-ratelimit-remaining-tokens-minute", "499000");
    } else if (id == "anthropic") {
      const auto at = detail::rfc3339(clock_.wall() + std::chrono::ceil<std::chrono::seconds>(reset));
      out.headers.emplace_back("anthropic-ratelimit-requests-limit", std::to_string(limit));
      out.headers.emplace_back("anthropic-ratelimit-requests-remaining", std::to_string(remaining));
      out.headers.emplace_back("anthropic-ratelimit-requests-reset", at);
    }
    // Google, NVIDIA and Z.AI send no rate-limit headers.
  }

  reply handle_locked(runtime& r, std::string_view method, std::string_view rest, std::string_view query,
                      const header_lookup& h, std::string_view body) {
    using enum detail::error_kind;
    ++r.stats.requests;
    const std::uint64_t seq = ++r.seq;
    detail::error_context ec;

    // 1. Infrastructure faults: they happen before anything is looked at.
    auto& f = r.cfg.faults;
    if (f.burst_every && f.burst_length && seq % f.burst_every == 0) r.burst_left = f.burst_length;
    if (r.burst_left) {
      static constexpr unsigned cycle[] = {500, 502, 503};
      ec.status = cycle[r.burst_left-- % 3];
      return refuse(r, server_error, ec);
    }
    if (r.fail_next) {
      --r.fail_next;
      ec.status = r.fail_status;
      return refuse(r, server_error, ec);
    }
    if (dice(r, f.reset_rate)) {
      ++r.stats.faults;
      reply out;
      out.action = fault_action::reset;
      return out;
    }
    if (dice(r, f.stall_rate)) {
      ++r.stats.faults;
      reply out;
      out.action = fault_action::stall;
      out.delay = f.stall;
      return out;
    }
    if (dice(r, f.error_rate)) return refuse(r, server_error, ec);

    // 2. Route and method.
    std::string model;
    const auto wire = r.desc.wire;
    if (wire == providers::wire_format::gemini_generate_content) {
      static constexpr std::string_view models = "/models/", verb = ":generateContent";
      if (rest.substr(0, models.size()) != models || rest.size() <= models.size() + verb.size() ||
          rest.substr(rest.size() - verb.size()) != verb) {
        ec.message = "Requested entity was not found.";
        return refuse(r, no_route, ec);
      }
      model = std::string(rest.substr(models.size(), rest.size() - models.size() - verb.size()));
    } else {
      const std::string_view expect =
          wire == providers::wire_format::anthropic_messages ? "/messages" : "/chat/completions";
      if (rest != expect) {
        ec.message = "Invalid URL (" + std::string(method) + " " + std::string(rest.substr(0, 80)) + ")";
        return refuse(r, no_route, ec);
      }
    }
    if (method != "POST") {
      ec.message = "Method " + std::string(method.substr(0, 10)) + " not allowed; use POST";
      ec.status = 405;
      return refuse(r, bad_request, ec);
    }

    // 3. Authentication.
    const std::string_view secret = credential(r, h, query);
    if (secret.empty()) return refuse(r, missing_key, ec);
    const key_behavior* key = nullptr;
    for (const auto& k : r.cfg.keys)
      if (k.secret == secret) key = &k;
    if (key == nullptr || key->state == key_state::revoked) {
      ec.redacted = redact(secret);
      ec.malformed_token = secret.substr(0, 6) != "nvapi-";
      return refuse(r, invalid_key, ec);
    }
    if (r.desc.auth == providers::auth_style::x_api_key && !h("anthropic-version")) {
      ec.message = "anthropic-version: header is required";
      return refuse(r, bad_request, ec);
    }

    // 4. Provider-wide overload: not the key's fault.
    if (r.cfg.overloaded || dice(r, r.cfg.overload_rate)) return refuse(r, overloaded, ec);

    // 5. Request shape.
    if (r.desc.id == "groq" && body.size() > 4u * 1024 * 1024) {
      ec.message = "Request Entity Too Large";
      ec.status = 413;
      return refuse(r, bad_request, ec);
    }
    auto [shape, req] = wire == providers::wire_format::openai_chat          ? detail::openai_shape(body, r.desc)
                        : wire == providers::wire_format::anthropic_messages ? detail::anthropic_shape(body)
                                                                             : detail::gemini_shape(body);
    if (wire == providers::wire_format::gemini_generate_content) req.model = model;
    if (shape) {
      ec.message = shape->message;
      ec.status = shape->status;
      return refuse(r, bad_request, ec);
    }
    ec.model = req.model;
    if (std::find(r.cfg.retired.begin(), r.cfg.retired.end(), req.model) != r.cfg.retired.end())
      return refuse(r, model_retired, ec);
    if (!r.cfg.models.empty() && std::find(r.cfg.models.begin(), r.cfg.models.end(), req.model) == r.cfg.models.end())
      return refuse(r, model_not_found, ec);

    // 6. The key's own standing.
    if (key->state == key_state::out_of_credit) return refuse(r, out_of_credit, ec);
    if (key->state == key_state::forbidden) return refuse(r, forbidden, ec);

    // 7. Limits, per account (or key).
    counter& c = r.counters[key->account.empty() ? "key:" + key->secret : "account:" + key->account];
    const auto now = clock_.now().count();
    if (c.window_start == LLONG_MIN || now - c.window_start >= 60'000) {
      c.window_start = now;
      c.minute = 0;
    }
    const auto wall = clock_.wall();
    const auto boundary = providers::next_day_boundary(r.desc.day, wall);
    const long long day = std::chrono::duration_cast<std::chrono::seconds>(boundary.time_since_epoch()).count();
    if (c.day != day) {
      c.day = day;
      c.day_count = 0;
    }
    const auto minute_reset = std::chrono::milliseconds(c.window_start + 60'000 - now);
    if (key->per_day && c.day_count >= key->per_day) {
      ec.retry = std::chrono::ceil<std::chrono::milliseconds>(boundary - wall);
      ec.limit = key->per_day;
      reply out = refuse(r, daily_quota, ec);
      add_limit_headers(r, out, *key, c, true, ec.retry);
      return out;
    }
    if (key->per_minute && c.minute >= key->per_minute) {
      ec.retry = minute_reset;
      ec.limit = key->per_minute;
      reply out = refuse(r, rate_limited, ec);
      add_limit_headers(r, out, *key, c, true, minute_reset);
      return out;
    }
    ++c.minute;
    ++c.day_count;

    // 8. Success (unless the body is to be damaged on the way).
    r.stats.images += req.images;
    reply out;
    out.body = detail::success_body(r.desc, req, seq, wall);
    out.delay = latency(r);
    add_limit_headers(r, out, *key, c, false, minute_reset);
    if (dice(r, f.truncate_rate)) {
      ++r.stats.faults;
      out.action = fault_action::truncate;
    } else if (dice(r, f.malformed_rate)) {
      ++r.stats.faults;
      out.body = out.body.substr(0, out.body.size() / 2) + "<!-- upstream proxy error -->";
    } else {
      ++r.stats.successes;
    }
    return out;
  }

  fleet_clock clock_;
  bool tls_;
  std::uint16_t port_;
  unsigned threads_;
  std::vector<std::unique_ptr<runtime>> runtimes_;  // fixed after construction
};

}  // namespace keypool::mock
