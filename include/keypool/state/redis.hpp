#pragma once
/// state::redis — key state shared by a fleet of processes through Redis
/// (hiredis). Lockouts and disables are written as Redis keys with a TTL and
/// announced on a pub/sub channel; every instance applies the others' changes
/// to its own pools within milliseconds, so picks stay at local speed. Daily
/// budgets are counted exactly across instances by an atomic Lua script.
///
///   keypool::state::redis shared({.host = "10.0.0.5", .name_space = "prod"});
///   using pool_t = keypool::pool<groq>::with<keypool::policy::state<keypool::state::redis>>;
///   pool_t pool(keys, {.state = shared});
///   auto link = shared.attach(pool);   // declare after the pool: detaches first
///
/// Redis keys (never built from secrets, only from 12-hex fingerprints), all
/// under the hash tag {ns} so a Redis Cluster keeps a namespace on one node:
///   keypool:{ns}:state:<provider>:<fingerprint>       lockout/disable, TTL = its end
///   keypool:{ns}:index                                sorted set: state key -> end (server ms)
///   keypool:{ns}:daily:<provider>:<fingerprint>:<day>  daily counter, EXPIREAT day end
///   keypool:{ns}:epoch                                 marker: missing or changed = data lost
///   keypool:<ns>:events                                pub/sub channel
///
/// Threads: one writer (drains the publish queue, retries with backoff),
/// one subscriber (applies remote changes, reloads the namespace's state
/// after every (re)connect from its index: a round trip per 1000 entries,
/// no SCAN) and one budget thread (fetches daily budget units, the next
/// chunk ahead for batched callers). Redis down or slow never blocks publish() and never
/// crashes; status() reports the backend as degraded meanwhile.
///
/// Copies are handles to one shared backend; the last copy to go stops and
/// joins the threads (after trying to flush queued writes for up to
/// redis_options::shutdown_flush).
///
/// Where things are: this header holds the handle and what its calls
/// answer; redis_options.hpp the connection knobs and REDIS_URL parsing;
/// redis_status.hpp the health snapshot; detail/redis_protocol.hpp and
/// detail/redis_scripts.hpp what is written to Redis and how;
/// detail/redis_impl.hpp and impl/ the shared state and its threads.

#include <keypool/core/detail/key_state.hpp>
#include <keypool/core/outcome.hpp>
#include <keypool/state/concept.hpp>
#include <keypool/state/detail/redis_impl.hpp>
#include <keypool/state/redis_options.hpp>
#include <keypool/state/redis_status.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace keypool::state {

/// The answer of a shared daily budget.
enum class budget_verdict : std::uint8_t {
  granted,      ///< counted; use the key
  exhausted,    ///< the day's budget is spent across the fleet
  unavailable,  ///< Redis is unreachable: fall back to local counting
};

/// Receives a change another instance made: (fingerprint, status, reason,
/// until). Returns whether the fingerprint was known.
using remote_handler =
    std::function<bool(std::string_view, key_status, outcome_kind, std::chrono::system_clock::time_point)>;

/// The Redis state backend. A cheap, copyable handle; see the file comment.
///
/// Thread safety and progress, per operation:
///  - publish(): any thread; takes a mutex held only for an O(1) queue push
///    (never across I/O, never waits for Redis); not lock-free, but bounded.
///  - attach()/detach: any thread; blocking (waits for a remote change being
///    applied at that moment).
///  - take_daily()/reserve_daily(): any thread; noexcept; no I/O on the
///    caller's thread: units come from a local stock the budget thread
///    fills; when it is empty the call waits at most
///    redis_options::budget_timeout, then answers `unavailable`.
///  - daily_used(): any thread; noexcept; blocking: one Redis round trip
///    (at most command_timeout), plus at most once per backoff period a
///    reconnect.
///  - status(), ready(): any thread; wait-free except a short mutex for the
///    queue length and the last error.
///  - flush(), wait_ready(): blocking, bounded by their timeout.
class redis {
 public:
  /// An inert handle (publish() does nothing, status().configured is false),
  /// so pool options can be default-constructed. Use the other constructor.
  redis() noexcept = default;

  /// Starts the writer and subscriber threads; does not wait for Redis (it
  /// may be down: the backend connects by itself). Throws
  /// std::invalid_argument for a bad name_space or queue_capacity.
  explicit redis(redis_options opts) : impl_(std::make_shared<detail::redis_impl>(std::move(opts))) {}

  /// Queues the change for the writer thread. Never blocks on Redis.
  void publish(const state_change& c) noexcept {
    if (impl_) impl_->enqueue(c);
  }

  /// Unregisters a pool (or handler) when destroyed. Move-only.
  class attachment {
   public:
    attachment() = default;
    attachment(attachment&& o) noexcept : impl_(std::move(o.impl_)), id_(std::exchange(o.id_, 0)) {}
    attachment& operator=(attachment&& o) noexcept {
      if (this != &o) {
        detach();
        impl_ = std::move(o.impl_);
        id_ = std::exchange(o.id_, 0);
      }
      return *this;
    }
    ~attachment() { detach(); }
    /// After this returns no change is being applied to the pool, nor will be.
    void detach() noexcept {
      if (auto p = impl_.lock(); p && id_) p->detach(id_);
      impl_.reset();
      id_ = 0;
    }

   private:
    friend class redis;
    attachment(std::weak_ptr<detail::redis_impl> p, std::uint64_t id) : impl_(std::move(p)), id_(id) {}
    std::weak_ptr<detail::redis_impl> impl_;
    std::uint64_t id_ = 0;
  };

  /// Feeds other instances' changes for pool.provider().id into
  /// pool.apply_remote(), starting with those already stored in Redis. Keep
  /// the attachment alive no longer than the pool.
  template <class Pool>
  requires requires(Pool& p, std::string_view fp, key_status s, outcome_kind r,
                    std::chrono::system_clock::time_point u) {
    { p.apply_remote(fp, s, r, u) } -> std::convertible_to<bool>;
    p.provider().id;
  }
  [[nodiscard]] attachment attach(Pool& pool) {
    if (!impl_) return {};
    // A change arrives with the time it has left; the end is reckoned from
    // the pool's own wall clock, the one apply_remote() measures it with.
    auto fn = [&pool](std::string_view fp, key_status s, outcome_kind r,
                      std::optional<std::chrono::milliseconds> left) {
      auto until = std::chrono::system_clock::time_point::max();
      if (left) {
        if constexpr (requires(const Pool& p) { p.clock().wall_now(); })
          until = pool.clock().wall_now() + *left;
        else
          until = std::chrono::system_clock::now() + *left;
      }
      return pool.apply_remote(fp, s, r, until);
    };
    return attachment(impl_, impl_->attach(pool.provider().id, std::move(fn)));
  }

  /// Any handler for one provider id (e.g. to log or measure remote changes).
  /// It runs on the subscriber thread: keep it short, and do not let it own
  /// a copy of this handle. `until` is this host's wall clock now plus the
  /// time the change had left when written (time_point::max(): never).
  [[nodiscard]] attachment attach(std::string provider_id, remote_handler h) {
    if (!impl_) return {};
    auto fn = [h = std::move(h)](std::string_view fp, key_status s, outcome_kind r,
                                 std::optional<std::chrono::milliseconds> left) {
      return h(fp, s, r,
               left ? std::chrono::system_clock::now() + *left : std::chrono::system_clock::time_point::max());
    };
    return attachment(impl_, impl_->attach(std::move(provider_id), std::move(fn)));
  }

  /// Counts one request against a fleet-wide daily budget of `limit`,
  /// exactly (an atomic script: never more than `limit` grants per day, no
  /// matter how many instances ask). `day` is the provider's day
  /// (`provider_day::at(now, provider.day_boundary_utc)`); the counter expires
  /// when it ends. A day already over by Redis's clock (this host's clock runs
  /// behind) is answered `exhausted`, as nothing can be counted for it any
  /// more.
  budget_verdict take_daily(std::string_view provider_id, std::string_view fingerprint, const provider_day& day,
                            std::uint32_t limit) noexcept {
    bool available = false;
    const auto got = reserve(provider_id, fingerprint, day, limit, 1, available);
    if (!available) return budget_verdict::unavailable;
    return got ? budget_verdict::granted : budget_verdict::exhausted;
  }

  /// Takes up to `want` units at once (0 when spent), for callers that count
  /// locally in batches to save round trips; empty when Redis is unreachable.
  std::optional<std::uint32_t> reserve_daily(std::string_view provider_id, std::string_view fingerprint,
                                             const provider_day& day, std::uint32_t limit,
                                             std::uint32_t want) noexcept {
    bool available = false;
    const auto got = reserve(provider_id, fingerprint, day, limit, want, available);
    if (!available) return std::nullopt;
    return got;
  }

  /// Units of that day's budget granted so far; empty when Redis is unreachable.
  std::optional<std::uint64_t> daily_used(std::string_view provider_id, std::string_view fingerprint,
                                          const provider_day& day) noexcept {
    if (!impl_) return std::nullopt;
    try {
      return impl_->daily_used(provider_id, fingerprint, day.index);
    } catch (...) {
      return std::nullopt;
    }
  }

  redis_status status() const { return impl_ ? impl_->status() : redis_status{}; }

  /// Connected, subscribed and the stored lockouts loaded.
  bool ready() const noexcept { return impl_ && impl_->ready(); }

  /// Waits until ready(); false on timeout.
  bool wait_ready(std::chrono::milliseconds timeout) const {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!ready()) {
      if (!impl_ || std::chrono::steady_clock::now() >= end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  /// Waits until every queued change is written; false on timeout.
  bool flush(std::chrono::milliseconds timeout) { return impl_ && impl_->flush(timeout); }

  /// Stops and joins the threads now (for every handle). Later publish()
  /// calls are counted as dropped.
  void shutdown() noexcept {
    if (impl_) impl_->stop();
  }

  /// This process's id in published messages (own messages are ignored).
  std::string instance_id() const { return impl_ ? impl_->instance_id() : std::string(); }
  /// The Redis key holding a key's lockout / disable.
  std::string state_key(std::string_view provider_id, std::string_view fingerprint) const {
    return impl_ ? impl_->state_key(provider_id, fingerprint) : std::string();
  }
  /// The Redis key counting a key's daily budget.
  std::string daily_key(std::string_view provider_id, std::string_view fingerprint, const provider_day& day) const {
    return impl_ ? impl_->daily_key(provider_id, fingerprint, day.index) : std::string();
  }
  /// The pub/sub channel of this namespace.
  std::string channel() const { return impl_ ? impl_->channel() : std::string(); }

 private:
  std::uint32_t reserve(std::string_view provider_id, std::string_view fp, const provider_day& day, std::uint32_t limit,
                        std::uint32_t want, bool& available) noexcept {
    available = false;
    if (!impl_) return 0;
    std::uint32_t got = 0;
    try {
      got = impl_->reserve_daily(provider_id, fp, day, limit, want, available);
    } catch (...) {  // bad_alloc: answer "unavailable", never throw into a picker
      available = false;
    }
    if (!available) impl_->count_budget_unavailable();
    return got;
  }

  std::shared_ptr<detail::redis_impl> impl_;
};

static_assert(state_backend<redis>);

}  // namespace keypool::state

#include <keypool/state/impl/redis_budget.hpp>
#include <keypool/state/impl/redis_impl.hpp>
#include <keypool/state/impl/redis_recovery.hpp>
#include <keypool/state/impl/redis_subscriber.hpp>
#include <keypool/state/impl/redis_writer.hpp>
