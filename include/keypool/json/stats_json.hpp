#pragma once
/// Statistics as JSON (Boost.JSON). Field names are stable and documented in
/// docs/cli.md; every key object carries provider, variable, redacted,
/// fingerprint, state, available_in_ms, requests, failures. Never a secret:
/// snapshots do not hold one.

#include <keypool/core/outcome.hpp>
#include <keypool/core/stats.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <span>

namespace keypool::json {

inline boost::json::object to_json(const key_snapshot& k, std::string_view provider_id) {
  boost::json::object o;
  o["provider"] = provider_id;
  o["variable"] = k.variable;
  o["redacted"] = k.redacted;
  o["fingerprint"] = k.fingerprint;
  o["state"] = k.state_name();
  o["probing"] = k.status == key_status::probing;
  if (k.available_in)
    o["available_in_ms"] = k.available_in->count();
  else if (k.available())
    o["available_in_ms"] = 0;
  else
    o["available_in_ms"] = nullptr;  // disabled with no automatic re-check
  o["requests"] = k.requests;
  o["successes"] = k.successes();
  o["failures"] = k.failures();
  boost::json::object by_kind;
  for (std::size_t i = 1; i < outcome_kind_count; ++i) by_kind[to_string(static_cast<outcome_kind>(i))] = k.outcomes[i];
  o["failures_by_kind"] = std::move(by_kind);
  o["consecutive_failures"] = k.consecutive_failures;
  if (k.last_used_ago)
    o["last_used_ms_ago"] = k.last_used_ago->count();
  else
    o["last_used_ms_ago"] = nullptr;
  o["weight"] = k.weight;
  o["account"] = k.account;
  o["daily_limit"] = k.daily_limit;
  o["daily_used"] = k.daily_used;
  return o;
}

inline boost::json::object to_json(const pool_snapshot& p) {
  boost::json::object o;
  o["provider"] = p.provider_id;
  o["display_name"] = p.provider;
  o["total_keys"] = p.total_keys();
  o["available"] = p.available();
  o["rate_limited"] = p.rate_limited();
  o["requests"] = p.requests();
  o["failures"] = p.failures();
  o["misuse"] = p.misuse;  // reports the pool ignored (pool_snapshot::misuse)
  boost::json::array keys;
  for (const auto& k : p.keys) keys.push_back(to_json(k, p.provider_id));
  o["keys"] = std::move(keys);
  return o;
}

/// {"providers": [...]} for a chain's snapshot.
inline boost::json::object to_json(std::span<const pool_snapshot> pools) {
  boost::json::array arr;
  for (const auto& p : pools) arr.push_back(to_json(p));
  boost::json::object o;
  o["providers"] = std::move(arr);
  return o;
}

}  // namespace keypool::json
