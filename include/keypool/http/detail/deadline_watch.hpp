#pragma once
/// The read deadlines of the requests in flight on one transport, kept by one
/// timer. Beast's stream expiry arms a timer for every write and every read
/// (a timerfd_settime syscall whenever it is the earliest timer, and a
/// cancelled handler to run when the operation ends). Here a request whose
/// deadline is no earlier than the one armed, the usual case since deadlines
/// are "now + a fixed timeout", costs two list links. When the timer fires it
/// closes the connections whose deadline has passed and re-arms for the
/// earliest left. Not thread-safe: used on the transport's serial executor.

#include <keypool/http/connection_pool.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace keypool::http::detail {

class deadline_watch {
 public:
  using clock = std::chrono::steady_clock;

  /// One request's deadline on one connection: watched from construction to
  /// destruction (an object of the request's coroutine frame).
  class entry {
   public:
    entry(deadline_watch& w, connection& c, clock::time_point due) : watch_(w), conn_(c), due_(due) { w.add(*this); }
    ~entry() { watch_.remove(*this); }
    entry(const entry&) = delete;
    entry& operator=(const entry&) = delete;

    /// A new deadline, earlier or later (a stream's inactivity timeout).
    void reset(clock::time_point due) {
      due_ = due;
      if (due < watch_.armed_) watch_.arm(due);
    }
    /// The deadline passed and the connection was closed under the request.
    bool expired() const noexcept { return expired_; }

   private:
    friend class deadline_watch;
    deadline_watch& watch_;
    connection& conn_;
    clock::time_point due_;
    bool expired_ = false;
    entry* prev_ = nullptr;
    entry* next_ = nullptr;
  };

  explicit deadline_watch(const boost::asio::any_io_executor& serial) : timer_(serial) {}
  deadline_watch(const deadline_watch&) = delete;
  deadline_watch& operator=(const deadline_watch&) = delete;

  /// The object that owns this watch: timer handlers hold it weakly, so one
  /// that runs after the owner is gone does nothing, and a pending wait never
  /// keeps the owner alive. Set once, before the first entry.
  void set_owner(std::weak_ptr<void> owner) noexcept { owner_ = std::move(owner); }

  /// Requests watched now (tests).
  std::size_t size() const noexcept { return size_; }
  /// The time the timer is armed for; time_point::max() when it waits for
  /// nothing (tests).
  clock::time_point armed_for() const noexcept { return armed_; }
  /// Timer arms so far (tests: each is a potential syscall).
  std::uint64_t arms() const noexcept { return arms_; }

 private:
  void add(entry& e) {
    if (e.due_ < armed_) arm(e.due_);  // first: if it throws, e is not linked
    e.next_ = head_;
    if (head_) head_->prev_ = &e;
    head_ = &e;
    ++size_;
  }

  void remove(entry& e) noexcept {
    (e.prev_ ? e.prev_->next_ : head_) = e.next_;
    if (e.next_) e.next_->prev_ = e.prev_;
    --size_;
    // The last request left: stop waiting, or the io_context's run() would
    // not return until the deadline. Not at once: the caller usually starts
    // its next request before the posted check runs, and then the armed
    // timer serves that one too (one syscall saved per request).
    if (!head_ && armed_ != clock::time_point::max() && !check_posted_) {
      check_posted_ = true;
      try {
        boost::asio::post(timer_.get_executor(), [this, owner = owner_] {
          const auto keep = owner.lock();
          if (!keep) return;
          check_posted_ = false;
          if (!head_) disarm();
        });
      } catch (...) {  // out of memory: stop waiting now
        check_posted_ = false;
        disarm();
      }
    }
  }

  void disarm() noexcept {
    armed_ = clock::time_point::max();
    ++gen_;
    try {
      timer_.cancel();
    } catch (...) {  // the wait's handler still ignores it: gen_ moved on
    }
  }

  /// Throws only what Asio's expires_at / async_wait throw (out of memory);
  /// the watch is then unarmed, and the next request arms it again.
  void arm(clock::time_point t) {
    armed_ = clock::time_point::max();  // until the wait below is in place
    const std::uint64_t gen = ++gen_;
    timer_.expires_at(t);
    timer_.async_wait([this, gen, owner = owner_](const boost::system::error_code& ec) {
      const auto keep = owner.lock();
      if (!keep || ec || gen != gen_) return;  // cancelled, re-armed, or the owner is gone
      fire();
    });
    armed_ = t;
    ++arms_;
  }

  /// Closes every connection whose deadline has passed (its request then
  /// fails with `expired()` set) and re-arms for the earliest other one.
  void fire() {
    armed_ = clock::time_point::max();
    const auto now = clock::now();
    auto next = clock::time_point::max();
    for (entry* e = head_; e; e = e->next_) {
      if (e->expired_) continue;
      if (e->due_ <= now) {
        e->expired_ = true;
        e->conn_.close();
      } else if (e->due_ < next) {
        next = e->due_;
      }
    }
    if (next == clock::time_point::max()) return;
    try {
      arm(next);
    } catch (...) {  // out of memory in a handler: the next request re-arms
    }
  }

  boost::asio::steady_timer timer_;
  std::weak_ptr<void> owner_;
  entry* head_ = nullptr;
  std::size_t size_ = 0;
  clock::time_point armed_ = clock::time_point::max();
  std::uint64_t gen_ = 0;
  std::uint64_t arms_ = 0;
  bool check_posted_ = false;
};

}  // namespace keypool::http::detail
