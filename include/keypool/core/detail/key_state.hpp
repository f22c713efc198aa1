#pragma once
/// One 64-bit word holds everything a picker must know about a key, so a
/// pick reads one word and every transition is a single CAS:
///   bits 62..63 status, 58..61 reason (outcome_kind), 48..57 generation,
///   0..47 "until" in clock milliseconds (about 8,900 years of range).

#include <keypool/core/outcome.hpp>

#include <chrono>
#include <cstdint>
#include <limits>

namespace keypool {

/// Where a key stands.
enum class key_status : std::uint8_t {
  available,  ///< in rotation
  locked,     ///< timed lockout (rate_limited / quota_exhausted) until `until`
  disabled,   ///< invalid / forbidden / out of credit; re-checked at `until`
  probing,    ///< a single caller holds it to find out whether it recovered
};

}  // namespace keypool

namespace keypool::detail {

struct key_state {
  static constexpr std::uint64_t until_mask = (std::uint64_t{1} << 48) - 1;
  static constexpr std::uint64_t never = until_mask;
  static constexpr std::uint32_t gen_mask = 0x3ff;

  key_status status = key_status::available;
  outcome_kind reason = outcome_kind::success;
  std::uint32_t gen = 0;
  std::uint64_t until = 0;  ///< clock ms; `never` for no automatic re-check

  static key_state decode(std::uint64_t w) noexcept {
    return {static_cast<key_status>(w >> 62), static_cast<outcome_kind>((w >> 58) & 0xf),
            static_cast<std::uint32_t>((w >> 48) & gen_mask), w & until_mask};
  }
  std::uint64_t encode() const noexcept {
    return (std::uint64_t{static_cast<std::uint8_t>(status)} << 62) |
           (std::uint64_t{static_cast<std::uint8_t>(reason)} << 58) | (std::uint64_t{gen & gen_mask} << 48) |
           (until & until_mask);
  }
  /// Fast-path test without decoding: status bits zero.
  static bool is_available(std::uint64_t w) noexcept { return (w >> 62) == 0; }

  static std::uint64_t to_until(std::chrono::milliseconds t) noexcept {
    const auto c = t.count();
    if (c <= 0) return 0;
    return static_cast<std::uint64_t>(c) >= never ? never - 1 : static_cast<std::uint64_t>(c);
  }
  /// to_until(now + d) without the signed overflow: a lockout of
  /// milliseconds::max() lasts as long as representable instead of wrapping
  /// round to "already over".
  static std::uint64_t until_after(std::chrono::milliseconds now, std::chrono::milliseconds d) noexcept {
    if (d.count() > 0 && now.count() > std::numeric_limits<std::chrono::milliseconds::rep>::max() - d.count())
      return never - 1;
    return to_until(now + d);
  }
};

}  // namespace keypool::detail
