#pragma once
/// Static weights per key (`PROVIDER_API_KEY_N_WEIGHT`): key with weight 3
/// gets three picks for every one of a weight-1 key. The pool builds a
/// smooth interleaved schedule when the key set changes (nginx's smooth
/// weighted round-robin, also the idea behind gRPC's static stride
/// scheduler); a pick is a per-thread cursor over it: no shared writes.

#include <keypool/selection/concept.hpp>

namespace keypool::selection {

struct weighted {
  static constexpr bool uses_weights = true;
  struct thread_state {
    std::uint32_t cursor = 0;
  };
  /// Wait-free; touches only the calling thread's state.
  std::uint32_t next(thread_state& ts, const candidates& c) noexcept {
    std::uint32_t pos = ts.cursor;
    if (pos >= c.size()) pos = 0;
    ts.cursor = pos + 1;
    return pos;
  }
};

static_assert(selection_strategy<weighted>);

}  // namespace keypool::selection
