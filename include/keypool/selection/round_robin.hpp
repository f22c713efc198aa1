#pragma once
/// Round robin, kept per thread: each thread walks key 1, 2,
/// 3, 1, … exactly, and no pick writes shared memory. Across threads the
/// load is even on average but not a single global order; use
/// strict_round_robin for that.

#include <keypool/selection/concept.hpp>

namespace keypool::selection {

struct round_robin {
  struct thread_state {
    std::uint32_t cursor = 0;
  };
  /// Wait-free; touches only the calling thread's state.
  std::uint32_t next(thread_state& ts, const candidates& c) noexcept {
    std::uint32_t pos = ts.cursor;
    if (pos >= c.size()) [[unlikely]]  // layout only: the common case runs straight on
      pos = 0;
    ts.cursor = pos + 1;
    return pos;
  }
};

static_assert(selection_strategy<round_robin>);

}  // namespace keypool::selection
