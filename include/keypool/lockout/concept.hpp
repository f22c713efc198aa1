#pragma once
/// Policy tag `policy::lockout<L>`: how long a key sits out after the
/// provider said "slow down" (rate_limited) or "quota spent"
/// (quota_exhausted). Keys that are invalid, forbidden or out of credit are
/// disabled by the pool instead, whatever the policy.
///
/// Concept: `lockout_policy` below: copyable, with
/// `std::chrono::milliseconds lockout_for(const outcome&, const
/// lockout_context&) const noexcept`; zero means "do not lock".
///
/// Default: `lockout::hinted`: the provider's time when it gives one,
/// clamped to [1 s, 24 h] (quotas: 31 days), else 60 s.
///
/// Shipped: `hinted`, `fixed` (a set time; a quota reset hint wins), `exponential`
/// (doubling per lockout, decayed by successes, jittered), `retry_after`
/// (the provider's hint, clamped) and `none`, each in
/// `keypool/lockout/<name>.hpp`.

#include <keypool/core/outcome.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>

namespace keypool {

/// What the pool knows about the key when it asks for a lockout.
struct lockout_context {
  std::uint32_t consecutive_failures = 1;  ///< including this one; a success resets it
  std::uint32_t ejections = 0;             ///< earlier lockouts, decayed by successes
  std::uint64_t seed = 0;                  ///< per key and event, for jitter
};

template <class L>
concept lockout_policy = std::copy_constructible<L> &&
    requires(const L& l, const outcome& o, const lockout_context& c) {
  /// Zero means "do not lock".
  { l.lockout_for(o, c) }
  noexcept->std::same_as<std::chrono::milliseconds>;
};

}  // namespace keypool
