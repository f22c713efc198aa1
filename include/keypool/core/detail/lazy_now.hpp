#pragma once
/// The clock as one acquire() needs it: read at most once, and only if a
/// candidate key is locked.

#include <keypool/clock/concept.hpp>
#include <keypool/core/detail/attributes.hpp>
#include <keypool/core/detail/key_state.hpp>

#include <cstdint>

namespace keypool::detail {

/// Reads each clock at most once per acquire, and only if needed: a locked
/// key whose lockout is clearly not over (beyond the coarse clock's lag) is
/// skipped on the coarse clock alone, which is several times cheaper to read.
template <class Clock>
struct lazy_now {
  const Clock& clock;
  clock_ms lag;  ///< the pool's copy of clock.coarse_lag()
  std::uint64_t value = 0, coarse_value = 0;
  bool read = false, coarse_read = false;
  KEYPOOL_ALWAYS_INLINE std::uint64_t get() noexcept {
    if (!read) {
      value = key_state::to_until(clock.now());
      read = true;
    }
    return value;
  }
  /// A time no earlier than now().
  KEYPOOL_ALWAYS_INLINE std::uint64_t upper_bound() noexcept {
    if (read) return value;
    if (!coarse_read) {
      coarse_value = key_state::to_until(clock.coarse_now() + lag);
      coarse_read = true;
    }
    return coarse_value;
  }
};

}  // namespace keypool::detail
