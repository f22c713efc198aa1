#pragma once
/// `keypool probe`: one minimal request per key, each through a one-key pool,
/// so every key's resulting state is what a pool would conclude.

#include "../chain_order.hpp"
#include "../commands.hpp"
#include "../detail/format.hpp"
#include "../detail/load.hpp"
#include "../detail/state.hpp"
#include "../options.hpp"

#include <keypool/classify/classifier.hpp>
#include <keypool/config/env_keys.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/client.hpp>
#include <keypool/http/codec.hpp>
#include <keypool/http/transport.hpp>
#include <keypool/http/url.hpp>
#include <keypool/http/wire_request.hpp>
#include <keypool/json/config_json.hpp>
#include <keypool/json/stats_json.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/report/text.hpp>
#include <keypool/wire/provider_text.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::cli {

/// What one probe found.
struct probe_result {
  std::string provider;
  std::string model;
  key_snapshot key;  ///< after the outcome was reported
  outcome result;
  std::string reason;
  unsigned status = 0;
  std::chrono::microseconds latency{0};
};

/// Sends one minimal request with `spec` to `provider` and reports the
/// outcome to a one-key pool, so the resulting state is the pool's verdict.
/// A model that is gone (model_unavailable) is not the key's fault: the next
/// model of `models` is tried with the same key, as the failover client does.
/// The verdict goes to `st` (a probe is a re-check: it runs whatever the
/// store holds, and a key that answers is stored as available again).
inline probe_result probe_key(http::transport& t, const providers::provider_descriptor& provider, const key_spec& spec,
                              const std::vector<std::string>& models, const detail::cli_state& st = {}) {
  detail::cli_pool pool(provider.info(), {spec}, detail::cli_pool::options{.state = st});
  auto lease = pool.acquire_or_throw();
  probe_result r;
  r.provider = provider.id;
  auto base = http::parse_url(provider.base_url);
  for (std::size_t m = 0; m < models.size(); ++m) {
    r.model = models[m];
    r.status = 0;
    wire::chat_request req;
    req.prompt = "Reply with the single word OK.";
    req.max_tokens = 16;
    req.model = models[m];
    if (!base) {
      r.result = outcome::bad_request();
      r.reason = base.error().message;
      break;
    }
    auto enc = http::encode_chat(provider, req, lease.secret(), {base->target});
    if (!enc) {
      r.result = outcome::bad_request();
      r.reason = enc.error().message;
      break;
    }
    auto hreq = http::make_request(*base, std::move(*enc));
    for (const auto& [n, v] : provider.extra_headers)
      if (hreq.headers.find(n) == hreq.headers.end()) hreq.headers.set(n, v);
    const auto start = std::chrono::steady_clock::now();
    auto resp = t.send(std::move(hreq));
    r.latency = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
    if (!resp) {
      r.result = outcome::transient();
      r.reason = resp.error().message;
      break;
    }
    http::scrub_response(*resp, lease.secret(), lease.redacted());
    r.status = resp->status;
    const http::response& res = *resp;
    const auto lookup = [&res](std::string_view n) { return res.header(n); };
    auto c =
        classify::classify(provider, static_cast<int>(res.status), lookup, res.body, std::chrono::system_clock::now());
    r.result = c.result;
    r.reason = c.reason;
    if (c.result.kind == outcome_kind::success && !http::decode_chat(provider, res.body)) {
      r.result = outcome::transient();
      r.reason = "200 but the body does not decode";
    }
    if (r.result.kind != outcome_kind::model_unavailable) break;
  }
  r.reason = wire::scrub_secret(std::move(r.reason), lease.secret(), lease.redacted());
  pool.report(lease, r.result);
  r.key = pool.snapshot().keys.at(0);
  if (r.key.available())  // no transition in a fresh pool: say so to the store
    pool.backend().publish({provider.id, r.key.fingerprint, key_status::available, outcome_kind::success, {}});
  return r;
}

namespace detail {

/// The providers to probe: those named on the command line (all when none
/// is) that have keys. Throws usage_error for a name that is no provider.
inline std::vector<const config::provider_config*> probe_selection(const options& o, const config::key_config& cfg) {
  for (const auto& p : o.positional)
    if (!cfg.find(p)) throw unknown_provider("probe", p.substr(0, 40), cfg);
  std::vector<const config::provider_config*> selected;
  for (const auto& p : cfg.providers) {
    const bool wanted = o.positional.empty() ||
                        std::find(o.positional.begin(), o.positional.end(), p.provider.id) != o.positional.end();
    if (wanted && !p.keys.empty()) selected.push_back(&p);
  }
  return selected;
}

/// The models to probe a provider with: --model (in the order given), else
/// a declared provider's P_MODELS or the catalog's in priority order, else
/// "default".
inline std::vector<std::string> probe_models(const options& o, const std::string& provider,
                                             const config::declared_providers& declared) {
  std::vector<std::string> models;
  if (auto it = o.models.find(provider); it != o.models.end())
    models = it->second;
  else
    models = models_for(provider, "priority", declared);
  if (models.empty()) models.push_back("default");
  return models;
}

/// Probes every key of `selected`, one at a time, with a progress line each.
inline std::vector<probe_result> probe_all(const options& o, const config::declared_providers& declared,
                                           const std::vector<const config::provider_config*>& selected,
                                           std::size_t total, std::ostream& progress, const cli_state& st = {}) {
  std::vector<probe_result> results;
  http::transport t(transport_options_for(o));
  std::size_t n = 0;
  for (const auto* p : selected) {
    const auto models = probe_models(o, p->provider.id, declared);
    for (const auto& k : p->keys) {
      progress << "[" << ++n << "/" << total << "] " << p->provider.id << " " << k.spec.variable << " ("
               << redact(k.spec.secret) << ") ... " << std::flush;
      auto r = probe_key(t, p->provider, k.spec, models, st);
      progress << to_string(r.result.kind) << " (" << r.reason << ") " << r.model << " " << ms_text(r.latency) << "\n";
      results.push_back(std::move(r));
    }
  }
  return results;
}

/// A key object of `probe --json`: the key's statistics plus what the probe saw.
inline boost::json::object probe_json(const probe_result& r) {
  auto k = json::to_json(r.key, r.provider);
  k["model"] = r.model;
  k["outcome"] = std::string(to_string(r.result.kind));
  k["reason"] = r.reason;
  k["status"] = r.status;
  k["latency_ms"] = static_cast<double>(r.latency.count()) / 1000.0;
  if (r.result.retry_after)
    k["retry_after_ms"] = r.result.retry_after->count();
  else
    k["retry_after_ms"] = nullptr;
  return k;
}

inline void print_probe_json(std::ostream& out, const std::vector<probe_result>& results, std::size_t failed,
                             std::size_t rejected, const config::key_config& cfg, bool ok) {
  boost::json::array keys;
  for (const auto& r : results) keys.push_back(probe_json(r));
  boost::json::object root{
      {"version", 1},     {"keys", std::move(keys)}, {"probed", results.size()},
      {"failed", failed}, {"rejected", rejected},    {"diagnostics", json::diagnostics_to_json(cfg.diagnostics)},
      {"ok", ok}};
  out << json_text(root) << "\n";
}

/// Each key's statistics line, grouped by provider, then the tally.
inline void print_probe_text(std::ostream& out, const std::vector<probe_result>& results, std::size_t failed,
                             const config::key_config& cfg) {
  out << "\n";
  std::string current;
  for (const auto& r : results) {
    if (r.provider != current) {
      current = r.provider;
      out << "\xF0\x9F\x94\x91 " << cfg.find(current)->provider.display_name << "\n";
    }
    out << "   " << report::key_line(r.key) << "  [" << r.key.state_name() << "; " << r.reason << "]\n";
  }
  out << "\n" << results.size() - failed << " of " << results.size() << " keys answered\n";
}

}  // namespace detail

}  // namespace keypool::cli
