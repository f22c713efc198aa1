#pragma once
/// Turns a provider's HTTP response (status, headers, body) into an outcome
/// the pool understands, with a retry hint. The status alone cannot tell
/// "slow down" from "out of money" (OpenAI and Z.AI send 429 for both), so
/// every provider's error body is read. Bodies are parsed with Boost.JSON
/// using an error_code: garbage never throws, it falls back to the status.
///
/// account_wide: set where the provider documents the limit per account,
/// organisation, workspace or project rather than per key (OpenAI, Groq and
/// Anthropic: organisation; Mistral: organisation/workspace; Gemini: project; Z.AI and
/// NVIDIA: account) and for balance/spend problems, which belong to the
/// account. A key's own problems (invalid, forbidden) and provider-wide
/// trouble (5xx, overload) are never account-wide. Keys configured without
/// an ACCOUNT are each their own account, so the flag only widens a lockout
/// to keys the user said share one.

#include <keypool/classify/headers.hpp>
#include <keypool/classify/hint_authority.hpp>
#include <keypool/classify/retry_hint.hpp>
#include <keypool/core/outcome.hpp>
#include <keypool/providers/descriptor.hpp>

#include <boost/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::classify {

struct classify_options {
  milliseconds rate_limit_cap = max_rate_limit_hint;  ///< cap for rate_limited / transient hints
  milliseconds quota_cap = max_quota_hint;            ///< cap for quota_exhausted hints
};

/// An outcome plus a short reason for logs and statistics ("429
/// insufficient_quota", "400 API_KEY_INVALID"). The reason is built from the
/// status and the provider's error codes only, never from message text (an
/// OpenAI 401 message quotes part of the key).
struct classification {
  keypool::outcome result;
  std::string reason;
};

namespace detail {

/// The fields of an error body the rules look at, across dialects.
struct error_info {
  bool json = false;                       ///< the body was a JSON object
  std::string type;                        ///< error.type / top-level type (Mistral)
  std::string code;                        ///< error.code as text (Z.AI and Mistral send strings)
  std::string status;                      ///< Gemini error.status ("RESOURCE_EXHAUSTED")
  std::string message;                     ///< error.message / message
  std::string detail;                      ///< NVIDIA problem+json "detail"
  std::string details_error_code;          ///< Anthropic error.details.error_code
  std::vector<std::string> reasons;        ///< Gemini ErrorInfo.reason
  std::vector<std::string> quota_ids;      ///< Gemini QuotaFailure.violations[].quotaId
  std::optional<std::string> retry_delay;  ///< Gemini RetryInfo.retryDelay
};

inline std::string text_of(const boost::json::value* v) {
  if (v == nullptr) return {};
  if (v->is_string()) return std::string(v->get_string());
  if (v->is_int64()) return std::to_string(v->get_int64());
  if (v->is_uint64()) return std::to_string(v->get_uint64());
  return {};
}

inline void read_gemini_details(const boost::json::value* details, error_info& info) {
  if (details == nullptr || !details->is_array()) return;
  for (const auto& d : details->get_array()) {
    if (!d.is_object()) continue;
    const auto& o = d.get_object();
    const std::string t = text_of(o.if_contains("@type"));
    if (t.ends_with("google.rpc.ErrorInfo")) {
      if (auto r = text_of(o.if_contains("reason")); !r.empty()) info.reasons.push_back(r);
    } else if (t.ends_with("google.rpc.RetryInfo")) {
      if (const auto* rd = o.if_contains("retryDelay"); rd && rd->is_string())
        info.retry_delay = std::string(rd->get_string());
    } else if (t.ends_with("google.rpc.QuotaFailure")) {
      if (const auto* vs = o.if_contains("violations"); vs && vs->is_array())
        for (const auto& v : vs->get_array())
          if (v.is_object())
            if (auto q = text_of(v.get_object().if_contains("quotaId")); !q.empty()) info.quota_ids.push_back(q);
    }
  }
}

inline error_info parse_error_body(std::string_view body) {
  error_info info;
  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(body, ec);
  if (ec) return info;
  const boost::json::value* v = &root;
  // Gemini's streaming endpoints wrap the error in an array.
  if (v->is_array() && !v->get_array().empty()) v = &v->get_array()[0];
  if (!v->is_object()) return info;
  const auto& o = v->get_object();
  info.json = true;
  if (const auto* e = o.if_contains("error")) {
    if (e->is_object()) {
      const auto& eo = e->get_object();
      info.type = text_of(eo.if_contains("type"));
      info.code = text_of(eo.if_contains("code"));
      info.status = text_of(eo.if_contains("status"));
      info.message = text_of(eo.if_contains("message"));
      if (const auto* d = eo.if_contains("details")) {
        if (d->is_object()) info.details_error_code = text_of(d->get_object().if_contains("error_code"));
        read_gemini_details(d, info);
      }
    } else if (e->is_string()) {
      info.message = std::string(e->get_string());
    }
  }
  // Mistral: {"object":"error","message":..,"type":..,"code":..}; also a
  // bare {"message": "Unauthorized"}.
  if (info.type.empty()) info.type = text_of(o.if_contains("type"));
  if (info.type == "error") info.type.clear();  // Anthropic's envelope, not a kind
  if (info.code.empty()) info.code = text_of(o.if_contains("code"));
  if (info.message.empty()) info.message = text_of(o.if_contains("message"));
  // NVIDIA (problem+json): {"status":403,"title":"Forbidden","detail":"Authorization failed"}
  info.detail = text_of(o.if_contains("detail"));
  return info;
}

inline bool contains(std::string_view hay, std::string_view needle) {
  return hay.find(needle) != std::string_view::npos;
}

inline bool contains_icase(std::string_view hay, std::string_view needle) {
  if (needle.size() > hay.size()) return false;
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i)
    if (iequals(hay.substr(i, needle.size()), needle)) return true;
  return false;
}

/// Parses a decimal error code ("1302" or 1302); -1 when absent or not a number.
inline long code_number(std::string_view code) {
  if (code.empty() || code.size() > 9) return -1;
  long v = 0;
  for (char c : code) {
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

struct context {
  int status;
  const header_lookup& h;
  sys_time now;
  const classify_options& opt;
  const providers::provider_descriptor& provider;
};

/// "429 insufficient_quota". `what` comes from a provider's code or type
/// field: only token-like characters are kept and it is cut at 48, so a
/// proxy that puts free text there cannot leak it into logs.
inline std::string status_reason(int status, std::string_view what = {}) {
  std::string r = std::to_string(status);
  std::string w;
  for (char c : what) {
    if (w.size() == 48) break;
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '.' || c == ':' || c == ' ';
    if (ok) w += c;
  }
  if (!w.empty()) {
    r += ' ';
    r += w;
  }
  return r;
}

/// retry-after-ms, then Retry-After: the most specific header hints.
inline std::optional<milliseconds> header_hint(const context& c) {
  if (auto v = c.h("retry-after-ms"))
    if (auto ms = parse_retry_after_ms(*v)) return ms;
  if (auto v = c.h("retry-after"))
    if (auto ms = parse_retry_after(*v, c.now)) return ms;
  return std::nullopt;
}

/// OpenAI-style x-ratelimit-reset-{requests,tokens}: the one for the
/// exhausted dimension (remaining == 0), else requests, else tokens.
inline std::optional<milliseconds> reset_header(const context& c, std::string_view name) {
  const auto v = c.h(name);
  if (!v) return std::nullopt;
  if (auto d = parse_duration(*v)) return d;
  // Some OpenAI-compatible servers (Azure) send bare seconds here.
  return parse_retry_after_ms(*v) ? parse_retry_after(*v, c.now) : std::nullopt;
}

inline std::optional<milliseconds> openai_reset_hint(const context& c, bool tokens_first) {
  auto dur = [&](std::string_view name) { return reset_header(c, name); };
  auto exhausted = [&](std::string_view name) {
    auto v = c.h(name);
    return v && iequals(trim(*v), "0");
  };
  const bool req0 = exhausted("x-ratelimit-remaining-requests");
  const bool tok0 = exhausted("x-ratelimit-remaining-tokens");
  if (tok0 && !req0) tokens_first = true;
  if (req0 && !tok0) tokens_first = false;
  const auto req = dur("x-ratelimit-reset-requests");
  const auto tok = dur("x-ratelimit-reset-tokens");
  if (tokens_first) return tok ? tok : req;
  return req ? req : tok;
}

inline classification rate_limited(const context& c, std::optional<milliseconds> hint, std::string reason,
                                   bool account_wide) {
  return {outcome::rate_limited(clamp_hint(hint, c.opt.rate_limit_cap)).with_account_wide(account_wide),
          std::move(reason)};
}

inline classification quota_until(const context& c, std::optional<milliseconds> hint, std::string reason,
                                  bool account_wide) {
  return {outcome::quota_exhausted(clamp_hint(hint, c.opt.quota_cap)).with_account_wide(account_wide),
          std::move(reason)};
}

inline milliseconds until_day_boundary(const context& c) {
  return until(providers::next_day_boundary(c.provider.day, c.now), c.now);
}

inline classification transient(const context& c, std::string reason) {
  return {outcome::transient(clamp_hint(header_hint(c), c.opt.rate_limit_cap)), std::move(reason)};
}

/// What a status means when no dialect rule matched.
inline classification by_status(const context& c, std::string what, bool account_wide_limits) {
  const int s = c.status;
  std::string reason = status_reason(s, what);
  if (s >= 200 && s < 300) return {outcome::success(), std::move(reason)};
  if (s == 0 || (s >= 100 && s < 200)) return transient(c, std::move(reason));
  if (s >= 300 && s < 400) return {outcome::bad_request(), std::move(reason)};  // wrong base URL?
  switch (s) {
    case 401: return {outcome::invalid_key(), std::move(reason)};
    case 402: return {outcome::out_of_credit().with_account_wide(), std::move(reason)};
    case 403: return {outcome::forbidden(), std::move(reason)};
    case 408:
    case 409:  // Anthropic conflict_error: retryable
    case 425: return transient(c, std::move(reason));
    case 429: return rate_limited(c, header_hint(c), std::move(reason), account_wide_limits);
    default: break;
  }
  if (s >= 500) return transient(c, std::move(reason));
  return {outcome::bad_request(), std::move(reason)};
}

inline bool mentions_model_gone(const error_info& e) {
  return e.code == "model_not_found" || e.code == "model_decommissioned" ||
         (contains_icase(e.message, "model") &&
          (contains_icase(e.message, "does not exist") || contains_icase(e.message, "not found") ||
           contains_icase(e.message, "decommissioned") || contains_icase(e.message, "no longer supported")));
}

inline bool mentions_per_day(std::string_view msg) {
  return contains_icase(msg, "per day") || contains(msg, "(RPD)") || contains(msg, "(TPD)");
}

/// When a per-day limit an OpenAI-style 429 names frees: only the hints its
/// provider documents for that limit (hint_authority.hpp), else the day
/// boundary. Groq's x-ratelimit-reset-requests counts down its RPD, OpenAI's
/// its RPM (which says nothing about the day).
inline milliseconds per_day_hint(const context& c, std::string_view msg) {
  const hint_authority& a = authority_for(c.provider.errors);
  const bool tokens = contains_icase(msg, "tokens per day") || contains(msg, "(TPD)");
  std::optional<milliseconds> hint;
  if (a.retry_hint_frees_daily) hint = header_hint(c);
  if (!hint && (tokens ? a.reset_tokens : a.reset_requests) == limit_window::per_day)
    hint = reset_header(c, tokens ? "x-ratelimit-reset-tokens" : "x-ratelimit-reset-requests");
  if (!hint && a.retry_hint_frees_daily) hint = duration_in_message(msg);
  return hint ? *hint : until_day_boundary(c);
}

// ---- OpenAI and OpenAI-compatible (also Groq's base) -----------------------

inline bool openai_out_of_credit(const error_info& e) {
  static constexpr std::string_view codes[] = {
      "insufficient_quota",         "credit_balance_exhausted",          "organization_usage_limit_exceeded",
      "billing_hard_limit_reached", "organization_spend_limit_exceeded", "project_spend_limit_exceeded"};
  if (e.type == "insufficient_quota") return true;
  for (auto c : codes)
    if (e.code == c) return true;
  return false;
}

inline classification openai_like(const context& c, const error_info& e) {
  const std::string what = !e.code.empty() ? e.code : e.type;
  if (c.status == 429) {
    if (openai_out_of_credit(e)) return {outcome::out_of_credit().with_account_wide(), status_reason(429, what)};
    // Limits are per organisation/project: every key of the account waits.
    if (mentions_per_day(e.message))
      return quota_until(c, per_day_hint(c, e.message),
                         status_reason(429, what.empty() ? "per-day limit" : what + " per-day"), true);
    auto hint = header_hint(c);
    if (!hint) hint = openai_reset_hint(c, e.type == "tokens" || contains_icase(e.message, "tokens per"));
    if (!hint) hint = duration_in_message(e.message);
    return rate_limited(c, hint, status_reason(429, what), true);
  }
  if ((c.status == 404 || c.status == 400) && mentions_model_gone(e))
    return {outcome::model_unavailable(), status_reason(c.status, what.empty() ? "model not found" : what)};
  return by_status(c, what, true);
}

// ---- Groq -------------------------------------------------------------------

inline classification groq(const context& c, const error_info& e) {
  // 498: flex tier capacity exceeded, a provider-side condition.
  if (c.status == 498) return transient(c, status_reason(498, e.code.empty() ? "capacity_exceeded" : e.code));
  return openai_like(c, e);
}

// ---- Mistral ----------------------------------------------------------------

inline classification mistral(const context& c, const error_info& e) {
  const std::string what = !e.code.empty() ? e.code : e.type;
  if (c.status == 402) return {outcome::out_of_credit().with_account_wide(), status_reason(402, what)};
  if ((c.status == 400 || c.status == 404) && (e.code == "unknown_model" || e.code == "invalid_model" ||
                                               contains_icase(e.message, "invalid model") || mentions_model_gone(e)))
    return {outcome::model_unavailable(), status_reason(c.status, what.empty() ? "model" : what)};
  if (c.status == 429) {
    // Limits are per workspace; Retry-After is honoured when sent.
    return rate_limited(c, header_hint(c), status_reason(429, what), true);
  }
  return by_status(c, what, true);
}

// ---- Anthropic --------------------------------------------------------------

inline std::optional<milliseconds> anthropic_reset_hint(const context& c) {
  // The reset of an exhausted limit (remaining == 0), else the latest one.
  std::optional<milliseconds> best;
  for (std::string_view kind : {"requests", "tokens", "input-tokens", "output-tokens"}) {
    const std::string base = "anthropic-ratelimit-" + std::string(kind);
    const auto reset = c.h(base + "-reset");
    if (!reset) continue;
    const auto t = parse_rfc3339(*reset);
    if (!t) continue;
    const auto remaining = c.h(base + "-remaining");
    const auto ms = until(*t, c.now);
    if (remaining && trim(*remaining) == "0") return ms;
    if (!best || ms > *best) best = ms;
  }
  return best;
}

inline classification anthropic(const context& c, const error_info& e) {
  const std::string& what = e.type;
  switch (c.status) {
    case 400:
      // A spend limit the user set on the organisation or workspace.
      if (contains(e.message, "reached your specified") && contains(e.message, "usage limits"))
        return {outcome::out_of_credit().with_account_wide(), "400 spend limit"};
      break;
    case 402: return {outcome::out_of_credit().with_account_wide(), status_reason(402, what)};
    case 404:
      if (e.type == "not_found_error" && (e.message.starts_with("model:") || contains_icase(e.message, "model")))
        return {outcome::model_unavailable(), status_reason(404, "model not found")};
      return {outcome::bad_request(), status_reason(404, what)};
    case 429: {
      // The monthly spend cap of the usage tier is a 429 rate_limit_error
      // without retry-after (details.error_code enforced_spend_limit_reached).
      const bool has_retry = c.h("retry-after") || c.h("retry-after-ms");
      if (e.details_error_code == "enforced_spend_limit_reached" || !has_retry)
        return {
            outcome::out_of_credit().with_account_wide(),
            status_reason(429, e.details_error_code.empty() ? "spend limit (no retry-after)" : e.details_error_code)};
      auto hint = header_hint(c);
      if (!hint) hint = anthropic_reset_hint(c);
      return rate_limited(c, hint, status_reason(429, what), true);  // organisation limits
    }
    case 529: return transient(c, status_reason(529, what.empty() ? "overloaded_error" : what));
    default: break;
  }
  return by_status(c, what, true);
}

// ---- Gemini -----------------------------------------------------------------

inline classification gemini(const context& c, const error_info& e) {
  auto has_reason = [&](std::string_view r) {
    for (const auto& x : e.reasons)
      if (x == r) return true;
    return false;
  };
  const std::string what = !e.reasons.empty() ? e.reasons.front() : e.status;
  if (has_reason("API_KEY_INVALID") || has_reason("API_KEY_EXPIRED") ||
      (c.status == 400 && contains(e.message, "API key not valid")))
    return {outcome::invalid_key(),
            status_reason(c.status, has_reason("API_KEY_EXPIRED") ? "API_KEY_EXPIRED" : "API_KEY_INVALID")};
  if (c.status == 400 && e.status == "FAILED_PRECONDITION")  // e.g. free tier not available in the region
    return {outcome::forbidden(), status_reason(400, "FAILED_PRECONDITION")};
  if (c.status == 404 && (e.status == "NOT_FOUND" || contains(e.message, "models/")))
    return {outcome::model_unavailable(), status_reason(404, "model not found")};
  if (c.status == 429) {
    // Quotas are per project and per model.
    bool per_day = false;
    for (const auto& q : e.quota_ids) per_day = per_day || contains(q, "PerDay");
    // Depleted prepaid credits are also RESOURCE_EXHAUSTED, told apart only by
    // the message: waiting a minute will not refill them.
    if (contains_icase(e.message, "credits are depleted"))
      return {outcome::out_of_credit().with_account_wide(), "429 RESOURCE_EXHAUSTED prepayment credits depleted"};
    if (contains(e.message, "limit: 0"))  // this model has no quota on this project's tier
      return {outcome::model_unavailable().with_account_wide(), "429 RESOURCE_EXHAUSTED limit 0"};
    // retryDelay is for the per-minute quotas (hint_authority.hpp): a day's waits for its reset.
    if (per_day) return quota_until(c, until_day_boundary(c), "429 RESOURCE_EXHAUSTED per-day quota", true);
    std::optional<milliseconds> hint = header_hint(c);
    if (!hint && e.retry_delay) hint = parse_proto_duration(*e.retry_delay);
    if (!hint) hint = duration_in_message(e.message);
    return rate_limited(c, hint, status_reason(429, e.status.empty() ? "RESOURCE_EXHAUSTED" : e.status), true);
  }
  return by_status(c, what, true);
}

// ---- Z.AI -------------------------------------------------------------------

/// "Your limit will reset at 2026-09-09 05:38:28" / "将在 2026-09-09 05:38:28 重置":
/// Beijing time without an offset.
inline std::optional<sys_time> zai_reset_time(std::string_view msg) {
  for (std::size_t i = 0; i + 19 <= msg.size(); ++i) {
    if (!(msg[i] >= '0' && msg[i] <= '9')) continue;
    if (auto t = parse_local_datetime(msg.substr(i, 19), std::chrono::hours(8))) return t;
  }
  return std::nullopt;
}

inline classification zai(const context& c, const error_info& e) {
  const long code = code_number(e.code);
  const std::string what = e.code.empty() ? e.type : "code " + e.code;
  auto reason = [&] { return status_reason(c.status, what); };
  if (code >= 1000 && code <= 1005) return {outcome::invalid_key(), reason()};
  switch (code) {
    case 1111: return {outcome::invalid_key(), reason()};  // account does not exist
    case 1110:
    case 1112:
    case 1121: return {outcome::forbidden(), reason()};  // inactive / locked
    case 1113:
    case 1309:  // no balance / plan expired: the whole account
      return {outcome::out_of_credit().with_account_wide(), reason()};
    case 1120: return transient(c, reason());
    case 1211:
    case 1220:
    case 1221:
    case 1222:
    case 1311:  // model missing or not in the plan
      return {outcome::model_unavailable(), reason()};
    case 1302:
    case 1303:  // concurrency / frequency, per account
      return rate_limited(c, header_hint(c), reason(), true);
    case 1304:  // daily call quota
      return quota_until(c, until_day_boundary(c), reason(), true);
    case 1305:
    case 1312: return transient(c, reason());  // traffic limiting / model overloaded
    default: break;
  }
  if (c.status == 429 || code == 1308 || code == 1310) {
    // Usage caps (1308 5-hour, 1310 weekly/monthly, and later codes with the
    // same wording) state their reset time.
    if (auto t = zai_reset_time(e.message)) return quota_until(c, until(*t, c.now), reason(), true);
    if (code == 1308 || code == 1310) return quota_until(c, std::nullopt, reason(), true);
  }
  if ((code >= 1210 && code <= 1299) || code == 1300 || code == 1301) return {outcome::bad_request(), reason()};
  return by_status(c, what, true);
}

// ---- NVIDIA -----------------------------------------------------------------

inline classification nvidia(const context& c, const error_info& e) {
  const std::string& d = e.detail;
  if (c.status == 401) return {outcome::invalid_key(), "401 invalid_token"};
  if (c.status == 403)
    return contains_icase(d, "Authorization failed") || d.empty()
               ? classification{outcome::invalid_key(), "403 Authorization failed"}
               : classification{outcome::forbidden(), "403"};
  // A model not enabled for the account: 404 "Function '…': Not found for
  // account '…'", also 404/410 without a body.
  if (c.status == 404 || c.status == 410)
    return {outcome::model_unavailable(), status_reason(c.status, "function not found")};
  if (c.status == 429) return rate_limited(c, header_hint(c), "429", true);  // ~40 RPM per account
  return by_status(c, {}, true);
}

}  // namespace detail

/// Classifies a response of `provider` received at `now`.
inline classification classify(const providers::provider_descriptor& provider, int status, const header_lookup& headers,
                               std::string_view body, sys_time now, const classify_options& options = {}) {
  const detail::context c{status, headers, now, options, provider};
  if (status >= 200 && status < 300) return {outcome::success(), std::to_string(status)};
  const detail::error_info e = detail::parse_error_body(body);
  using enum providers::error_dialect;
  switch (provider.errors) {
    case openai: return detail::openai_like(c, e);
    case groq: return detail::groq(c, e);
    case mistral: return detail::mistral(c, e);
    case anthropic: return detail::anthropic(c, e);
    case gemini: return detail::gemini(c, e);
    case zai: return detail::zai(c, e);
    case nvidia: return detail::nvidia(c, e);
  }
  return detail::by_status(c, {}, true);
}

/// Same, for a compile-time provider type (keypool::providers::groq, ...).
template <class P>
requires requires { P::descriptor(); }
classification classify(int status, const header_lookup& headers, std::string_view body, sys_time now,
                        const classify_options& options = {}) {
  return classify(P::descriptor(), status, headers, body, now, options);
}

}  // namespace keypool::classify
