#pragma once
/// What a pool shares about one key: its state word, its record and the
/// counters that transitions, daily limits and least_loaded need.

#include <keypool/core/lease.hpp>

#include <atomic>
#include <cstdint>

namespace keypool::detail {

/// Everything shared about one key, on its own 128-byte block (adjacent-line
/// prefetch pairs 64-byte lines on x86). Read on every pick, written only on
/// transitions. Slots are never recycled: a lease may still name a removed
/// key.
struct alignas(128) key_slot {
  std::atomic<std::uint64_t> state{0};  ///< a detail::key_state word
  std::atomic<const key_record*> record{nullptr};
  std::atomic<std::uint32_t> consecutive{0};
  std::atomic<std::uint32_t> ejections{0};
  std::atomic<std::uint32_t> daily_limit{0};
  std::atomic<std::int32_t> in_flight{0};
  std::atomic<std::uint64_t> daily{0};          ///< day << 32 | count
  std::atomic<std::uint64_t> daily_granted{0};  ///< day << 32 | units the backend granted
};
static_assert(sizeof(key_slot) == 128);

}  // namespace keypool::detail
