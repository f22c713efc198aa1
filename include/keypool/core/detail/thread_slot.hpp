#pragma once
/// Every thread that picks gets a small process-wide slot number, reused after
/// the thread exits. Pools index their per-thread shards by it, so a pick
/// writes only memory that its own thread owns.

#include <keypool/core/detail/attributes.hpp>

#include <atomic>
#include <cstdint>

#ifndef KEYPOOL_MAX_THREADS
/// Threads that may pick at the same time with per-thread shards. Beyond it,
/// threads share one overflow shard (correct, but atomic RMW and a lock on
/// the pick). Cost: one pointer per pool per slot.
#define KEYPOOL_MAX_THREADS 256
#endif

namespace keypool::detail {

inline constexpr std::uint32_t max_thread_slots = KEYPOOL_MAX_THREADS;
static_assert(max_thread_slots % 64 == 0 && max_thread_slots >= 64, "KEYPOOL_MAX_THREADS must be a multiple of 64");
/// The slot of threads that found no free slot.
inline constexpr std::uint32_t overflow_slot = max_thread_slots;
/// A thread's slot before its first pick. Pools keep null at this index and
/// at overflow_slot, so the pick path needs a single null test for both.
inline constexpr std::uint32_t unassigned_slot = max_thread_slots + 1;

class slot_registry {
 public:
  /// Lock-free. Returns the lowest free slot or overflow_slot.
  std::uint32_t acquire() noexcept {
    for (std::uint32_t w = 0; w < words; ++w) {
      std::uint64_t cur = bits_[w].load(std::memory_order_relaxed);
      while (cur != ~std::uint64_t{0}) {
        const int bit = __builtin_ctzll(~cur);
        if (bits_[w].compare_exchange_weak(cur, cur | (std::uint64_t{1} << bit), std::memory_order_acq_rel))
          return w * 64 + static_cast<std::uint32_t>(bit);
      }
    }
    return overflow_slot;
  }
  /// Wait-free. The release pairs with the next owner's acquire, so the next
  /// thread on this slot sees everything the previous one wrote to its shard.
  void release(std::uint32_t s) noexcept {
    if (s < max_thread_slots) bits_[s / 64].fetch_and(~(std::uint64_t{1} << (s % 64)), std::memory_order_release);
  }

 private:
  static constexpr std::uint32_t words = max_thread_slots / 64;
  std::atomic<std::uint64_t> bits_[words] = {};
};

inline slot_registry& registry() noexcept {
  static constinit slot_registry r;  // trivially destructible: safe during exit
  return r;
}

/// Plain thread_local int: reading it needs no initialisation guard.
inline thread_local std::uint32_t tls_slot = unassigned_slot;

struct slot_holder {
  std::uint32_t slot;
  /// A thread_local destroyed after this one may still pick (thread_locals
  /// die in reverse order of construction): from now on it uses the shared
  /// overflow shard, since the slot may already belong to a new thread.
  ~slot_holder() {
    tls_slot = overflow_slot;
    registry().release(slot);
  }
};

[[gnu::noinline]] inline std::uint32_t assign_thread_slot() noexcept {
  thread_local slot_holder holder{registry().acquire()};
  tls_slot = holder.slot;
  return holder.slot;
}

/// The calling thread's slot as it stands: a slot of its own, overflow_slot,
/// or unassigned_slot before its first pick. Wait-free.
KEYPOOL_ALWAYS_INLINE std::uint32_t current_thread_slot() noexcept { return tls_slot; }

/// The calling thread's slot, assigned on its first call (lock-free then,
/// wait-free after).
inline std::uint32_t this_thread_slot() noexcept {
  const std::uint32_t s = tls_slot;
  if (s != unassigned_slot) [[likely]]
    return s;
  return assign_thread_slot();
}

}  // namespace keypool::detail
