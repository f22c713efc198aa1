#pragma once
/// A clock that moves only when told to: tests drive lockouts, probes and
/// day boundaries with it instead of sleeping. Copies share one time, so a
/// test can hand the same clock to several pools and advance them together.

#include <keypool/clock/concept.hpp>

#include <atomic>
#include <chrono>
#include <memory>

namespace keypool::clock {

class manual {
 public:
  /// Starts at an arbitrary non-zero monotonic time and at the given wall time
  /// (default 2026-01-01T10:00:00Z).
  explicit manual(std::chrono::system_clock::time_point wall_start = std::chrono::sys_days{std::chrono::year{2026} / 1 /
                                                                                           1} +
                                                                     std::chrono::hours{10})
      : state_(std::make_shared<state>()) {
    state_->wall_start = wall_start;
  }

  clock_ms now() const noexcept { return clock_ms(state_->ms.load(std::memory_order_acquire)); }
  clock_ms coarse_now() const noexcept { return now(); }
  clock_ms coarse_lag() const noexcept { return clock_ms(0); }
  std::chrono::system_clock::time_point wall_now() const noexcept {
    return state_->wall_start + std::chrono::duration_cast<std::chrono::system_clock::duration>(now() - start_ms);
  }

  /// Moves time forward (thread-safe; lock-free).
  void advance(std::chrono::milliseconds d) const noexcept {
    state_->ms.fetch_add(d.count(), std::memory_order_acq_rel);
  }

 private:
  static constexpr clock_ms start_ms{1'000'000'000};
  struct state {
    std::atomic<long long> ms{start_ms.count()};
    std::chrono::system_clock::time_point wall_start{};
  };
  std::shared_ptr<state> state_;
};

static_assert(clock_source<manual>);

}  // namespace keypool::clock
