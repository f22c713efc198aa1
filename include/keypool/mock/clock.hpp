#pragma once
/// The time the mock fleet counts its rate-limit windows and days by: the
/// real clocks, or any keypool clock (clock::manual in tests, so a 60 s
/// window passes with advance(60s) instead of a sleep, for the fleet and the
/// pools at once).

#include <keypool/clock/concept.hpp>

#include <chrono>
#include <functional>

namespace keypool::mock {

struct fleet_clock {
  /// Monotonic milliseconds (rate-limit windows).
  std::function<std::chrono::milliseconds()> now;
  /// Wall time (provider days, Anthropic's RFC 3339 reset headers).
  std::function<std::chrono::system_clock::time_point()> wall;

  /// steady_clock and system_clock.
  static fleet_clock real() {
    return {[] {
              return std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now().time_since_epoch());
            },
            [] { return std::chrono::system_clock::now(); }};
  }

  /// Follows a keypool clock source (copies of clock::manual share one time).
  template <clock_source C>
  static fleet_clock from(C c) {
    return {[c] { return std::chrono::milliseconds(c.now().count()); }, [c] { return c.wall_now(); }};
  }
};

}  // namespace keypool::mock
