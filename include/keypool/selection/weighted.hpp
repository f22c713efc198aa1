#pragma once
/// Static weights per key (`PROVIDER_API_KEY_N_WEIGHT`): key with weight 3
/// gets three picks for every one of a weight-1 key. The pool builds a
/// smooth interleaved schedule when the key set changes (nginx's smooth
/// weighted round-robin, also the idea behind gRPC's static stride
/// scheduler); a pick is a per-thread cursor over it: no shared writes.

#include <keypool/selection/concept.hpp>

#include <cstdint>

namespace keypool::selection {

/// `MaxSchedule`: the longest schedule the pool builds. Weight sums above it
/// are scaled down (every key keeps at least one turn), so the schedule, 4
/// bytes an entry per published key set, stays bounded; a longer one follows
/// large or uneven weights more exactly.
template <std::uint32_t MaxSchedule = default_max_schedule>
struct basic_weighted {
  static_assert(MaxSchedule >= 1, "keypool::selection::basic_weighted: the schedule needs at least one entry");
  static constexpr bool uses_weights = true;
  static constexpr std::uint32_t max_schedule = MaxSchedule;
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

/// Weighted round-robin with the default schedule length (4096).
using weighted = basic_weighted<>;

static_assert(selection_strategy<weighted>);

}  // namespace keypool::selection
