#pragma once
/// `keypool keys`: the keys found, redacted, with their per-key settings and
/// the diagnostics of the lines that were not used.

#include "../commands.hpp"
#include "../detail/format.hpp"
#include "../detail/load.hpp"
#include "../detail/state.hpp"
#include "../options.hpp"

#include <keypool/config/env_keys.hpp>
#include <keypool/core/key.hpp>
#include <keypool/core/stats.hpp>
#include <keypool/json/config_json.hpp>
#include <keypool/spend/spend.hpp>
#include <keypool/state/stored_spend.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <map>
#include <ostream>
#include <string>
#include <string_view>

namespace keypool::cli {

namespace detail {

/// One line per key: "GROQ_API_KEY_1  gsk_…1037  fp 1a2b3c4d5e6f".
inline std::string key_label(std::string_view variable, std::string_view redacted, std::string_view fp) {
  std::string s(variable);
  if (s.size() < 22) s.append(22 - s.size(), ' ');
  s += "  ";
  s += redacted;
  s += "  fingerprint ";
  s += fp;
  return s;
}

/// A base URL as `keys` prints it: a query may carry a token
/// (`?api_key=...`), so it reads `?<redacted>`. Userinfo never gets this far
/// (refused at load).
inline std::string shown_base_url(std::string_view url) {
  const auto q = url.find('?');
  return q == std::string_view::npos ? std::string(url) : std::string(url.substr(0, q)) + "?<redacted>";
}

/// Each key's state as the store holds it, by "provider/fingerprint": what a
/// pool attached to the store starts from.
using stored_states = std::map<std::string, key_snapshot>;

inline stored_states read_stored_states(const config::key_config& cfg, cli_state& st) {
  stored_states out;
  for (const auto& p : cfg.providers) {
    if (p.keys.empty()) continue;
    cli_pool pool(p.provider.info(), p.key_specs());  // publishes nothing: reads only
    const auto link = st.attach(pool);
    for (auto& k : pool.snapshot().keys) out[p.provider.id + "/" + k.fingerprint] = std::move(k);
  }
  return out;
}

/// The stored spend per "provider/fingerprint", over its models.
using stored_spends = std::map<std::string, state::stored_spend>;

inline stored_spends read_stored_spend(cli_state& st) {
  stored_spends out;
  for (const auto& r : st.load_spend()) {
    auto& t = out[r.provider + "/" + r.fingerprint];
    t.requests += r.requests;
    t.input_tokens += r.input_tokens;
    t.output_tokens += r.output_tokens;
    t.cost_nusd += r.cost_nusd;
  }
  return out;
}

inline std::string stored_spend_text(const state::stored_spend& s) {
  return ", spent " + spend::format_usd(static_cast<double>(s.cost_nusd) / 1e9) + " in " + std::to_string(s.requests) +
         " request" + (s.requests == 1 ? "" : "s");
}

inline boost::json::object stored_spend_json(const state::stored_spend& s) {
  return {{"requests", s.requests},
          {"input_tokens", s.input_tokens},
          {"output_tokens", s.output_tokens},
          {"cost_usd", static_cast<double>(s.cost_nusd) / 1e9}};
}

/// ", rate_limited for 42 s" / ", invalid (re-checked in 15 min)"; empty when available.
inline std::string stored_state_text(const key_snapshot& k) {
  if (k.available()) return {};
  std::string s = ", stored state " + std::string(k.state_name());
  if (k.available_in)
    s += " for " + std::to_string(std::chrono::ceil<std::chrono::seconds>(*k.available_in).count()) + " s";
  return s;
}

inline boost::json::object state_json(const cli_state& st) {
  const auto& w = st.where();
  const char* kind = w.kind == state_choice::store::sqlite  ? "sqlite"
                     : w.kind == state_choice::store::redis ? "redis"
                                                            : "memory";
  boost::json::object o{{"store", kind}, {"origin", w.origin}};
  o["location"] = w.location.empty() ? boost::json::value(nullptr) : boost::json::value(w.location);
  return o;
}

/// The configuration document of json/config_json.hpp, plus the counts,
/// where state lives and each key's stored state.
inline void print_keys_json(std::ostream& out, const config::key_config& cfg, std::size_t rejected,
                            const cli_state& st = {}, const stored_states& stored = {},
                            const stored_spends& spent = {}) {
  auto v = json::config_to_json(cfg);
  auto& root = v.as_object();
  // Every key object carries the same fields as in `probe`: a fresh
  // process has used no key yet; its state is the stored one.
  for (auto& p : root["providers"].as_array()) {
    auto& po = p.as_object();
    const std::string id(po["id"].as_string());
    if (const auto* url = po.if_contains("base_url"); url && url->is_string())
      po["base_url"] = shown_base_url(url->as_string());
    for (auto& k : po["keys"].as_array()) {
      auto& ko = k.as_object();
      const auto it = stored.find(id + "/" + std::string(ko["fingerprint"].as_string()));
      const bool known = it != stored.end();
      ko["state"] = known ? std::string(it->second.state_name()) : "available";
      ko["available_in_ms"] = known && it->second.available_in ? it->second.available_in->count() : 0;
      const auto sp = spent.find(id + "/" + std::string(ko["fingerprint"].as_string()));
      ko["spend"] = stored_spend_json(sp != spent.end() ? sp->second : state::stored_spend{});
      ko["requests"] = 0;
      ko["failures"] = 0;
    }
  }
  root["key_count"] = cfg.key_count();
  root["rejected"] = rejected;
  root["ok"] = rejected == 0;
  root["state"] = state_json(st);
  out << json_text(v) << "\n";
}

/// A block per provider with keys, then the diagnostics (rejections on `err`).
inline void print_keys_text(std::ostream& out, std::ostream& err, const config::key_config& cfg,
                            const cli_state& st = {}, const stored_states& stored = {},
                            const stored_spends& spent = {}) {
  std::size_t with_keys = 0;
  for (const auto& p : cfg.providers) with_keys += !p.keys.empty();
  out << "keypool: " << cfg.key_count() << " key" << (cfg.key_count() == 1 ? "" : "s") << " for " << with_keys
      << " provider" << (with_keys == 1 ? "" : "s") << "\n";
  out << "key state: " << st.describe() << "\n";
  for (const auto& p : cfg.providers) {
    if (p.keys.empty()) continue;
    out << "\n\xF0\x9F\x94\x91 " << p.provider.display_name << "  " << shown_base_url(p.provider.base_url)
        << (p.base_url_overridden ? "  (overridden)" : "") << "\n";
    for (const auto& k : p.keys) {
      out << "   " << key_label(k.spec.variable, redact(k.spec.secret), fingerprint(k.spec.secret));
      std::string settings;
      if (k.spec.weight != 1) settings += ", weight " + std::to_string(k.spec.weight);
      if (!k.spec.account.empty()) settings += ", account " + k.spec.account;
      if (k.spec.daily_limit) settings += ", daily limit " + std::to_string(k.spec.daily_limit);
      if (const auto it = stored.find(p.provider.id + "/" + fingerprint(k.spec.secret)); it != stored.end())
        settings += stored_state_text(it->second);
      if (const auto it = spent.find(p.provider.id + "/" + fingerprint(k.spec.secret)); it != spent.end())
        settings += stored_spend_text(it->second);
      out << "  " << k.source.to_string() << settings << "\n";
    }
  }
  if (!cfg.diagnostics.empty()) {
    out << "\n";
    for (const auto& d : cfg.diagnostics) (is_rejection(d) ? err : out) << d.to_string() << "\n";
  }
}

}  // namespace detail

}  // namespace keypool::cli
