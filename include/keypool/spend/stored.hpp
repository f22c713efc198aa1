#pragma once
/// The spend ledger to and from what a state store keeps
/// (state::stored_spend: by provider, fingerprint and model, never a secret
/// nor a variable name), so spend survives restarts:
///
///   for (const auto& r : *store.load_spend()) ledger.restore(spend::from_stored(r, variable_of(r)));
///   ... requests ...
///   store.add_spend(spend::to_stored(spend::since(start, ledger.snapshot())));   // off the request path

#include <keypool/spend/spend.hpp>
#include <keypool/state/stored_spend.hpp>

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace keypool::spend {

inline std::uint64_t to_nusd(double usd) { return usd > 0 ? static_cast<std::uint64_t>(std::llround(usd * 1e9)) : 0; }

/// The ledger's rows as a store keeps them.
inline std::vector<state::stored_spend> to_stored(const spend_snapshot& s) {
  std::vector<state::stored_spend> out;
  out.reserve(s.keys.size());
  for (const auto& k : s.keys)
    out.push_back({k.provider_id, k.fingerprint, k.model, k.requests, k.input_tokens, k.output_tokens,
                   to_nusd(k.cost_usd), k.priced});
  return out;
}

/// A stored row as a ledger row; `variable` names the key in reports (the
/// store does not keep it: pass the configured key's, or the fingerprint).
inline key_spend from_stored(const state::stored_spend& r, std::string variable) {
  return {r.provider,
          {},
          std::move(variable),
          r.fingerprint,
          r.model,
          r.requests,
          r.input_tokens,
          r.output_tokens,
          static_cast<double>(r.cost_nusd) / 1e9,
          r.priced};
}

/// What `now` holds beyond `before` (two snapshots of one ledger): the rows
/// to add to a store since the last write.
inline spend_snapshot since(const spend_snapshot& before, spend_snapshot now) {
  std::map<std::tuple<std::string, std::string, std::string>, const key_spend*> old;
  for (const auto& k : before.keys) old[{k.provider_id, k.fingerprint, k.model}] = &k;
  std::vector<key_spend> delta;
  for (auto& k : now.keys) {
    if (const auto it = old.find({k.provider_id, k.fingerprint, k.model}); it != old.end()) {
      k.requests -= it->second->requests;
      k.input_tokens -= it->second->input_tokens;
      k.output_tokens -= it->second->output_tokens;
      k.cost_usd -= it->second->cost_usd;
    }
    if (k.requests != 0) delta.push_back(std::move(k));
  }
  now.keys = std::move(delta);
  return now;
}

}  // namespace keypool::spend
