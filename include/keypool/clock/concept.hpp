#pragma once
/// The clock a pool reads. Pools read the fine clock only when a candidate key
/// is locked, the coarse clock when they stamp "last used", and the wall clock
/// only for keys with a daily limit.

#include <chrono>
#include <concepts>

namespace keypool {

/// Monotonic time as milliseconds since the clock's own epoch.
using clock_ms = std::chrono::milliseconds;

template <class C>
concept clock_source = std::copy_constructible<C> && requires(const C& c) {
  { c.now() }
  noexcept->std::same_as<clock_ms>;  ///< precise monotonic time
  { c.coarse_now() }
  noexcept->std::same_as<clock_ms>;  ///< cheap, at most coarse_lag() behind now()
  { c.coarse_lag() }
  noexcept->std::same_as<clock_ms>;
  { c.wall_now() }
  noexcept->std::same_as<std::chrono::system_clock::time_point>;
};

}  // namespace keypool
