#pragma once
/// clock::steady, except that the coarse reading (the "last used" stamp a
/// pool takes on every report) is one load of a time a background thread
/// refreshes every millisecond, as Seastar's lowres_clock and nginx's cached
/// time do: a load instead of a call into the kernel's vDSO on every report.
///
/// The price is that thread: one per process, started by the first ticking
/// clock and ending about a millisecond after the last copy is destroyed. Pick
/// it for pools that serve tens of millions of picks a second; for requests
/// that go over the network, clock::steady costs nothing noticeable.
///
/// Lockouts stay exact: a pool rules a locked key out on the coarse time only
/// when the lockout has coarse_lag() (50 ms) or more to run, and reads the
/// fine clock otherwise. After fork() the child has no ticker and reads the
/// kernel's coarse clock, like clock::steady.

#include <keypool/clock/concept.hpp>
#include <keypool/clock/detail/ticker.hpp>
#include <keypool/clock/steady.hpp>

#include <chrono>

namespace keypool::clock {

class ticking {
 public:
  ticking() { detail::ticker::instance().retain(); }
  ticking(const ticking&) : ticking() {}
  ticking& operator=(const ticking&) noexcept { return *this; }
  ~ticking() { detail::ticker::instance().release(); }

  clock_ms now() const noexcept { return steady{}.now(); }

  /// At most a period plus the ticker's scheduling delay behind now().
  clock_ms coarse_now() const noexcept {
    const auto ms = detail::ticker::published_ms.load(std::memory_order_relaxed);
    if (ms != 0) [[likely]]
      return clock_ms(ms);
    return steady{}.coarse_now();
  }

  /// Generous on purpose: a ticker delayed longer than this (a starved
  /// machine) would keep an expired lockout a little longer, never shorter.
  clock_ms coarse_lag() const noexcept { return clock_ms(50); }

  std::chrono::system_clock::time_point wall_now() const noexcept { return std::chrono::system_clock::now(); }
};

static_assert(clock_source<ticking>);

}  // namespace keypool::clock
