#pragma once
/// Back off harder from keys that keep failing, like Envoy's outlier
/// ejection: base × 2^ejections, capped, with ± jitter so keys locked together
/// do not all come back in the same millisecond. The pool decays `ejections`
/// by one per success, so a key that recovered is soon treated as new. A
/// provider hint longer than the computed time wins.

#include <keypool/lockout/concept.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>

namespace keypool::lockout {

struct exponential {
  std::chrono::milliseconds base{std::chrono::seconds{5}};
  std::chrono::milliseconds cap{std::chrono::minutes{5}};
  /// Jitter as a fraction of the computed time, in percent (0..50).
  std::uint32_t jitter_percent = 20;

  std::chrono::milliseconds lockout_for(const outcome& o, const lockout_context& c) const noexcept {
    const std::uint32_t shift = std::min<std::uint32_t>(c.ejections, 30);
    long long ms = static_cast<long long>(base.count());
    const long long top = cap.count();
    for (std::uint32_t i = 0; i < shift && ms < top; ++i) ms = ms > top / 2 ? top : ms * 2;  // never overflows
    ms = std::min<long long>(ms, top);
    const std::uint32_t jp = std::min<std::uint32_t>(jitter_percent, 50);
    // No jitter beyond ~1.4 million years, where ms * jitter would overflow.
    if (jp != 0 && ms > 0 && ms < std::numeric_limits<long long>::max() / 200) {
      // splitmix64 of the seed: deterministic per event, spread across keys.
      std::uint64_t z = c.seed + 0x9e3779b97f4a7c15ull;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      z ^= z >> 31;
      const long long span = ms * jp / 100;  // ± span
      if (span > 0) ms += static_cast<long long>(z % static_cast<std::uint64_t>(2 * span + 1)) - span;
    }
    auto d = std::chrono::milliseconds{std::max<long long>(ms, 1)};
    if (o.retry_after) d = std::max(d, *o.retry_after);
    return d;
  }
};

static_assert(lockout_policy<exponential>);

}  // namespace keypool::lockout
