#pragma once
/// state::sqlite — key state kept in a SQLite file on one machine, so that it
/// survives restarts and is shared by every process using the file (several
/// CLI runs, several gateway workers). Lockouts and disables (with their
/// re-check time) are written off the pick path by a writer thread; other
/// processes' changes are read back from the file every poll_interval and
/// applied to the attached pools; daily budgets are counted in the file, so
/// a limit holds across processes and restarts.
///
///   keypool::state::sqlite store({.path = "/home/me/.local/state/keypool/state.db"});
///   using pool_t = keypool::pool<groq>::with<keypool::policy::state<keypool::state::sqlite>>;
///   pool_t pool(keys, {.state = store});
///   auto link = store.attach(pool);   // loads stored lockouts; declare after the pool
///   if (store.status().degraded) log(store.status().last_error);
///
/// Tables (never a secret, only the provider id and 12-hex fingerprints):
///   key_state(provider, fingerprint, status, reason, until_ms, updated_ms, writer, seq)
///   daily_budget(provider, fingerprint, day, granted)
///   spend(provider, fingerprint, model, requests, input_tokens, output_tokens, cost_nusd, priced)
///   unavailable_model(provider, account, model, until_ms)   -- account: the key's, or its fingerprint
///
/// A file that cannot be used (a directory, read-only, not a database,
/// corrupt, another program's database) is not an exception: the backend
/// keeps state in memory only, and status() says degraded, with an error
/// naming the file. Picks never wait on the file: publish() queues.
///
/// Copies are handles to one shared backend; the last copy to go stops and
/// joins the writer (after trying to write queued changes for up to
/// sqlite_options::shutdown_flush).
///
/// Where things are: this header holds the handle; sqlite_options.hpp the
/// knobs; sqlite_status.hpp the health snapshot; detail/sqlite_schema.hpp
/// what is stored and the "never shorten" rule; detail/sqlite_connection.hpp
/// the SQLite wrapper; detail/sqlite_impl.hpp and impl/ the shared state and
/// its thread.

#include <keypool/core/detail/key_state.hpp>
#include <keypool/core/outcome.hpp>
#include <keypool/state/concept.hpp>
#include <keypool/state/detail/sqlite_impl.hpp>
#include <keypool/state/sqlite_options.hpp>
#include <keypool/state/sqlite_status.hpp>
#include <keypool/state/stored_spend.hpp>
#include <keypool/state/stored_unavailable_model.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::state {

/// The SQLite state backend. A cheap, copyable handle; see the file comment.
///
/// Thread safety and progress, per operation:
///  - publish(): any thread; a mutex held only for an O(1) queue push (never
///    across I/O); not lock-free, but bounded.
///  - attach(): any thread; blocking: one read of the file (WAL readers do
///    not wait for writers), and waits while a change is being applied.
///    The attachment's destructor waits the same way.
///  - reserve_daily(), daily_used(): any thread; noexcept; blocking: one
///    transaction, waiting at most budget_timeout for another process's
///    write lock (then empty: the pool counts locally).
///  - status(), ready(): any thread; wait-free but for two short mutexes.
///  - flush(): blocking, bounded by its timeout.
class sqlite {
 public:
  /// An inert handle (publish() does nothing, status().configured is false),
  /// so pool options can be default-constructed. Use the other constructor.
  sqlite() noexcept = default;

  /// Opens (creating when missing) the file and starts the writer thread.
  /// Does not throw for an unusable file (see status()); throws
  /// std::invalid_argument for queue_capacity 0.
  explicit sqlite(sqlite_options opts) : impl_(std::make_shared<detail::sqlite_impl>(std::move(opts))) {}

  /// Queues the change for the writer thread. Never touches the file.
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
    friend class sqlite;
    attachment(std::weak_ptr<detail::sqlite_impl> p, std::uint64_t id) : impl_(std::move(p)), id_(id) {}
    std::weak_ptr<detail::sqlite_impl> impl_;
    std::uint64_t id_ = 0;
  };

  /// Applies the lockouts and disables the file holds for
  /// pool.provider().id (those still running) before returning, then feeds
  /// other processes' changes into pool.apply_remote() as they are read.
  /// Keep the attachment alive no longer than the pool.
  template <class Pool>
  requires requires(Pool& p, std::string_view fp, key_status s, outcome_kind r,
                    std::chrono::system_clock::time_point u) {
    { p.apply_remote(fp, s, r, u) } -> std::convertible_to<bool>;
    p.provider().id;
  }
  [[nodiscard]] attachment attach(Pool& pool) {
    if (!impl_) return {};
    auto fn = [&pool](std::string_view fp, key_status s, outcome_kind r, std::chrono::system_clock::time_point u) {
      return pool.apply_remote(fp, s, r, u);
    };
    return attachment(impl_, impl_->attach(pool.provider().id, std::move(fn)));
  }

  /// Any handler for one provider id (e.g. to log remote changes): called
  /// with (fingerprint, status, reason, until) on the writer thread, and on
  /// this thread for the state already stored. Keep it short, and do not let
  /// it own a copy of this handle. Returns whether the fingerprint was known.
  [[nodiscard]] attachment attach(
      std::string provider_id,
      std::function<bool(std::string_view, key_status, outcome_kind, std::chrono::system_clock::time_point)> h) {
    if (!impl_) return {};
    return attachment(impl_, impl_->attach(std::move(provider_id), std::move(h)));
  }

  /// Takes up to `want` units of key `fingerprint`'s budget for provider day
  /// `day`: never more than `limit` granted that day by this file, whichever
  /// processes ask. 0 when spent; empty when the file is unusable or busy
  /// beyond budget_timeout (the pool then counts locally).
  std::optional<std::uint32_t> reserve_daily(std::string_view provider_id, std::string_view fingerprint,
                                             const provider_day& day, std::uint32_t limit,
                                             std::uint32_t want) noexcept {
    if (!impl_) return std::nullopt;
    std::optional<std::uint32_t> got;
    try {
      got = impl_->reserve_daily(provider_id, fingerprint, day, limit, want);
    } catch (...) {  // bad_alloc: answer "unavailable", never throw into a picker
    }
    if (!got) impl_->count_budget_unavailable();
    return got;
  }

  /// Units of that day's budget granted so far; empty when the file is unusable.
  std::optional<std::uint64_t> daily_used(std::string_view provider_id, std::string_view fingerprint,
                                          const provider_day& day) noexcept {
    if (!impl_) return std::nullopt;
    try {
      return impl_->daily_used(provider_id, fingerprint, day.index);
    } catch (...) {
      return std::nullopt;
    }
  }

  /// Adds `rows` (what was spent since the last call: requests, tokens and
  /// cost are added to the stored totals, so several processes each add
  /// their own share) in one transaction. False when the file is unusable or
  /// busy beyond busy_timeout (status() then says why). Not for the request
  /// path: call it at exit or every few seconds.
  bool add_spend(const std::vector<stored_spend>& rows) noexcept {
    if (!impl_) return false;
    try {
      return impl_->add_spend(rows);
    } catch (...) {
      return false;
    }
  }

  /// Every stored key × model total; empty when the file is unusable.
  std::optional<std::vector<stored_spend>> load_spend() noexcept {
    if (!impl_) return std::nullopt;
    try {
      return impl_->load_spend();
    } catch (...) {
      return std::nullopt;
    }
  }

  /// Stores models a provider called unavailable (the HTTP client's
  /// on_model_unavailable), in one transaction: an entry already stored
  /// keeps the later end; entries over by now are dropped from the file on
  /// the way. False when the file is unusable or busy beyond busy_timeout.
  /// Not for the request path: call it at exit or off the request's thread.
  bool add_unavailable_models(const std::vector<stored_unavailable_model>& rows) noexcept {
    if (!impl_) return false;
    try {
      return impl_->add_unavailable_models(rows);
    } catch (...) {
      return false;
    }
  }

  /// The stored unavailable models not over yet (to seed the client with
  /// remember_unavailable at start); empty when the file is unusable.
  std::optional<std::vector<stored_unavailable_model>> load_unavailable_models() noexcept {
    if (!impl_) return std::nullopt;
    try {
      return impl_->load_unavailable_models();
    } catch (...) {
      return std::nullopt;
    }
  }

  sqlite_status status() const { return impl_ ? impl_->status() : sqlite_status{}; }

  /// The file is open and its last write and read succeeded.
  bool ready() const noexcept { return impl_ && impl_->ready(); }

  /// Waits until every queued change is written; false on timeout (or
  /// when there is no file).
  bool flush(std::chrono::milliseconds timeout) { return impl_ && impl_->flush(timeout); }

  /// Stops and joins the writer now (for every handle), writing what is
  /// queued for up to shutdown_flush. Later publish() calls count as dropped.
  void shutdown() noexcept {
    if (impl_) impl_->stop();
  }

  /// This backend's id in the file's `writer` column (its own rows are not
  /// applied back).
  std::string instance_id() const { return impl_ ? impl_->instance_id() : std::string(); }
  /// The state file.
  std::string path() const { return impl_ ? impl_->path() : std::string(); }

 private:
  std::shared_ptr<detail::sqlite_impl> impl_;
};

static_assert(state_backend<sqlite>);
static_assert(shared_budget_backend<sqlite>);

}  // namespace keypool::state

#include <keypool/state/impl/sqlite_budget.hpp>
#include <keypool/state/impl/sqlite_impl.hpp>
#include <keypool/state/impl/sqlite_models.hpp>
#include <keypool/state/impl/sqlite_open.hpp>
#include <keypool/state/impl/sqlite_spend.hpp>
#include <keypool/state/impl/sqlite_writer.hpp>
