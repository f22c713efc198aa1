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
#include <utility>

namespace keypool::state::detail {

inline void redis_impl::writer_loop() {
  scripted_connection c;
  std::chrono::milliseconds backoff{};
  bool ever_connected = false;
  std::string err;
  for (;;) {
    if (!c.conn.ok()) {
      const auto step = reconnect_writer(c, backoff, ever_connected, err);
      if (step == link_step::stop) break;
      if (step == link_step::retry) continue;
    }
    pending_change w;
    {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, opts_.ping_interval, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        if (stopping_) break;
        lk.unlock();
        // Idle: check the connection is still alive, so status() is true.
        if (auto r = c.conn.command({"PING"}, err); !r)
          set_error(err);
        else if (r->type != REDIS_REPLY_ERROR)
          backoff = {};
        continue;
      }
      if (stopping_ && std::chrono::steady_clock::now() > flush_deadline_) break;
      w = std::move(queue_.front());
      queue_.pop_front();
      in_flight_ = true;
    }
    const bool ok = write(c, w, err);
    finish_write(w, ok);
    idle_cv_.notify_all();
    if (ok) {
      backoff = {};
    } else {
      // An I/O error closed the connection (reconnect after the pause); a
      // refusal (READONLY replica, OOM, NOPERM) leaves it usable. Either
      // way the same write is tried again, so pause first.
      set_error(err);
      backoff = next_backoff(backoff);
      retry_pause(backoff);
    }
  }
  writer_up_.store(false, std::memory_order_release);
  idle_cv_.notify_all();
}

inline redis_impl::link_step redis_impl::reconnect_writer(scripted_connection& c, std::chrono::milliseconds& backoff,
                                                          bool& ever_connected, std::string& err) {
  writer_up_.store(false, std::memory_order_release);
  {
    std::lock_guard g(mu_);
    if (stopping_) return link_step::stop;  // nothing can be flushed without Redis
  }
  if (!c.open(ep_, err)) {
    set_error(err);
    backoff = next_backoff(backoff);
    return sleep_or_stop(cv_, backoff) ? link_step::stop : link_step::retry;
  }
  // The backoff is not reset here but after a write or PING succeeds:
  // a server that accepts connections yet refuses every write must not
  // be retried at connect speed.
  if (ever_connected) reconnects_.fetch_add(1, std::memory_order_relaxed);
  ever_connected = true;
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
  auto r = c.eval(c.write_sha, write_script, {"1", key, status_name(w.status), body, ttl_s, channel_, msg}, err);
  if (!r) return false;
  if (r->type == REDIS_REPLY_ERROR) {
    // A server-side refusal (e.g. OOM, read-only replica) is worth retrying too.
    err = "write script: " + std::string(reply_text(r.get()));
    return false;
  }
  written_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace keypool::state::detail
