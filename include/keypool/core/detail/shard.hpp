#pragma once
/// Per-thread statistics shards: each thread that picks from a pool counts
/// into a block of its own, so a pick and a report write no shared line.

#include <keypool/core/detail/attributes.hpp>
#include <keypool/core/detail/key_slot.hpp>
#include <keypool/core/detail/single_writer.hpp>
#include <keypool/core/outcome.hpp>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>

namespace keypool::detail {

inline constexpr std::size_t counter_requests = 0;
inline constexpr std::size_t counter_last_used = 1;
inline constexpr std::size_t counter_outcome = 2;
/// One key's counters in a shard fill one 128-byte block: a report touches
/// one block, and the block's offset is the slot's offset in the pool's slot
/// array (both slot << 7), computed once on the pick path.
inline constexpr std::size_t counters_per_key = 16;
static_assert(counter_outcome + outcome_kind_count <= counters_per_key);
static_assert(counters_per_key * sizeof(std::atomic<std::uint64_t>) == sizeof(key_slot));

/// One thread's private counters and strategy state. Single writer (its
/// thread), so counters are bumped without an atomic read-modify-write; the
/// overflow shard (shared == true) uses fetch_add and a lock for the strategy
/// state.
///
/// The counters (counters_per_key per slot) follow the shard in the same
/// 128-byte-aligned block: the pick finds a key's block at a fixed offset
/// from the shard pointer it already holds, without loading an array
/// pointer first. Written on every pick, so no other thread's data shares
/// a line at either end. Made by make_shard().
template <class ThreadState>
struct alignas(128) shard {
  ThreadState ts{};
  std::uint32_t scan_start = 0;  ///< where acquire_slow's next fallback scan begins (position)
  bool shared = false;
  std::mutex mu;

  std::atomic<std::uint64_t>* counters() noexcept {
    return std::launder(
        reinterpret_cast<std::atomic<std::uint64_t>*>(reinterpret_cast<std::byte*>(this) + sizeof(shard)));
  }
  const std::atomic<std::uint64_t>* counters() const noexcept { return const_cast<shard*>(this)->counters(); }
};

template <class ThreadState>
struct shard_deleter {
  void operator()(shard<ThreadState>* s) const noexcept {
    if (!s) return;
    s->~shard();  // the counters are trivially destructible
    ::operator delete (static_cast<void*>(s), std::align_val_t{alignof(shard<ThreadState>)});
  }
};

template <class ThreadState>
using shard_ptr = std::unique_ptr<shard<ThreadState>, shard_deleter<ThreadState>>;

/// A shard with room for the counters of `capacity` slots, all zero.
template <class ThreadState>
shard_ptr<ThreadState> make_shard(std::uint32_t capacity) {
  using shard_type = shard<ThreadState>;
  static_assert(sizeof(shard_type) % 128 == 0);
  const std::size_t n = std::size_t{capacity} * counters_per_key;
  void* raw = ::operator new (sizeof(shard_type) + n * sizeof(std::atomic<std::uint64_t>),
                              std::align_val_t{alignof(shard_type)});
  shard_ptr<ThreadState> s(new (raw) shard_type);
  auto* c = reinterpret_cast<std::byte*>(raw) + sizeof(shard_type);
  for (std::size_t i = 0; i < n; ++i) new (c + i * sizeof(std::atomic<std::uint64_t>)) std::atomic<std::uint64_t>(0);
  return s;
}

/// Key `slot`'s counter block in shard sh.
template <class ThreadState>
KEYPOOL_ALWAYS_INLINE std::atomic<std::uint64_t>* counters_of(shard<ThreadState>& sh, std::uint32_t slot) noexcept {
  return sh.counters() + std::size_t{slot} * counters_per_key;
}
template <class ThreadState>
const std::atomic<std::uint64_t>* counters_of(const shard<ThreadState>& sh, std::uint32_t slot) noexcept {
  return sh.counters() + std::size_t{slot} * counters_per_key;
}

/// `own_shard`: the caller knows sh is its thread's own shard (single
/// writer: a plain add). Otherwise it may be the shared overflow shard.
template <class ThreadState>
KEYPOOL_ALWAYS_INLINE void bump(const shard<ThreadState>& sh, std::atomic<std::uint64_t>& a, bool own_shard) noexcept {
  if (!own_shard && sh.shared) [[unlikely]]
    a.fetch_add(1, std::memory_order_relaxed);
  else
    single_writer_increment(a);
}

/// One report: its outcome and the "last used" stamp.
template <class ThreadState>
KEYPOOL_ALWAYS_INLINE void count_report(shard<ThreadState>& sh, std::uint32_t slot, outcome_kind kind,
                                        std::uint64_t stamp, bool own_shard) noexcept {
  std::atomic<std::uint64_t>* c = counters_of(sh, slot);
  bump(sh, c[counter_outcome + static_cast<std::size_t>(kind)], own_shard);
  c[counter_last_used].store(stamp, std::memory_order_relaxed);
}

}  // namespace keypool::detail
