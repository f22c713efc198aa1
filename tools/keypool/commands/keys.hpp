#pragma once
/// `keypool keys`: the keys found, redacted, with their per-key settings and
/// the diagnostics of the lines that were not used.

#include "../detail/format.hpp"
#include "../detail/load.hpp"
#include "../options.hpp"

#include <keypool/config/env_keys.hpp>
#include <keypool/core/key.hpp>
#include <keypool/json/config_json.hpp>

#include <cstddef>
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

/// The configuration document of json/config_json.hpp, plus the counts.
inline void print_keys_json(std::ostream& out, const config::key_config& cfg, std::size_t rejected) {
  auto v = json::config_to_json(cfg);
  auto& root = v.as_object();
  // Every key object carries the same fields as in `probe`: a fresh
  // process has used no key yet.
  for (auto& p : root["providers"].as_array()) {
    auto& po = p.as_object();
    if (const auto* url = po.if_contains("base_url"); url && url->is_string())
      po["base_url"] = shown_base_url(url->as_string());
    for (auto& k : po["keys"].as_array()) {
      auto& ko = k.as_object();
      ko["state"] = "available";
      ko["available_in_ms"] = 0;
      ko["requests"] = 0;
      ko["failures"] = 0;
    }
  }
  root["key_count"] = cfg.key_count();
  root["rejected"] = rejected;
  root["ok"] = rejected == 0;
  out << json_text(v) << "\n";
}

/// A block per provider with keys, then the diagnostics (rejections on `err`).
inline void print_keys_text(std::ostream& out, std::ostream& err, const config::key_config& cfg) {
  std::size_t with_keys = 0;
  for (const auto& p : cfg.providers) with_keys += !p.keys.empty();
  out << "keypool: " << cfg.key_count() << " key" << (cfg.key_count() == 1 ? "" : "s") << " for " << with_keys
      << " provider" << (with_keys == 1 ? "" : "s") << "\n";
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
      out << "  " << k.source.to_string() << settings << "\n";
    }
  }
  if (!cfg.diagnostics.empty()) {
    out << "\n";
    for (const auto& d : cfg.diagnostics) (is_rejection(d) ? err : out) << d.to_string() << "\n";
  }
}

}  // namespace detail

inline int keys(const options& o, std::ostream& out, std::ostream& err) {
  const auto cfg = detail::load_keys(o);
  const std::size_t rejected = detail::rejections(cfg.diagnostics);
  err << detail::no_keys_hint(o, cfg);
  if (o.json) {
    detail::print_keys_json(out, cfg, rejected);
    return rejected ? exit_failed : exit_ok;
  }
  detail::print_keys_text(out, err, cfg);
  if (rejected)
    err << "keypool: " << rejected << " key" << (rejected == 1 ? "" : "s") << " or line" << (rejected == 1 ? "" : "s")
        << " rejected\n";
  return rejected ? exit_failed : exit_ok;
}

}  // namespace keypool::cli
