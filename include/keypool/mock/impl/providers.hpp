#pragma once
/// Out-of-line bodies of provider_fleet (providers.hpp): a request goes
/// through handle_locked()'s steps in order, and the first that refuses
/// answers it.

#include <keypool/core/key.hpp>
#include <keypool/mock/detail/anthropic_shape.hpp>
#include <keypool/mock/detail/error_reply.hpp>
#include <keypool/mock/detail/gemini_shape.hpp>
#include <keypool/mock/detail/openai_shape.hpp>
#include <keypool/mock/detail/rate_limit_headers.hpp>
#include <keypool/mock/detail/stream_body.hpp>
#include <keypool/mock/detail/success_body.hpp>
#include <keypool/mock/detail/text.hpp>
#include <keypool/providers/builtin.hpp>

#include <algorithm>

namespace keypool::mock {

inline provider_fleet::provider_fleet(fleet_config cfg, fleet_clock clock)
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

inline reply provider_fleet::handle(std::string_view method, std::string_view target, const header_lookup& headers,
                                    std::string_view body) {
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

inline bool provider_fleet::dice(runtime& r, double p) {
  if (p <= 0) return false;
  return std::uniform_real_distribution<double>(0, 1)(r.rng) < p;
}

inline std::chrono::milliseconds provider_fleet::latency(runtime& r) const {
  auto d = r.cfg.latency;
  if (r.cfg.jitter.count() > 0)
    d += std::chrono::milliseconds(std::uniform_int_distribution<long long>(0, r.cfg.jitter.count())(r.rng));
  return d;
}

inline reply provider_fleet::refuse(runtime& r, detail::error_kind k, const detail::error_context& c) {
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
inline std::string_view provider_fleet::credential(const runtime& r, const header_lookup& h, std::string_view query) {
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

inline void provider_fleet::add_limit_headers(runtime& r, reply& out, const key_behavior& k, const counter& c,
                                              bool limited, std::chrono::milliseconds reset) const {
  if (!r.cfg.rate_limit_headers) return;
  const detail::limit_snapshot s{k.per_minute, k.per_day, c.minute, c.day_count, limited, reset};
  detail::add_rate_limit_headers(out, r.cfg.id, s, clock_);
}

/// Infrastructure faults: they happen before anything is looked at.
inline std::optional<reply> provider_fleet::inject_fault(runtime& r, std::uint64_t seq) {
  using enum detail::error_kind;
  detail::error_context ec;
  const auto& f = r.cfg.faults;
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
  return std::nullopt;
}

/// Gemini's path: the model and the verb (generateContent, or
/// streamGenerateContent: server-sent events with alt=sse, else a JSON array).
inline bool gemini_route(std::string_view rest, std::string_view query, std::string& model, detail::stream_mode& mode) {
  static constexpr std::string_view models = "/models/", verb = ":generateContent", stream = ":streamGenerateContent";
  if (rest.substr(0, models.size()) != models) return false;
  rest.remove_prefix(models.size());
  const auto ends = [&](std::string_view v) {
    return rest.size() > v.size() && rest.substr(rest.size() - v.size()) == v;
  };
  if (ends(verb)) {
    model = std::string(rest.substr(0, rest.size() - verb.size()));
    return true;
  }
  if (!ends(stream)) return false;
  model = std::string(rest.substr(0, rest.size() - stream.size()));
  const bool sse = ("&" + std::string(query) + "&").find("&alt=sse&") != std::string::npos;
  mode = sse ? detail::stream_mode::sse : detail::stream_mode::json_array;
  return true;
}

/// The path after the base path, and the method; Gemini's path names the
/// model and says whether to stream.
inline auto provider_fleet::check_route(runtime& r, std::string_view method, std::string_view rest,
                                        std::string_view query) -> checked<route_found> {
  using enum detail::error_kind;
  detail::error_context ec;
  route_found found;
  const auto wire = r.desc.wire;
  if (wire == providers::wire_format::gemini_generate_content) {
    if (!gemini_route(rest, query, found.model, found.stream)) {
      ec.message = "Requested entity was not found.";
      return {{}, refuse(r, no_route, ec)};
    }
  } else {
    const std::string_view expect =
        wire == providers::wire_format::anthropic_messages ? "/messages" : "/chat/completions";
    if (rest != expect) {
      ec.message = "Invalid URL (" + std::string(method) + " " + std::string(rest.substr(0, 80)) + ")";
      return {{}, refuse(r, no_route, ec)};
    }
  }
  if (method != "POST") {
    ec.message = "Method " + std::string(method.substr(0, 10)) + " not allowed; use POST";
    ec.status = 405;
    return {{}, refuse(r, bad_request, ec)};
  }
  return {std::move(found), std::nullopt};
}

/// The fleet's key the request carries (revoked keys are unknown keys).
inline auto provider_fleet::authenticate(runtime& r, const header_lookup& h, std::string_view query)
    -> checked<const key_behavior*> {
  using enum detail::error_kind;
  detail::error_context ec;
  const std::string_view secret = credential(r, h, query);
  if (secret.empty()) return {nullptr, refuse(r, missing_key, ec)};
  const key_behavior* key = nullptr;
  for (const auto& k : r.cfg.keys)
    if (k.secret == secret) key = &k;
  if (key == nullptr || key->state == key_state::revoked) {
    ec.redacted = redact(secret);
    ec.malformed_token = secret.substr(0, 6) != "nvapi-";
    return {nullptr, refuse(r, invalid_key, ec)};
  }
  if (r.desc.auth == providers::auth_style::x_api_key && !h("anthropic-version")) {
    ec.message = "anthropic-version: header is required";
    return {nullptr, refuse(r, bad_request, ec)};
  }
  return {key, std::nullopt};
}

/// The body's shape in the provider's wire format, then the model it names.
inline auto provider_fleet::check_request(runtime& r, std::string_view body, route_found route)
    -> checked<detail::parsed_request> {
  using enum detail::error_kind;
  detail::error_context ec;
  if (r.desc.id == "groq" && body.size() > 4u * 1024 * 1024) {
    ec.message = "Request Entity Too Large";
    ec.status = 413;
    return {{}, refuse(r, bad_request, ec)};
  }
  const auto wire = r.desc.wire;
  auto [shape, req] = wire == providers::wire_format::openai_chat          ? detail::openai_shape(body, r.desc)
                      : wire == providers::wire_format::anthropic_messages ? detail::anthropic_shape(body)
                                                                           : detail::gemini_shape(body, route.model);
  if (wire == providers::wire_format::gemini_generate_content) {
    req.model = std::move(route.model);
    req.chat.stream = route.stream;
  }
  if (shape) {
    ec.message = shape->message;
    ec.status = shape->status;
    ec.param = shape->param;
    return {{}, refuse(r, bad_request, ec)};
  }
  ec.model = req.model;
  const auto& cfg = r.cfg;
  if (std::find(cfg.retired.begin(), cfg.retired.end(), req.model) != cfg.retired.end())
    return {{}, refuse(r, model_retired, ec)};
  if (!cfg.models.empty() && std::find(cfg.models.begin(), cfg.models.end(), req.model) == cfg.models.end())
    return {{}, refuse(r, model_not_found, ec)};
  return {std::move(req), std::nullopt};
}

/// Limits count per account (or per key without one); a window that has
/// passed starts afresh.
inline auto provider_fleet::open_window(runtime& r, const key_behavior& key) -> window {
  counter& c = r.counters[key.account.empty() ? "key:" + key.secret : "account:" + key.account];
  const auto now = clock_.now().count();
  if (c.window_start == LLONG_MIN || now - c.window_start >= 60'000) {
    c.window_start = now;
    c.minute = 0;
  }
  window w;
  w.count = &c;
  w.wall = clock_.wall();
  w.day_end = providers::next_day_boundary(r.desc.day, w.wall);
  const long long day = std::chrono::duration_cast<std::chrono::seconds>(w.day_end.time_since_epoch()).count();
  if (c.day != day) {
    c.day = day;
    c.day_count = 0;
  }
  w.minute_reset = std::chrono::milliseconds(c.window_start + 60'000 - now);
  return w;
}

/// The daily quota first (it lasts longer), then the per-minute limit; a
/// request within both is counted.
inline std::optional<reply> provider_fleet::check_limits(runtime& r, const key_behavior& key, const window& w,
                                                         const std::string& model) {
  using enum detail::error_kind;
  counter& c = *w.count;
  detail::error_context ec;
  ec.model = model;
  if (key.per_day && c.day_count >= key.per_day) {
    ec.retry = std::chrono::ceil<std::chrono::milliseconds>(w.day_end - w.wall);
    ec.limit = key.per_day;
    reply out = refuse(r, daily_quota, ec);
    add_limit_headers(r, out, key, c, true, ec.retry);
    return out;
  }
  if (key.per_minute && c.minute >= key.per_minute) {
    ec.retry = w.minute_reset;
    ec.limit = key.per_minute;
    reply out = refuse(r, rate_limited, ec);
    add_limit_headers(r, out, key, c, true, w.minute_reset);
    return out;
  }
  ++c.minute;
  ++c.day_count;
  return std::nullopt;
}

/// Success, unless the body is to be damaged on the way.
inline reply provider_fleet::answer(runtime& r, const key_behavior& key, const window& w,
                                    const detail::parsed_request& req, std::uint64_t seq) {
  r.stats.images += req.images;
  reply out;
  const auto plan = detail::plan_answer(r.desc, req);
  if (req.chat.stream == detail::stream_mode::none) {
    out.body = detail::success_body(r.desc, req, plan, seq, w.wall);
  } else {
    out.body = detail::stream_body(r.desc, req, plan, seq, w.wall);
    if (req.chat.stream == detail::stream_mode::sse) out.content_type = "text/event-stream";
  }
  out.delay = latency(r);
  add_limit_headers(r, out, key, *w.count, false, w.minute_reset);
  const auto& f = r.cfg.faults;
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

inline reply provider_fleet::handle_locked(runtime& r, std::string_view method, std::string_view rest,
                                           std::string_view query, const header_lookup& h, std::string_view body) {
  ++r.stats.requests;
  const std::uint64_t seq = ++r.seq;
  if (auto fault = inject_fault(r, seq)) return std::move(*fault);
  auto [route, bad_route] = check_route(r, method, rest, query);
  if (bad_route) return std::move(*bad_route);
  auto [key, bad_key] = authenticate(r, h, query);
  if (bad_key) return std::move(*bad_key);
  // Provider-wide overload: not the key's fault.
  if (r.cfg.overloaded || dice(r, r.cfg.overload_rate)) return refuse(r, detail::error_kind::overloaded, {});
  auto [req, bad_shape] = check_request(r, body, std::move(route));
  if (bad_shape) return std::move(*bad_shape);
  // The key's own standing.
  detail::error_context ec;
  ec.model = req.model;
  if (key->state == key_state::out_of_credit) return refuse(r, detail::error_kind::out_of_credit, ec);
  if (key->state == key_state::forbidden) return refuse(r, detail::error_kind::forbidden, ec);
  const window w = open_window(r, *key);
  if (auto limited = check_limits(r, *key, w, req.model)) return std::move(*limited);
  return answer(r, *key, w, req, seq);
}

}  // namespace keypool::mock
