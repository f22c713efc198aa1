#pragma once
/// Policy tag `policy::selection<S>`: how a pool chooses the next key.
///
/// Concept: `selection_strategy` below: a default-constructible nested
/// `thread_state` and `std::uint32_t next(thread_state&, const candidates&)
/// noexcept`, returning a position in [0, size()). The pool owns one strategy
/// object (shared state, e.g. a global counter) and one `thread_state` per
/// thread (e.g. a cursor), so a strategy that keeps its state per thread
/// writes no shared memory on a pick. Optional traits: `uses_weights` (the
/// pool passes the weighted schedule, at most `max_schedule` long) and
/// `tracks_in_flight` (the pool counts unfinished requests per key).
///
/// Default: `selection::round_robin`.
///
/// Shipped: `round_robin` (per-thread rotation), `strict_round_robin` (one
/// global rotation), `random`, `random_weighted`, `weighted` /
/// `basic_weighted<MaxSchedule>` (smooth weighted round-robin) and
/// `least_loaded` (power of two choices over in-flight requests), each in
/// `keypool/selection/<name>.hpp`.
///
/// The pool checks the chosen key; if it is locked it asks again (up to once
/// per key), then scans, so a strategy never sees lockouts.

#include <atomic>
#include <concepts>
#include <cstdint>

namespace keypool {

/// What a strategy sees: `size()` positions, and for strategies that declare
/// `tracks_in_flight`, the number of unfinished requests at each position.
class candidates {
 public:
  candidates(std::uint32_t size, const std::uint32_t* keys, const std::uint32_t* order,
             const std::atomic<std::int32_t>* in_flight, std::size_t in_flight_stride) noexcept
      : size_(size), keys_(keys), order_(order), in_flight_(in_flight), stride_(in_flight_stride) {}

  std::uint32_t size() const noexcept { return size_; }

  /// Requests acquired and not yet reported on the key at `pos`.
  std::int32_t in_flight(std::uint32_t pos) const noexcept {
    if (order_) pos = order_[pos];
    const auto slot = keys_[pos];
    const auto* p =
        reinterpret_cast<const std::atomic<std::int32_t>*>(reinterpret_cast<const char*>(in_flight_) + slot * stride_);
    return p->load(std::memory_order_relaxed);
  }

 private:
  std::uint32_t size_;
  const std::uint32_t* keys_;   ///< slot ids of the published key set (immutable)
  const std::uint32_t* order_;  ///< weighted schedule, or null
  const std::atomic<std::int32_t>* in_flight_;
  std::size_t stride_;
};

template <class S>
concept selection_strategy = std::default_initializable<typename S::thread_state> && std::copy_constructible<S> &&
    requires(S& s, typename S::thread_state& ts, const candidates& c) {
  /// Returns a position in [0, c.size()); c.size() is at least 1.
  { s.next(ts, c) }
  noexcept->std::same_as<std::uint32_t>;
};

/// Optional traits, read with defaults by the pool.
template <class S>
inline constexpr bool uses_weights_v = requires {
  requires S::uses_weights;
};
template <class S>
inline constexpr bool tracks_in_flight_v = requires {
  requires S::tracks_in_flight;
};

/// The longest weighted schedule a pool builds when the strategy names none.
inline constexpr std::uint32_t default_max_schedule = 4096;

/// The longest weighted schedule strategy S wants: its `max_schedule`, else
/// default_max_schedule. Read only for strategies that use weights.
template <class S>
inline constexpr std::uint32_t max_schedule_v = [] {
  if constexpr (requires { S::max_schedule; })
    return static_cast<std::uint32_t>(S::max_schedule);
  else
    return default_max_schedule;
}();

}  // namespace keypool
