#pragma once
/// One global rotation across all threads: request n gets key n mod N,
/// whoever sends it. Costs one shared atomic fetch_add per pick (measured in
/// docs/benchmarks.md: it stops scaling with threads); prefer round_robin
/// unless a global order is a requirement.

#include <keypool/selection/concept.hpp>

#include <atomic>
#include <cstdint>

namespace keypool::selection {

class strict_round_robin {
 public:
  struct thread_state {};

  strict_round_robin() = default;
  strict_round_robin(const strict_round_robin& o) noexcept : counter_(o.counter_.load(std::memory_order_relaxed)) {}

  /// Wait-free (one fetch_add on a shared line).
  std::uint32_t next(thread_state&, const candidates& c) noexcept {
    return static_cast<std::uint32_t>(counter_.fetch_add(1, std::memory_order_relaxed) % c.size());
  }

 private:
  alignas(128) std::atomic<std::uint64_t> counter_{0};
};

static_assert(selection_strategy<strict_round_robin>);

}  // namespace keypool::selection
