#pragma once
/// The pool's current key set: which key slots are in rotation, in order, and
/// (for weighted selection) the interleaved schedule.

#include <algorithm>
#include <cstdint>
#include <vector>

namespace keypool::detail {

/// One published key set, immutable once published: `words` is
/// [size, order_size, keys[size], order[order_size]] in one block, so a
/// picker reaches a slot id with one pointer load and no retry. A reload
/// publishes a new block and keeps the old ones (pickers may still read
/// them); blocks are only added when the set really changes.
class key_view {
 public:
  explicit key_view(const std::uint32_t* words) noexcept : w_(words) {}

  /// Distinct keys in rotation.
  std::uint32_t size() const noexcept { return w_[0]; }
  /// Length of the weighted schedule (0 without one).
  std::uint32_t order_size() const noexcept { return w_[1]; }
  /// Slot ids, in configured order.
  const std::uint32_t* keys() const noexcept { return w_ + 2; }
  /// The weighted schedule: indices into keys().
  const std::uint32_t* order() const noexcept { return w_ + 2 + w_[0]; }

  static std::vector<std::uint32_t> encode(const std::vector<std::uint32_t>& slot_ids,
                                           const std::vector<std::uint32_t>& sched) {
    std::vector<std::uint32_t> w;
    w.reserve(2 + slot_ids.size() + sched.size());
    w.push_back(static_cast<std::uint32_t>(slot_ids.size()));
    w.push_back(static_cast<std::uint32_t>(sched.size()));
    w.insert(w.end(), slot_ids.begin(), slot_ids.end());
    w.insert(w.end(), sched.begin(), sched.end());
    return w;
  }

 private:
  const std::uint32_t* w_;
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
