#pragma once
/// Out-of-line bodies of detail::sqlite_impl (detail/sqlite_impl.hpp): the
/// writer thread. It drains the publish queue in batches (one transaction
/// each: a crash leaves a batch all written or not at all), retries a failed
/// batch ahead of newer changes after a pause, and every poll_interval asks
/// the file whether another process committed, handing those changes to the
/// attached pools.

#include <keypool/state/detail/sqlite_impl.hpp>

#include <algorithm>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace keypool::state::detail {

inline void sqlite_impl::writer_loop() {
  std::chrono::milliseconds backoff{};
  std::string err;
  std::vector<sqlite_pending> batch;
  // Pruned once at start and then as often as a row can become prunable.
  auto next_prune = std::chrono::steady_clock::now();
  for (;;) {
    batch.clear();
    if (!take_batch(batch)) break;
    if (!batch.empty()) {
      const bool ok = write_batch(batch, err);
      // The error first: whoever sees the retry counted sees its reason too.
      if (!ok) set_error(describe("cannot write", err));
      finish_batch(batch, ok);
      if (!ok) {
        backoff = next_backoff(backoff);
        retry_pause(backoff);
        continue;
      }
      backoff = {};
    }
    if (!poll(err)) {
      set_error(describe("cannot read", err));
      retry_pause(next_backoff(backoff));
      continue;
    }
    set_healthy();
    if (std::chrono::steady_clock::now() >= next_prune) {
      prune(err);
      next_prune = std::chrono::steady_clock::now() +
                   std::max<std::chrono::milliseconds>(opts_.prune_after / 4, std::chrono::milliseconds(1000));
    }
  }
  idle_cv_.notify_all();
}

inline bool sqlite_impl::take_batch(std::vector<sqlite_pending>& batch) {
  std::unique_lock lk(mu_);
  cv_.wait_for(lk, opts_.poll_interval, [&] { return stopping_ || !queue_.empty(); });
  if (stopping_ && (queue_.empty() || std::chrono::steady_clock::now() > flush_deadline_)) return false;
  while (!queue_.empty() && batch.size() < max_batch) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  in_flight_ = batch.size();
  return true;
}

inline bool sqlite_impl::write_batch(const std::vector<sqlite_pending>& batch, std::string& err) {
  if (!db_.exec("BEGIN IMMEDIATE", err)) return false;
  std::uint64_t written = 0, kept = 0, expired = 0;
  const long long now = now_ms();
  bool ok = true;
  for (const auto& w : batch)
    if (!(ok = write_one(w, now, written, kept, expired, err))) break;
  if (ok && db_.exec("COMMIT", err)) {
    written_.fetch_add(written, std::memory_order_relaxed);
    kept_.fetch_add(kept, std::memory_order_relaxed);
    expired_.fetch_add(expired, std::memory_order_relaxed);
    return true;
  }
  std::string ignored;
  db_.exec("ROLLBACK", ignored);
  return false;
}

inline bool sqlite_impl::write_one(const sqlite_pending& w, long long now, std::uint64_t& written, std::uint64_t& kept,
                                   std::uint64_t& expired, std::string& err) {
  const stored_state next{w.status, w.until_ms};
  if (w.status != key_status::available && w.until_ms >= 0 && w.until_ms <= now) {
    ++expired;  // over before it reached the file: nobody needs it
    return true;
  }
  {
    statement_guard g{select_state_};
    select_state_.bind(1, w.provider);
    select_state_.bind(2, w.fingerprint);
    const int rc = select_state_.step();
    if (rc == SQLITE_ROW) {
      const auto st = sqlite_parse_status(select_state_.text(0));
      if (st && !sqlite_replaces({*st, select_state_.integer(2)}, next, now)) {
        ++kept;
        return true;
      }
    } else if (rc != SQLITE_DONE) {
      err = db_.errmsg();
      return false;
    }
  }
  statement_guard g{upsert_state_};
  upsert_state_.bind(1, w.provider);
  upsert_state_.bind(2, w.fingerprint);
  upsert_state_.bind(3, sqlite_status_name(w.status));
  upsert_state_.bind(4, to_string(w.status == key_status::available ? outcome_kind::success : w.reason));
  upsert_state_.bind(5, w.status == key_status::available ? 0LL : w.until_ms);
  upsert_state_.bind(6, now);
  upsert_state_.bind(7, instance_id_);
  if (upsert_state_.step() != SQLITE_DONE) {
    err = db_.errmsg();
    return false;
  }
  ++written;
  return true;
}

inline void sqlite_impl::finish_batch(std::vector<sqlite_pending>& batch, bool ok) {
  {
    std::lock_guard g(mu_);
    in_flight_ = 0;
    if (!ok) {
      // Retried after a pause, ahead of newer changes; beyond capacity the
      // oldest go.
      write_retries_.fetch_add(1, std::memory_order_relaxed);
      for (auto it = batch.rbegin(); it != batch.rend(); ++it) queue_.push_front(std::move(*it));
      while (queue_.size() > opts_.queue_capacity) {
        queue_.pop_front();
        dropped_.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  idle_cv_.notify_all();
}

inline void sqlite_impl::retry_pause(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  std::unique_lock lk(mu_);
  for (;;) {
    const auto until = stopping_ ? std::min(end, flush_deadline_) : end;
    if (std::chrono::steady_clock::now() >= until) return;
    stop_cv_.wait_until(lk, until);  // not cv_: every publish() notifies that
  }
}

inline bool sqlite_impl::poll(std::string& err) {
  {
    statement_guard g{data_version_};
    if (data_version_.step() != SQLITE_ROW) {
      err = db_.errmsg();
      return false;
    }
    // Changes by this connection (our own writes) leave it as it is.
    const long long v = data_version_.integer(0);
    if (v == last_data_version_) return true;
    last_data_version_ = v;
  }
  polls_.fetch_add(1, std::memory_order_relaxed);
  statement_guard g{changes_since_};
  changes_since_.bind(1, last_seq_);
  int rc;
  while ((rc = changes_since_.step()) == SQLITE_ROW) {
    last_seq_ = std::max(last_seq_, changes_since_.integer(5));
    if (changes_since_.text(6) == instance_id_) continue;  // this backend's own row
    const auto st = sqlite_parse_status(changes_since_.text(2));
    const auto why = sqlite_parse_reason(changes_since_.text(3));
    if (!st || !why) {
      malformed_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    received_.fetch_add(1, std::memory_order_relaxed);
    dispatch(changes_since_.text(0), changes_since_.text(1), *st, *why, changes_since_.integer(4));
  }
  if (rc != SQLITE_DONE) {
    err = db_.errmsg();
    return false;
  }
  return true;
}

inline void sqlite_impl::dispatch(std::string_view provider, std::string_view fp, key_status s, outcome_kind r,
                                  long long until_ms) {
  const auto until = s == key_status::available ? std::chrono::system_clock::time_point{} : sqlite_wall_time(until_ms);
  std::lock_guard g(registry_mu_);
  for (auto& h : handlers_) {
    if (h.provider != provider) continue;
    try {
      if (h.fn(fp, s, r, until)) applied_.fetch_add(1, std::memory_order_relaxed);
    } catch (...) {
      // A handler that throws must not take the writer down.
    }
  }
}

inline void sqlite_impl::prune(std::string& err) {
  statement_guard g{prune_state_};
  prune_state_.bind(1, now_ms() - opts_.prune_after.count());
  if (prune_state_.step() != SQLITE_DONE) set_error(describe("cannot prune", err = db_.errmsg()));
}

}  // namespace keypool::state::detail
