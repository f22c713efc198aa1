#pragma once
/// The loaded key configuration as JSON (Boost.JSON), for CLIs, dashboards
/// and bug reports. Keys appear by variable name, redacted form and
/// fingerprint only: the secret is never written.
///
/// Schema (version 1):
///   { "version": 1,
///     "providers": [ { "id", "display_name", "env_prefix", "base_url",
///                      "base_url_overridden", "auth", "wire_format",
///                      "key_count",
///                      "keys": [ { "provider", "variable", "number",
///                                  "redacted", "fingerprint", "weight",
///                                  "account", "daily_limit", "source" } ] } ],
///     "diagnostics": [ { "file", "line", "variable", "severity", "message" } ] }
/// `account` is null when not set, `daily_limit` 0 means unlimited, `source`
/// is "file:line" or "<environment>".

#include <keypool/config/env_keys.hpp>
#include <keypool/core/key.hpp>

#include <boost/json.hpp>

#include <string>

namespace keypool::json {

inline boost::json::object to_json(const config::diagnostic& d) {
  return boost::json::object{{"file", d.file},
                             {"line", d.line},
                             {"variable", d.variable},
                             {"severity", std::string(config::to_string(d.level))},
                             {"message", d.message}};
}

inline boost::json::array diagnostics_to_json(const std::vector<config::diagnostic>& ds) {
  boost::json::array out;
  for (const auto& d : ds) out.push_back(to_json(d));
  return out;
}

/// One key: everything but the secret.
inline boost::json::object to_json(const config::configured_key& k, std::string_view provider_id) {
  boost::json::object o;
  o["provider"] = provider_id;
  o["variable"] = k.spec.variable;
  o["number"] = k.number;
  o["redacted"] = redact(k.spec.secret);
  o["fingerprint"] = fingerprint(k.spec.secret);
  o["weight"] = k.spec.weight;
  if (k.spec.account.empty())
    o["account"] = nullptr;
  else
    o["account"] = k.spec.account;
  o["daily_limit"] = k.spec.daily_limit;
  o["source"] = k.source.to_string();
  return o;
}

inline boost::json::object to_json(const config::provider_config& p) {
  boost::json::array keys;
  for (const auto& k : p.keys) keys.push_back(to_json(k, p.provider.id));
  return boost::json::object{{"id", p.provider.id},
                             {"display_name", p.provider.display_name},
                             {"env_prefix", p.provider.env_prefix},
                             {"base_url", p.provider.base_url},
                             {"base_url_overridden", p.base_url_overridden},
                             {"auth", std::string(providers::to_string(p.provider.auth))},
                             {"wire_format", std::string(providers::to_string(p.provider.wire))},
                             {"key_count", p.keys.size()},
                             {"keys", std::move(keys)}};
}

/// The whole configuration (schema above).
inline boost::json::value config_to_json(const config::key_config& cfg) {
  boost::json::array providers;
  for (const auto& p : cfg.providers) providers.push_back(to_json(p));
  return boost::json::object{
      {"version", 1}, {"providers", std::move(providers)}, {"diagnostics", diagnostics_to_json(cfg.diagnostics)}};
}

/// Compact JSON text of the configuration.
inline std::string config_to_json_string(const config::key_config& cfg) {
  return boost::json::serialize(config_to_json(cfg));
}

}  // namespace keypool::json
