#pragma once
/// Power of two choices over in-flight requests: draw two keys at random and
/// take the one with fewer unfinished requests. Near-optimal balance when
/// requests have very different durations (vision requests do). The cost is
/// shared writes: the pool counts in-flight requests per key on acquire and
/// report, so picks touch a shared line.

#include <keypool/selection/random.hpp>

namespace keypool::selection {

struct least_loaded {
  static constexpr bool tracks_in_flight = true;
  struct thread_state {
    std::uint64_t s = 0;
  };
  /// Wait-free (reads two shared counters).
  std::uint32_t next(thread_state& ts, const candidates& c) noexcept {
    const std::uint64_t r = detail::next_random(ts.s);
    const std::uint32_t a = detail::bounded(r, c.size());
    const std::uint32_t b = detail::bounded(r << 32 | r >> 32, c.size());
    return c.in_flight(b) < c.in_flight(a) ? b : a;
  }
};

static_assert(selection_strategy<least_loaded>);

}  // namespace keypool::selection
