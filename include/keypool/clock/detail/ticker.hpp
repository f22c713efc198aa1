#pragma once
/// The process's one background ticker behind clock::ticking: a detached
/// thread that publishes steady_clock's time every millisecond while at least
/// one ticking clock exists.

#include <keypool/clock/steady.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include <pthread.h>

namespace keypool::clock::detail {

class ticker {
 public:
  static constexpr std::chrono::milliseconds period{1};

  /// Milliseconds of steady_clock, or 0 when no ticker runs (none started
  /// yet, the last clock is gone, or this is the child of a fork(), which
  /// does not inherit the thread): readers then ask the kernel instead.
  static inline std::atomic<std::int64_t> published_ms{0};

  static ticker& instance() {
    // Never destroyed: the detached thread may outlive static destruction.
    static ticker* const t = new ticker;
    return *t;
  }

  /// One more clock needs the time; starts the thread if none runs.
  void retain() {
    std::lock_guard g(mu_);
    ++refs_;
    if (running_) return;
    publish();  // a fresh value before the first reader looks
    running_ = true;
    try {
      std::thread([this] { run(); }).detach();
    } catch (...) {
      running_ = false;
      published_ms.store(0, std::memory_order_relaxed);
      --refs_;
      throw;
    }
  }

  /// The clock is gone; the thread ends within a period after the last one.
  void release() noexcept {
    std::lock_guard g(mu_);
    if (--refs_ == 0) wake_.notify_one();
  }

 private:
  ticker() {
    // fork() copies neither the thread nor a held mutex's owner: hold mu_
    // across the fork, and let the child fall back to the kernel's clock.
    ::pthread_atfork([] { instance().mu_.lock(); }, [] { instance().mu_.unlock(); },
                     [] {
                       auto& t = instance();
                       t.running_ = false;
                       published_ms.store(0, std::memory_order_relaxed);
                       t.mu_.unlock();
                     });
  }

  static void publish() noexcept {
    const auto ms = steady{}.now().count();
    published_ms.store(ms == 0 ? 1 : ms, std::memory_order_relaxed);  // 0 means "no ticker"
  }

  void run() {
    std::unique_lock l(mu_);
    while (refs_ > 0) {
      publish();
      wake_.wait_for(l, period);
    }
    published_ms.store(0, std::memory_order_relaxed);
    running_ = false;
  }

  std::mutex mu_;
  std::condition_variable wake_;
  std::uint64_t refs_ = 0;
  bool running_ = false;
};

}  // namespace keypool::clock::detail
