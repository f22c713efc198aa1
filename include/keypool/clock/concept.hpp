#pragma once
/// Policy tag `policy::clock<C>`: the clock a pool reads. Pools read the fine
/// clock only when a candidate key is locked, the coarse clock when they
/// stamp "last used", and the wall clock only for keys with a daily limit.
///
/// Concept: `clock_source` below: copyable, with now(), coarse_now(),
/// coarse_lag() and wall_now(), all const noexcept.
///
/// Default: `clock::steady` (std::chrono::steady_clock, and the kernel's
/// coarse clock for stamps).
///
/// Shipped: `steady`, `ticking` (stamps from a time a background thread
/// refreshes) and `manual` (moves only when told: tests), each in
/// `keypool/clock/<name>.hpp`.

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
