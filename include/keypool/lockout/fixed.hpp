#pragma once
/// The simplest rule: a rate-limited key sits out a fixed time (60 s).
/// A spent quota still waits for its reset when the provider names one: a
/// daily quota does not clear in 60 s.

#include <keypool/lockout/concept.hpp>

#include <algorithm>
#include <chrono>

namespace keypool::lockout {

struct fixed {
  std::chrono::milliseconds duration{std::chrono::seconds{60}};

  std::chrono::milliseconds lockout_for(const outcome& o, const lockout_context&) const noexcept {
    if (o.kind == outcome_kind::quota_exhausted && o.retry_after) return std::max(duration, *o.retry_after);
    return duration;
  }
};

static_assert(lockout_policy<fixed>);

}  // namespace keypool::lockout
