#pragma once
/// sqlite_impl: the state every state::sqlite handle shares. It owns the
/// state file's two connections: the writer thread's (drains the publish
/// queue in batches, one transaction each, and polls the file for other
/// processes' changes) and one for the callers of attach() and the budget
/// API (under a mutex). Declared here; the bodies are in
/// state/impl/sqlite_open.hpp (opening and checking the file),
/// sqlite_impl.hpp (lifecycle, queue, attachments, status),
/// sqlite_writer.hpp, sqlite_budget.hpp, sqlite_spend.hpp and
/// sqlite_models.hpp, which state/sqlite.hpp includes at its end.

#include <keypool/core/detail/key_state.hpp>
#include <keypool/core/outcome.hpp>
#include <keypool/state/concept.hpp>
#include <keypool/state/detail/sqlite_connection.hpp>
#include <keypool/state/detail/sqlite_schema.hpp>
#include <keypool/state/sqlite_options.hpp>
#include <keypool/state/sqlite_status.hpp>
#include <keypool/state/stored_spend.hpp>
#include <keypool/state/stored_unavailable_model.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace keypool::state::detail {

/// How a change reaches an attachment: fingerprint, status, reason and the
/// wall time it ends (time_point::max(): never). One machine, one clock, so
/// the file stores absolute times.
using sqlite_remote_fn =
    std::function<bool(std::string_view, key_status, outcome_kind, std::chrono::system_clock::time_point)>;

/// A change waiting for the writer.
struct sqlite_pending {
  std::string provider;
  std::string fingerprint;
  key_status status = key_status::available;
  outcome_kind reason = outcome_kind::success;
  long long until_ms = 0;  ///< sqlite_wall_ms(until): -1 for never
};

/// Everything the handles share.
class sqlite_impl {
 public:
  /// Opens the file and starts the writer thread. A file that cannot be used
  /// does not throw: the backend stays in memory only, status() says why.
  /// Throws std::invalid_argument for a bad queue_capacity.
  explicit sqlite_impl(sqlite_options opts);
  sqlite_impl(const sqlite_impl&) = delete;
  sqlite_impl& operator=(const sqlite_impl&) = delete;
  ~sqlite_impl();

  /// Stops and joins the writer (after flushing for up to shutdown_flush);
  /// idempotent.
  void stop() noexcept;

  // ---- publish side (impl/sqlite_impl.hpp) ----------------------------------

  void enqueue(const state_change& c) noexcept;
  bool flush(std::chrono::milliseconds timeout);

  // ---- attachments (impl/sqlite_impl.hpp) -----------------------------------

  /// Registers `h` for `provider_id` and hands it the running lockouts and
  /// disables the file holds for that provider, before returning.
  std::uint64_t attach(std::string provider_id, sqlite_remote_fn h);
  void detach(std::uint64_t id) noexcept;

  // ---- budgets (impl/sqlite_budget.hpp) -------------------------------------

  std::optional<std::uint32_t> reserve_daily(std::string_view provider_id, std::string_view fp, const provider_day& day,
                                             std::uint32_t limit, std::uint32_t want);
  std::optional<std::uint64_t> daily_used(std::string_view provider_id, std::string_view fp, std::uint32_t day);

  // ---- spend (impl/sqlite_spend.hpp) -----------------------------------------

  bool add_spend(const std::vector<stored_spend>& rows);
  std::optional<std::vector<stored_spend>> load_spend();

  // ---- unavailable models (impl/sqlite_models.hpp) ---------------------------

  bool add_unavailable_models(const std::vector<stored_unavailable_model>& rows);
  std::optional<std::vector<stored_unavailable_model>> load_unavailable_models();

  // ---- status (impl/sqlite_impl.hpp) ----------------------------------------

  sqlite_status status() const;
  bool ready() const noexcept { return open_ && healthy_.load(std::memory_order_acquire); }
  const std::string& path() const noexcept { return opts_.path; }
  const std::string& instance_id() const noexcept { return instance_id_; }
  void count_budget_unavailable() noexcept { budget_unavailable_.fetch_add(1, std::memory_order_relaxed); }

 private:
  struct handler_entry {
    std::uint64_t id;
    std::string provider;
    sqlite_remote_fn fn;
  };

  // ---- opening (impl/sqlite_open.hpp) ---------------------------------------

  /// Opens and checks the file, creates the schema; on failure an error
  /// naming the file in `err`, both connections closed.
  bool open_file(std::string& err);
  /// The steps of open_file, each false with the reason in `err`.
  bool prepare_path(std::string& err);
  bool configure(sqlite_connection& c, std::string& err);
  bool check_file(std::string& err);
  bool create_schema(std::string& err);
  bool prepare_statements(std::string& err);

  static std::string make_instance_id();
  long long now_ms() const;
  std::chrono::milliseconds next_backoff(std::chrono::milliseconds cur) const noexcept;
  void set_error(const std::string& e);
  void set_healthy() noexcept;
  std::string describe(std::string_view what, const std::string& err) const;

  // ---- writer thread (impl/sqlite_writer.hpp) -------------------------------

  void writer_loop();
  /// Takes up to max_batch changes off the queue; false when stopping with
  /// nothing (more) to write.
  bool take_batch(std::vector<sqlite_pending>& batch);
  /// Writes the batch in one transaction; false (rolled back) with `err`.
  bool write_batch(const std::vector<sqlite_pending>& batch, std::string& err);
  /// Writes one change inside the open transaction.
  bool write_one(const sqlite_pending& w, long long now, std::uint64_t& written, std::uint64_t& kept,
                 std::uint64_t& expired, std::string& err);
  /// Puts a failed batch back at the front of the queue (dropping the
  /// oldest beyond capacity), and ends the flight.
  void finish_batch(std::vector<sqlite_pending>& batch, bool ok);
  /// After a failure: waits `d`, but once stopping no later than the flush
  /// deadline, so shutdown stays bounded.
  void retry_pause(std::chrono::milliseconds d);
  /// Reads other processes' changes when the file changed since the last
  /// poll, and hands them to the attachments.
  bool poll(std::string& err);
  void prune(std::string& err);
  void dispatch(std::string_view provider, std::string_view fp, key_status s, outcome_kind r, long long until_ms);

  static constexpr std::size_t max_batch = 256;

  sqlite_options opts_;
  std::string instance_id_;
  bool open_ = false;  // set by the constructor only

  // The writer thread's connection and statements.
  sqlite_connection db_;
  sqlite_statement select_state_, upsert_state_, changes_since_, data_version_, prune_state_;
  long long last_seq_ = 0, last_data_version_ = 0;

  // attach() and the budget API share this connection.
  std::mutex aux_mu_;
  sqlite_connection aux_;
  sqlite_statement live_state_, select_budget_, add_budget_, prune_budget_;

  // Queue and lifecycle; never held across I/O.
  mutable std::mutex mu_;
  std::condition_variable cv_, stop_cv_, idle_cv_;
  std::deque<sqlite_pending> queue_;
  std::size_t in_flight_ = 0;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point flush_deadline_{};

  // Attached pools; held while a handler runs so detach() waits for it.
  std::mutex registry_mu_;
  std::vector<handler_entry> handlers_;
  std::uint64_t next_attachment_ = 0;

  mutable std::mutex error_mu_;
  std::string last_error_;

  std::atomic<bool> healthy_{false};
  std::atomic<std::uint64_t> published_{0}, written_{0}, kept_{0}, expired_{0}, dropped_{0}, write_retries_{0},
      polls_{0}, received_{0}, applied_{0}, malformed_{0}, loaded_{0}, budget_unavailable_{0};

  std::mutex join_mu_;
  std::thread writer_;  // last: started after everything above exists
};

}  // namespace keypool::state::detail
