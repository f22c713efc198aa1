#pragma once
/// Out-of-line bodies of detail::redis_impl (detail/redis_impl.hpp): the
/// writer thread. It drains the publish queue into Redis one change at a
/// time (one atomic script call each), reconnects with backoff, and retries
/// a failed write ahead of newer changes.

#include <keypool/state/detail/redis_impl.hpp>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::state::detail {

inline void redis_impl::writer_loop() {
  block_sigpipe();
  scripted_connection c;
  std::chrono::milliseconds backoff{};
  bool ever_connected = false;
  std::string err;
  auto last_ping = std::chrono::steady_clock::now();
  for (;;) {
    if (!c.conn.ok()) {
      const auto step = reconnect_writer(c, backoff, ever_connected, err);
      if (step == link_step::stop) break;
      if (step == link_step::retry) continue;
      last_ping = std::chrono::steady_clock::now();
    }
    pending_change w;
    {
      std::unique_lock lk(mu_);
      // Short slices: between them an idle connection is checked (one
      // poll(), no round trip), so ready() turns false as soon as the server
      // closes it rather than at the next PING.
      cv_.wait_for(lk, std::min(opts_.ping_interval, idle_check_interval),
                   [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        if (stopping_) break;
        lk.unlock();
        idle_check(c, backoff, last_ping, err);
        continue;
      }
      if (stopping_ && std::chrono::steady_clock::now() > flush_deadline_) break;
      w = std::move(queue_.front());
      queue_.pop_front();
      in_flight_ = true;
    }
    const bool ok = write(c, w, err);
    if (!c.conn.ok()) writer_up_.store(false, std::memory_order_release);
    finish_write(w, ok);
    idle_cv_.notify_all();
    if (ok) {
      backoff = {};
    } else {
      // An I/O error closed the connection (reconnect after the pause); a
      // refusal (READONLY replica, OOM, NOPERM) leaves it usable. Either
      // way the same write is tried again, so pause first.
      set_error(error_slot::writer, err);
      backoff = next_backoff(backoff);
      retry_pause(backoff);
    }
  }
  writer_up_.store(false, std::memory_order_release);
  idle_cv_.notify_all();
}

inline void redis_impl::idle_check(scripted_connection& c, std::chrono::milliseconds& backoff,
                                   std::chrono::steady_clock::time_point& last_ping, std::string& err) {
  if (c.conn.closed_by_peer()) {
    writer_up_.store(false, std::memory_order_release);
    set_error(error_slot::writer, "writer: connection closed by the server");
    return;
  }
  if (std::chrono::steady_clock::now() - last_ping < opts_.ping_interval) return;
  last_ping = std::chrono::steady_clock::now();
  // Idle: check the connection is still alive (so status() is true) and
  // the server still holds our data (a FLUSHALL keeps connections).
  if (!check_epoch(c.conn, err)) {
    writer_up_.store(false, std::memory_order_release);
    set_error(error_slot::writer, err);
  } else {
    backoff = {};
    if (!writes_refused_.load(std::memory_order_acquire)) clear_error(error_slot::writer);
  }
}

inline redis_impl::link_step redis_impl::reconnect_writer(scripted_connection& c, std::chrono::milliseconds& backoff,
                                                          bool& ever_connected, std::string& err) {
  writer_up_.store(false, std::memory_order_release);
  {
    std::lock_guard g(mu_);
    if (stopping_) return link_step::stop;  // nothing can be flushed without Redis
  }
  if (!c.open(endpoint_for("writer"), err) || !check_epoch(c.conn, err)) {
    c.conn.close();
    set_error(error_slot::writer, err);
    backoff = next_backoff(backoff);
    return sleep_or_stop(cv_, backoff) ? link_step::stop : link_step::retry;
  }
  // The backoff is not reset here but after a write or PING succeeds:
  // a server that accepts connections yet refuses every write must not
  // be retried at connect speed.
  if (ever_connected) reconnects_.fetch_add(1, std::memory_order_relaxed);
  ever_connected = true;
  if (!writes_refused_.load(std::memory_order_acquire)) clear_error(error_slot::writer);
  // The budget connection's error was most likely the same outage; its next
  // call sets it again if not.
  clear_error(error_slot::budget);
  writer_up_.store(true, std::memory_order_release);
  return link_step::up;
}

inline void redis_impl::finish_write(pending_change& w, bool ok) {
  std::lock_guard g(mu_);
  in_flight_ = false;
  if (ok) return;
  // Retried after a pause, ahead of newer changes; if the queue
  // filled up meanwhile, this is the oldest and goes.
  write_retries_.fetch_add(1, std::memory_order_relaxed);
  if (queue_.size() < opts_.queue_capacity)
    queue_.push_front(std::move(w));
  else
    dropped_.fetch_add(1, std::memory_order_relaxed);
}

inline void redis_impl::retry_pause(std::chrono::milliseconds d) {
  const auto end = std::chrono::steady_clock::now() + d;
  std::unique_lock lk(mu_);
  for (;;) {
    const auto until = stopping_ ? std::min(end, flush_deadline_) : end;
    if (std::chrono::steady_clock::now() >= until) return;
    stop_cv_.wait_until(lk, until);  // not cv_: every publish() notifies that
  }
}

inline bool redis_impl::write(scripted_connection& c, const pending_change& w, std::string& err) {
  long long ttl = -1;  // never
  if (w.status == key_status::available) {
    ttl = 0;
  } else if (w.until_ms >= 0) {
    ttl = w.until_ms - to_wall_ms(std::chrono::system_clock::now());
    if (ttl <= 0) {
      expired_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
  }
  const wire_change out{w.provider, w.fingerprint, w.status, w.reason, ttl};
  const std::string key = state_key(w.provider, w.fingerprint);
  const std::string body = out.body();
  const std::string msg = instance_id_ + "|" + body;
  const std::string ttl_s = std::to_string(ttl);
  const std::vector<std::string_view> args{"2", key, index_key_, status_name(w.status), body, ttl_s, channel_, msg};
  auto r = c.eval(c.write_sha, write_script, args, err);
  if (!r) return false;
  if (follow_moved(r.get(), c.conn, err)) return false;  // retried on the right node, after the pause
  if (follow_ask(r, c.write_sha, write_script, args, err) && !r) return false;
  if (r->type == REDIS_REPLY_ERROR && reply_text(r.get()).starts_with("TRYAGAIN")) {
    err = "the namespace's slot is being migrated (TRYAGAIN)";  // retried after the pause, not a refusal
    return false;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    // A server-side refusal (OOM, read-only replica, missing ACL permission,
    // a key owned by another cluster node) is retried too, but reported:
    // nothing reaches the fleet meanwhile.
    err = "write refused: " + std::string(reply_text(r.get()));
    writes_refused_.store(true, std::memory_order_release);
    return false;
  }
  if (writes_refused_.exchange(false, std::memory_order_acq_rel)) clear_error(error_slot::writer);
  written_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace keypool::state::detail
