#pragma once
/// The pool's current key set: which key slots are in rotation, in order, and
/// (for weighted selection) the interleaved schedule. Two buffers, each under
/// a sequence counter: reload writes the idle buffer and flips, so a picker
/// never waits; it only retries if a reload published while it was reading.

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace keypool::detail {

struct key_list {
  std::atomic<std::uint32_t> seq{0};   ///< odd while being written
  std::atomic<std::uint32_t> size{0};  ///< distinct keys in rotation
  std::atomic<std::uint32_t> order_size{0};
  std::unique_ptr<std::atomic<std::uint32_t>[]> keys;   ///< slot ids
  std::unique_ptr<std::atomic<std::uint32_t>[]> order;  ///< indices into keys

  key_list(std::uint32_t key_capacity, std::uint32_t order_capacity)
      : keys(new std::atomic<std::uint32_t>[key_capacity]), order(new std::atomic<std::uint32_t>[order_capacity]) {
    for (std::uint32_t i = 0; i < key_capacity; ++i) keys[i].store(0, std::memory_order_relaxed);
    for (std::uint32_t i = 0; i < order_capacity; ++i) order[i].store(0, std::memory_order_relaxed);
  }

  /// Writer side; callers serialise writers.
  void write(const std::vector<std::uint32_t>& slot_ids, const std::vector<std::uint32_t>& sched) noexcept {
    const std::uint32_t s = seq.load(std::memory_order_relaxed);
    seq.store(s + 1, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_release);
    for (std::size_t i = 0; i < slot_ids.size(); ++i) keys[i].store(slot_ids[i], std::memory_order_relaxed);
    for (std::size_t i = 0; i < sched.size(); ++i) order[i].store(sched[i], std::memory_order_relaxed);
    size.store(static_cast<std::uint32_t>(slot_ids.size()), std::memory_order_relaxed);
    order_size.store(static_cast<std::uint32_t>(sched.size()), std::memory_order_relaxed);
    seq.store(s + 2, std::memory_order_release);
  }
};

/// Smooth weighted round-robin (nginx): the schedule interleaves keys in
/// proportion to their weights (5,1,1 → a a b a c a a), so a per-thread
/// cursor over it is a lock-free weighted pick. Weights are scaled down to
/// fit `max_len`.
inline std::vector<std::uint32_t> weighted_schedule(std::vector<std::uint32_t> weights, std::uint32_t max_len) {
  std::uint64_t total = 0;
  for (auto w : weights) total += w;
  if (total > max_len) {
    for (auto& w : weights)
      w = static_cast<std::uint32_t>(std::max<std::uint64_t>(1, std::uint64_t{w} * max_len / total));
    total = 0;
    for (auto w : weights) total += w;
  }
  std::vector<std::uint32_t> out;
  out.reserve(static_cast<std::size_t>(total));
  std::vector<long long> current(weights.size(), 0);
  for (std::uint64_t step = 0; step < total; ++step) {
    std::size_t best = 0;
    for (std::size_t i = 0; i < weights.size(); ++i) {
      current[i] += weights[i];
      if (current[i] > current[best]) best = i;
    }
    current[best] -= static_cast<long long>(total);
    out.push_back(static_cast<std::uint32_t>(best));
  }
  return out;
}

}  // namespace keypool::detail
