#pragma once
/// Trusts the provider's hint (Retry-After, retryDelay, x-ratelimit-reset-*),
/// within bounds: a hint below `min` or above `max` is clamped, none at all
/// falls back to `fallback`. Quota resets may be far away (a day), so they
/// get their own cap.

#include <keypool/lockout/concept.hpp>

#include <algorithm>
#include <chrono>

namespace keypool::lockout {

struct retry_after {
  std::chrono::milliseconds fallback{std::chrono::seconds{60}};
  std::chrono::milliseconds min{std::chrono::seconds{1}};
  std::chrono::milliseconds max{std::chrono::hours{1}};
  std::chrono::milliseconds max_quota{std::chrono::hours{25}};

  std::chrono::milliseconds lockout_for(const outcome& o, const lockout_context&) const noexcept {
    if (!o.retry_after) return fallback;
    const auto cap = o.kind == outcome_kind::quota_exhausted ? max_quota : max;
    return std::clamp(*o.retry_after, min, std::max(min, cap));
  }
};

static_assert(lockout_policy<retry_after>);

}  // namespace keypool::lockout
