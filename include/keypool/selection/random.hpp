#pragma once
/// Uniformly random key from a per-thread generator (xorshift64*): no shared
/// writes, no lockstep between threads. With weights, use
/// `random_weighted`, which draws from the weighted schedule.

#include <keypool/selection/concept.hpp>

#include <cstdint>

namespace keypool::selection {

namespace detail {
/// Seeds differ per thread state (its address) and per call site.
inline std::uint64_t next_random(std::uint64_t& s) noexcept {
  if (s == 0) s = reinterpret_cast<std::uintptr_t>(&s) * 0x9e3779b97f4a7c15ull | 1;
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 0x2545f4914f6cdd1dull;
}
/// Lemire's multiply-shift: uniform in [0, n) without a division.
inline std::uint32_t bounded(std::uint64_t r, std::uint32_t n) noexcept {
  return static_cast<std::uint32_t>(((r >> 32) * n) >> 32);
}
}  // namespace detail

struct random {
  struct thread_state {
    std::uint64_t s = 0;
  };
  /// Wait-free; touches only the calling thread's state.
  std::uint32_t next(thread_state& ts, const candidates& c) noexcept {
    return detail::bounded(detail::next_random(ts.s), c.size());
  }
};

struct random_weighted : random {
  static constexpr bool uses_weights = true;
};

static_assert(selection_strategy<random>);
static_assert(selection_strategy<random_weighted>);

}  // namespace keypool::selection
