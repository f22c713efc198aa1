#pragma once
/// One 64-bit word holds everything a picker must know about a key, so a
/// pick reads one word and every transition is a single CAS:
///   bits 62..63 status, 61 metered (the key has a daily limit), 57..60
///   reason (outcome_kind), 47..56 generation, 0..46 "until" in clock
///   milliseconds (about 4,400 years of range).
/// The generation keeps two transitions to the same status and time apart;
/// it wraps after 1,024. A probe is named by its whole word instead (the
/// lease keeps it): every probe's `until` is later than the one before.

#include <keypool/core/key_status.hpp>
#include <keypool/core/outcome.hpp>

#include <chrono>
#include <cstdint>
#include <limits>

namespace keypool::detail {

struct key_state {
  static constexpr std::uint64_t until_mask = (std::uint64_t{1} << 47) - 1;
  static constexpr std::uint64_t never = until_mask;
  static constexpr std::uint32_t gen_mask = 0x3ff;
  static constexpr std::uint64_t metered_bit = std::uint64_t{1} << 61;

  key_status status = key_status::available;
  outcome_kind reason = outcome_kind::success;
  std::uint32_t gen = 0;
  std::uint64_t until = 0;  ///< clock ms; `never` for no automatic re-check
  /// A copy of "the key has a daily limit" beside the status, so the common
  /// pick tests both with one shift (is_plain). Transitions keep it (next());
  /// only a reload that changes the limit flips it.
  bool metered = false;

  static key_state decode(std::uint64_t w) noexcept {
    return {static_cast<key_status>(w >> 62), static_cast<outcome_kind>((w >> 57) & 0xf),
            static_cast<std::uint32_t>((w >> 47) & gen_mask), w & until_mask, (w & metered_bit) != 0};
  }
  std::uint64_t encode() const noexcept {
    return (std::uint64_t{static_cast<std::uint8_t>(status)} << 62) | (metered ? metered_bit : 0) |
           (std::uint64_t{static_cast<std::uint8_t>(reason) & 0xfu} << 57) | (std::uint64_t{gen & gen_mask} << 47) |
           (until & until_mask);
  }
  /// The state a transition from this one leads to: the next generation,
  /// the same daily-limit flag.
  key_state next(key_status s, outcome_kind r, std::uint64_t u) const noexcept { return {s, r, gen + 1, u, metered}; }

  /// Fast-path test without decoding: status bits zero.
  static bool is_available(std::uint64_t w) noexcept { return (w >> 62) == 0; }
  /// Available and without a daily limit to count against: the common pick
  /// hands such a key out as it is. One shift and a test.
  static bool is_plain(std::uint64_t w) noexcept { return (w >> 61) == 0; }

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
