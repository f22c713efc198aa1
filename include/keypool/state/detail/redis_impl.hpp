#pragma once
/// redis_impl: the state every state::redis handle shares. It owns the
/// writer thread (drains the publish queue into Redis, reconnecting with
/// backoff), the subscriber thread (applies other instances' changes to the
/// attached pools, reloading stored state after every (re)connect) and the
/// connection the budget calls use on their callers' threads. Declared here;
/// the bodies are in state/impl/redis_impl.hpp (lifecycle, queue,
/// attachments, status), redis_budget.hpp, redis_writer.hpp and
/// redis_subscriber.hpp, which state/redis.hpp includes at its end.

#include <keypool/core/detail/key_state.hpp>
#include <keypool/core/outcome.hpp>
#include <keypool/state/concept.hpp>
#include <keypool/state/detail/redis_connection.hpp>
#include <keypool/state/detail/redis_protocol.hpp>
#include <keypool/state/detail/redis_scripts.hpp>
#include <keypool/state/redis_options.hpp>
#include <keypool/state/redis_status.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace keypool::state::detail {

/// How the subscriber hands a change to an attachment: with the time it has
/// left (empty: never ends), which the attachment turns into a wall time by
/// the clock of whoever applies it, so clock skew between hosts cancels out.
using remote_fn =
    std::function<bool(std::string_view, key_status, outcome_kind, std::optional<std::chrono::milliseconds>)>;

/// A change waiting for the writer. Wall time, so the time left is measured
/// when it is finally written.
struct pending_change {
  std::string provider;
  std::string fingerprint;
  key_status status = key_status::available;
  outcome_kind reason = outcome_kind::success;
  long long until_ms = 0;  ///< to_wall_ms(until): -1 for never
};

/// Everything the handles share.
class redis_impl {
 public:
  /// Starts the writer and subscriber threads. Throws std::invalid_argument
  /// for a bad name_space or queue_capacity.
  explicit redis_impl(redis_options opts);
  redis_impl(const redis_impl&) = delete;
  redis_impl& operator=(const redis_impl&) = delete;
  ~redis_impl();

  /// Stops and joins both threads; idempotent.
  void stop() noexcept;

  // ---- publish side (impl/redis_impl.hpp) -----------------------------------

  void enqueue(const state_change& c) noexcept;
  bool flush(std::chrono::milliseconds timeout);

  // ---- attachments (impl/redis_impl.hpp) ------------------------------------

  std::uint64_t attach(std::string provider_id, remote_fn h);
  void detach(std::uint64_t id) noexcept;

  // ---- budgets (impl/redis_budget.hpp) --------------------------------------

  std::uint32_t reserve_daily(std::string_view provider_id, std::string_view fp, const provider_day& day,
                              std::uint32_t limit, std::uint32_t want, bool& available);
  std::optional<std::uint64_t> daily_used(std::string_view provider_id, std::string_view fp, std::uint32_t day);

  // ---- names and status (impl/redis_impl.hpp) -------------------------------

  std::string state_key(std::string_view provider_id, std::string_view fp) const;
  std::string daily_key(std::string_view provider_id, std::string_view fp, std::uint32_t day) const;
  const std::string& channel() const noexcept { return channel_; }
  const std::string& instance_id() const noexcept { return instance_id_; }

  redis_status status() const;

  /// Connected (the writer's connection not known dead), subscribed, and the
  /// stored state loaded.
  bool ready() const noexcept {
    return writer_up_.load(std::memory_order_acquire) && subscribed_.load(std::memory_order_acquire) &&
           done_sync_.load(std::memory_order_acquire) == want_sync_.load(std::memory_order_acquire);
  }

  void count_budget_unavailable() noexcept { budget_unavailable_.fetch_add(1, std::memory_order_relaxed); }

 private:
  struct handler_entry {
    std::uint64_t id;
    std::string provider;
    remote_fn fn;
  };

  /// What a thread's reconnect step tells its loop.
  enum class link_step : std::uint8_t {
    up,     ///< connected: go on
    retry,  ///< failed and paused: try again
    stop,   ///< stopping: leave the loop
  };

  /// Which part of the backend an error belongs to: each keeps its own, and
  /// clears it when it recovers, so status().last_error is what is wrong now.
  enum class error_slot : std::uint8_t { writer, subscriber, budget, count };

  static void validate_namespace(const std::string& ns);
  static std::string make_instance_id();
  std::chrono::milliseconds next_backoff(std::chrono::milliseconds cur) const noexcept;
  /// Records `e` (with the password scrubbed, in case a server or proxy
  /// echoed it) as `slot`'s current error.
  void set_error(error_slot slot, const std::string& e);
  void clear_error(error_slot slot);
  /// A connection's endpoint (the node serving the namespace's slot, as
  /// last learnt from a MOVED) with its CLIENT SETNAME name.
  redis_endpoint endpoint_for(std::string_view role) const;
  /// When `r` is a Redis Cluster "MOVED <slot> <host>:<port>" reply: records
  /// that node as the namespace's (every key is under one hash tag, so one
  /// node holds them all), closes `conn` so its owner reconnects there, sets
  /// `err`, and returns true. ASK is follow_ask's.
  bool follow_moved(const redisReply* r, redis_connection& conn, std::string& err);
  /// When `r` is "ASK <slot> <host>:<port>" (the namespace's slot is being
  /// migrated and these keys are on the target already): runs the script
  /// once on that node, after ASKING, on a connection of its own, and
  /// returns its reply in `r`; the slot's owner stays the one we know until
  /// the migration ends with a MOVED. False (and `r` untouched) when `r` is
  /// no ASK; true with `r` empty and `err` set when the target cannot be
  /// reached.
  bool follow_ask(reply_ptr& r, std::string_view sha, std::string_view script, std::vector<std::string_view> args,
                  std::string& err);
  /// Opens the budget connection when it is closed (not within the backoff).
  bool budget_connect(std::string& err);

  // ---- budget thread (impl/redis_budget.hpp) --------------------------------

  /// Units of one day counter this instance holds: granted by Redis, not yet
  /// handed to a caller. Guarded by stock_mu_.
  struct budget_stock {
    std::string provider, fp;
    provider_day day{};
    std::uint32_t limit = 0;
    long long end_s = 0;
    std::uint32_t units = 0;   ///< granted by Redis, not yet handed out
    std::uint32_t chunk = 0;   ///< the callers' batch size (want)
    std::uint32_t demand = 0;  ///< units waiting callers asked for
    int waiters = 0;
    bool fetching = false;  ///< queued for, or in, the budget thread
    bool spent = false;     ///< Redis granted less than asked: nothing more that day
    std::uint64_t answers = 0, failures = 0;
  };
  void budget_loop();
  /// Runs one fetch for `key` (on the budget thread), then wakes its waiters.
  void fetch_budget(const std::string& key);
  /// Queues a fetch for `s` unless one is queued or running; false once stopped.
  bool request_fetch(const std::string& key, budget_stock& s);
  /// The budget script on the budget connection: units granted, or empty
  /// when Redis could not answer (`err` says why). Caller holds budget_mu_.
  std::optional<std::uint32_t> run_budget_script(const std::string& key, std::uint32_t limit, std::uint32_t want,
                                                 long long end_s, std::string& err);
  void wake() noexcept;
  /// Waits `d` or until stop; true when stopping.
  bool sleep_or_stop(std::condition_variable& cv, std::chrono::milliseconds d);

  // ---- writer thread (impl/redis_writer.hpp) --------------------------------

  void writer_loop();
  /// Between writes: notices a connection the server closed, and PINGs
  /// once per ping_interval.
  void idle_check(scripted_connection& c, std::chrono::milliseconds& backoff,
                  std::chrono::steady_clock::time_point& last_ping, std::string& err);
  static constexpr std::chrono::milliseconds idle_check_interval{20};
  /// Connects `c` after a failure (or at start), pausing `backoff` when that
  /// fails.
  link_step reconnect_writer(scripted_connection& c, std::chrono::milliseconds& backoff, bool& ever_connected,
                             std::string& err);
  /// Ends the write of `w`: on failure puts it back at the front of the
  /// queue (or drops it when the queue is full).
  void finish_write(pending_change& w, bool ok);
  /// After a failed write: waits `d`, but once stopping no later than the
  /// flush deadline, so shutdown stays bounded.
  void retry_pause(std::chrono::milliseconds d);
  /// True when done with `w` (written, or no longer worth writing). False
  /// with the connection closed on an I/O error, open on a refusal.
  bool write(scripted_connection& c, const pending_change& w, std::string& err);

  // ---- subscriber thread (impl/redis_subscriber.hpp) ------------------------

  void subscriber_loop();
  /// Connects and subscribes `sub` after a failure (or at start), pausing
  /// `backoff` when that fails; once up, asks for a reload of stored state.
  link_step reconnect_subscriber(redis_connection& sub, std::chrono::milliseconds& backoff, bool& ever,
                                 std::string& err);
  /// Reloads stored state when a (re)connect or attach asked for it; true
  /// when stopping.
  bool sync_if_wanted(std::string& err);
  /// PINGs an idle connection, and closes it when a PING went unanswered.
  void keep_alive(redis_connection& sub, std::chrono::steady_clock::time_point last_rx, bool& ping_sent);
  bool connect_subscriber(redis_connection& sub, std::string& err);
  static bool send_ping(redis_connection& sub);
  /// Handles every complete reply hiredis holds; false on a protocol error.
  bool drain(redis_connection& sub, std::string& err);
  void on_message(std::string_view msg);
  void dispatch(const wire_change& c);
  // ---- surviving data loss (impl/redis_recovery.hpp) -------------------------

  /// Reads (or sets) the namespace's marker on `conn`. When it differs from
  /// the one this instance knew, the server lost its data: pushes the day's
  /// budget units this instance was granted back, re-queues every live
  /// lockout and disable, and adopts the new marker. False on an I/O error
  /// (the connection is closed); a refusal (a replica missing the marker)
  /// is no answer and true.
  bool check_epoch(redis_connection& conn, std::string& err);
  /// Remembers a change that is live now (local or remote), to re-publish it
  /// after a data loss; a release forgets it. Caller holds mu_.
  void remember_live(const pending_change& w, bool remote);
  /// Remembers budget units granted under the current marker.
  void remember_grant(const std::string& key, long long end_s, std::uint32_t units);
  bool restore_budgets(redis_connection& conn, std::string& err);
  void republish_live();

  /// Applies every lockout stored in Redis (a read-only script over the
  /// namespace's index, a page of load_page_size entries per call, on a
  /// short-lived connection; the subscription keeps buffering meanwhile).
  /// The time left is the key's PTTL, by the server's clock alone, so a
  /// skewed writer or reader cannot stretch or erase it.
  bool load_all(std::string& err);
  void load_page(const redisReply& r);

  redis_options opts_;
  redis_endpoint ep_;
  std::string prefix_, index_key_, channel_, instance_id_;
  int wake_[2] = {-1, -1};

  // Queue and lifecycle; never held across I/O.
  mutable std::mutex mu_;
  std::condition_variable cv_, stop_cv_, idle_cv_;
  std::deque<pending_change> queue_;
  bool in_flight_ = false;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point flush_deadline_{};

  // Attached pools; held while a handler runs so detach() waits for it.
  std::mutex registry_mu_;
  std::vector<handler_entry> handlers_;
  std::uint64_t next_attachment_ = 0;

  // Budget calls run on the caller's thread over their own connection.
  std::mutex budget_mu_;
  scripted_connection budget_conn_;
  std::chrono::steady_clock::time_point budget_retry_at_{};
  std::chrono::milliseconds budget_backoff_{};

  // Callers of reserve_daily() take units from the stock and wait (at most
  // budget_timeout) only when it is empty; the budget thread fetches. A
  // caller never holds a mutex across I/O.
  std::mutex stock_mu_;
  std::condition_variable stock_cv_, fetch_cv_;
  std::map<std::string, budget_stock> stock_;
  std::deque<std::string> fetch_queue_;
  bool budget_stop_ = false;
  std::atomic<std::uint64_t> budget_waits_{0}, budget_prefetches_{0};

  mutable std::mutex error_mu_;
  std::string errors_[static_cast<std::size_t>(error_slot::count)];

  std::atomic<bool> writer_up_{false}, subscribed_{false};
  /// The server answers our writes with an error (READONLY, NOPERM, MOVED,
  /// OOM): connected, but nothing reaches the fleet. Cleared by a write that
  /// succeeds.
  std::atomic<bool> writes_refused_{false};
  /// ready() once done_sync_ catches up with want_sync_ (bumped by every
  /// (re)connect and attach; the subscriber reloads stored state for it).
  std::atomic<std::uint64_t> want_sync_{0}, done_sync_{0};
  std::atomic<std::uint64_t> published_{0}, written_{0}, expired_{0}, dropped_{0}, write_retries_{0}, reconnects_{0},
      received_{0}, applied_{0}, own_ignored_{0}, malformed_{0}, loaded_{0}, budget_unavailable_{0};

  // What a data loss needs: the namespace's marker as last seen, and the
  // budget units granted under it (daily key -> units, its EXPIREAT).
  // Lock order: budget_mu_, then epoch_mu_, then mu_.
  std::mutex epoch_mu_;
  std::string epoch_;
  struct grant {
    long long end_s = 0;
    std::uint64_t units = 0;
  };
  std::map<std::string, grant> granted_;
  /// Every live lockout / disable, local or remote, by "provider\nfp"
  /// (guarded by mu_).
  std::map<std::string, pending_change> live_;
  std::atomic<std::uint64_t> data_losses_{0};

  // The node serving the namespace's slot (a Redis Cluster moves it; else
  // the configured host).
  mutable std::mutex node_mu_;
  std::string node_host_;
  int node_port_ = 0;
  std::atomic<std::uint64_t> redirects_{0}, asks_{0};

  std::mutex join_mu_;
  std::thread writer_, subscriber_, budgeter_;  // last: started after everything above exists
};

}  // namespace keypool::state::detail
