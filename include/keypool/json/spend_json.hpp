#pragma once
/// The spend ledger's snapshot as JSON (Boost.JSON):
///
///   {"cost_usd": 0.0123, "requests": 12, "input_tokens": 1200, "output_tokens": 300,
///    "providers": [{"provider", "display_name", "requests", "input_tokens",
///                   "output_tokens", "cost_usd", "cap_usd" (null: none), "cap_reached"}],
///    "models":    [{"provider", "model", "requests", "input_tokens", "output_tokens", "cost_usd"}],
///    "keys":      [{"provider", "variable", "fingerprint", "model", "requests",
///                   "input_tokens", "output_tokens", "cost_usd", "priced"}]}
///
/// Never a secret: the ledger does not hold one.

#include <keypool/spend/spend.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace keypool::json {

inline boost::json::object to_json(const spend::provider_spend& p) {
  boost::json::object o;
  o["provider"] = p.provider_id;
  o["display_name"] = p.provider;
  o["requests"] = p.requests;
  o["input_tokens"] = p.input_tokens;
  o["output_tokens"] = p.output_tokens;
  o["cost_usd"] = p.cost_usd;
  if (p.cap_usd)
    o["cap_usd"] = *p.cap_usd;
  else
    o["cap_usd"] = nullptr;
  o["cap_reached"] = p.cap_reached;
  return o;
}

inline boost::json::object to_json(const spend::model_spend& m) {
  boost::json::object o;
  o["provider"] = m.provider_id;
  o["model"] = m.model;
  o["requests"] = m.requests;
  o["input_tokens"] = m.input_tokens;
  o["output_tokens"] = m.output_tokens;
  o["cost_usd"] = m.cost_usd;
  return o;
}

inline boost::json::object to_json(const spend::key_spend& k) {
  boost::json::object o;
  o["provider"] = k.provider_id;
  o["variable"] = k.variable;
  o["fingerprint"] = k.fingerprint;
  o["model"] = k.model;
  o["requests"] = k.requests;
  o["input_tokens"] = k.input_tokens;
  o["output_tokens"] = k.output_tokens;
  o["cost_usd"] = k.cost_usd;
  o["priced"] = k.priced;
  return o;
}

inline boost::json::object to_json(const spend::spend_snapshot& s) {
  boost::json::object o;
  o["cost_usd"] = s.cost_usd;
  o["requests"] = s.requests;
  o["input_tokens"] = s.input_tokens;
  o["output_tokens"] = s.output_tokens;
  boost::json::array providers, models, keys;
  for (const auto& p : s.providers) providers.push_back(to_json(p));
  for (const auto& m : s.models) models.push_back(to_json(m));
  for (const auto& k : s.keys) keys.push_back(to_json(k));
  o["providers"] = std::move(providers);
  o["models"] = std::move(models);
  o["keys"] = std::move(keys);
  return o;
}

}  // namespace keypool::json
