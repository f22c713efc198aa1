#pragma once
/// Never lock a key for a rate limit (the caller handles back-off, or the
/// keys are behind a proxy that queues). Invalid, forbidden and out-of-credit
/// keys are still disabled: no policy makes a dead key work.

#include <keypool/lockout/concept.hpp>

#include <chrono>

namespace keypool::lockout {

struct none {
  std::chrono::milliseconds lockout_for(const outcome&, const lockout_context&) const noexcept {
    return std::chrono::milliseconds{0};
  }
};

static_assert(lockout_policy<none>);

}  // namespace keypool::lockout
