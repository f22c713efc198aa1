#pragma once
/// The default clock: std::chrono::steady_clock for lockouts, the kernel's
/// coarse monotonic clock (several times cheaper to read, called in the vDSO
/// directly: clock/detail/vdso.hpp) for statistics timestamps.

#include <keypool/clock/concept.hpp>
#include <keypool/clock/detail/vdso.hpp>

#include <chrono>
#include <ctime>

namespace keypool::clock {

struct steady {
  clock_ms now() const noexcept {
    return std::chrono::duration_cast<clock_ms>(std::chrono::steady_clock::now().time_since_epoch());
  }
  clock_ms coarse_now() const noexcept {
#if defined(CLOCK_MONOTONIC_COARSE)
    // Same epoch as CLOCK_MONOTONIC, which libstdc++'s steady_clock reads on Linux.
    timespec ts;
    detail::gettime(CLOCK_MONOTONIC_COARSE, ts);
    // tv_nsec is in [0, 1e9): an unsigned division needs no sign fix-up.
    return clock_ms(static_cast<long long>(ts.tv_sec) * 1000 +
                    static_cast<long long>(static_cast<unsigned long>(ts.tv_nsec) / 1000000u));
#else
    return now();
#endif
  }
  /// One tick of the coarse clock plus rounding (clock_getres, read once).
  clock_ms coarse_lag() const noexcept {
#if defined(CLOCK_MONOTONIC_COARSE)
    static const clock_ms lag = [] {
      timespec res{};
      ::clock_getres(CLOCK_MONOTONIC_COARSE, &res);
      return clock_ms(static_cast<long long>(res.tv_sec) * 1000 + res.tv_nsec / 1000000 + 2);
    }();
    return lag;
#else
    return clock_ms(0);
#endif
  }
  std::chrono::system_clock::time_point wall_now() const noexcept { return std::chrono::system_clock::now(); }
};

static_assert(clock_source<steady>);

}  // namespace keypool::clock
