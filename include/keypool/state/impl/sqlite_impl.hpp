#pragma once
/// Out-of-line bodies of detail::sqlite_impl (detail/sqlite_impl.hpp): the
/// lifecycle (open, start, stop), the publish queue, attachments and status.

#include <keypool/state/detail/sqlite_impl.hpp>

#include <unistd.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <utility>

namespace keypool::state::detail {

inline sqlite_impl::sqlite_impl(sqlite_options opts) : opts_(std::move(opts)), instance_id_(make_instance_id()) {
  if (opts_.queue_capacity == 0) throw std::invalid_argument("keypool::state::sqlite: queue_capacity must be > 0");
  std::string err;
  open_ = open_file(err);
  if (!open_) {
    set_error(describe("cannot use", err) + "; key state is kept in memory only");
    return;
  }
  healthy_.store(true, std::memory_order_release);
  writer_ = std::thread([this] { writer_loop(); });
}

inline sqlite_impl::~sqlite_impl() {
  stop();
  // Statements before their connections (a connection with live
  // statements would stay open).
  select_state_ = {};
  upsert_state_ = {};
  changes_since_ = {};
  data_version_ = {};
  prune_state_ = {};
  live_state_ = {};
  select_budget_ = {};
  add_budget_ = {};
  prune_budget_ = {};
}

inline void sqlite_impl::stop() noexcept {
  std::lock_guard j(join_mu_);  // two handles may shut down at once
  {
    std::lock_guard g(mu_);
    if (!stopping_) flush_deadline_ = std::chrono::steady_clock::now() + opts_.shutdown_flush;
    stopping_ = true;
  }
  cv_.notify_all();
  stop_cv_.notify_all();
  idle_cv_.notify_all();
  // A handler must not own the last handle (it would join its own thread).
  if (writer_.joinable() && writer_.get_id() != std::this_thread::get_id()) writer_.join();
}

inline void sqlite_impl::enqueue(const state_change& c) noexcept {
  if (c.status == key_status::probing) return;  // local detail, not shared
  try {
    sqlite_pending w{std::string(c.provider_id), std::string(c.fingerprint), c.status, c.reason,
                     sqlite_wall_ms(c.until)};
    {
      std::lock_guard g(mu_);
      if (stopping_ || !open_) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      if (queue_.size() >= opts_.queue_capacity) {
        queue_.pop_front();
        dropped_.fetch_add(1, std::memory_order_relaxed);
      }
      queue_.push_back(std::move(w));
      published_.fetch_add(1, std::memory_order_relaxed);
    }
    cv_.notify_one();
  } catch (...) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
  }
}

inline bool sqlite_impl::flush(std::chrono::milliseconds timeout) {
  if (!open_) return false;
  const auto end = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lk(mu_);
  return idle_cv_.wait_until(lk, end, [&] { return queue_.empty() && in_flight_ == 0; });
}

inline std::uint64_t sqlite_impl::attach(std::string provider_id, sqlite_remote_fn h) {
  std::lock_guard r(registry_mu_);  // the poll waits: the newcomer sees the file first
  const std::uint64_t id = ++next_attachment_;
  if (open_) {
    std::lock_guard a(aux_mu_);
    statement_guard g{live_state_};
    live_state_.bind(1, provider_id);
    live_state_.bind(2, now_ms());
    int rc;
    while ((rc = live_state_.step()) == SQLITE_ROW) {
      const auto st = sqlite_parse_status(live_state_.text(1));
      const auto why = sqlite_parse_reason(live_state_.text(2));
      if (!st || !why) {
        malformed_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      loaded_.fetch_add(1, std::memory_order_relaxed);
      try {
        if (h(live_state_.text(0), *st, *why, sqlite_wall_time(live_state_.integer(3))))
          applied_.fetch_add(1, std::memory_order_relaxed);
      } catch (...) {
        // A handler that throws loses this row, not the attachment.
      }
    }
    if (rc != SQLITE_DONE) set_error(describe("cannot read", aux_.errmsg()));
  }
  handlers_.push_back({id, std::move(provider_id), std::move(h)});
  return id;
}

inline void sqlite_impl::detach(std::uint64_t id) noexcept {
  std::lock_guard g(registry_mu_);  // waits for a handler that is running
  std::erase_if(handlers_, [&](const handler_entry& e) { return e.id == id; });
}

inline sqlite_status sqlite_impl::status() const {
  sqlite_status s;
  s.configured = true;
  s.open = open_;
  s.degraded = !ready();
  s.path = opts_.path;
  {
    std::lock_guard g(mu_);
    s.queued = queue_.size() + in_flight_;
  }
  s.published = published_.load(std::memory_order_relaxed);
  s.written = written_.load(std::memory_order_relaxed);
  s.kept = kept_.load(std::memory_order_relaxed);
  s.expired = expired_.load(std::memory_order_relaxed);
  s.dropped = dropped_.load(std::memory_order_relaxed);
  s.write_retries = write_retries_.load(std::memory_order_relaxed);
  s.polls = polls_.load(std::memory_order_relaxed);
  s.received = received_.load(std::memory_order_relaxed);
  s.applied = applied_.load(std::memory_order_relaxed);
  s.malformed = malformed_.load(std::memory_order_relaxed);
  s.loaded = loaded_.load(std::memory_order_relaxed);
  s.budget_unavailable = budget_unavailable_.load(std::memory_order_relaxed);
  {
    std::lock_guard g(error_mu_);
    s.last_error = last_error_;
  }
  return s;
}

inline std::string sqlite_impl::make_instance_id() {
  std::random_device rd;
  std::uint64_t v = (std::uint64_t{rd()} << 32) ^ rd() ^ static_cast<std::uint64_t>(::getpid()) << 16 ^
                    static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  static constexpr char hex[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = hex[v & 0xf];
  return s;
}

inline long long sqlite_impl::now_ms() const {
  return sqlite_wall_ms(opts_.wall_clock ? opts_.wall_clock() : std::chrono::system_clock::now());
}

inline std::chrono::milliseconds sqlite_impl::next_backoff(std::chrono::milliseconds cur) const noexcept {
  if (cur.count() <= 0) return opts_.backoff_min;
  return std::min(cur * 2, opts_.backoff_max);
}

inline void sqlite_impl::set_error(const std::string& e) {
  healthy_.store(false, std::memory_order_release);
  std::lock_guard g(error_mu_);
  last_error_ = e;
}

inline void sqlite_impl::set_healthy() noexcept {
  if (healthy_.load(std::memory_order_acquire)) return;
  std::lock_guard g(error_mu_);
  last_error_.clear();
  healthy_.store(true, std::memory_order_release);
}

inline std::string sqlite_impl::describe(std::string_view what, const std::string& err) const {
  std::string s = "keypool::state::sqlite: ";
  s.append(what).append(" the state file '").append(opts_.path).append("': ").append(err);
  return s;
}

}  // namespace keypool::state::detail
