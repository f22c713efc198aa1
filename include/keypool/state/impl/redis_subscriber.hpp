#pragma once
/// Out-of-line bodies of detail::redis_impl (detail/redis_impl.hpp): the
/// subscriber thread. It listens on the namespace's channel, hands other
/// instances' changes to the attached pools, reloads every stored lockout
/// after each (re)connect (changes made while it was away were never heard),
/// and PINGs an idle connection so a dead one is noticed.

#include <keypool/state/detail/redis_impl.hpp>

#include <hiredis/hiredis.h>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

namespace keypool::state::detail {

inline void redis_impl::subscriber_loop() {
  block_sigpipe();
  redis_connection sub;
  std::chrono::milliseconds backoff{};
  bool ever = false;
  std::string err;
  auto last_rx = std::chrono::steady_clock::now();
  bool ping_sent = false;
  for (;;) {
    {
      std::lock_guard g(mu_);
      if (stopping_) break;
    }
    if (!sub.ok()) {
      const auto step = reconnect_subscriber(sub, backoff, ever, err);
      if (step == link_step::stop) break;
      if (step == link_step::retry) continue;
      last_rx = std::chrono::steady_clock::now();
      ping_sent = false;
    }
    if (sync_if_wanted(err)) break;
    // Drain what hiredis already buffered before waiting on the socket.
    if (!drain(sub, err)) {
      set_error(error_slot::subscriber, err);
      sub.close();
      continue;
    }
    pollfd fds[2] = {{sub.fd(), POLLIN, 0}, {wake_[0], POLLIN, 0}};
    const int n = ::poll(fds, 2, static_cast<int>(std::max<long long>(opts_.ping_interval.count() / 4, 10)));
    if (n > 0 && (fds[1].revents & POLLIN)) {
      char buf[64];
      while (::read(wake_[0], buf, sizeof buf) > 0) {
      }
    }
    if (n > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      if (redisBufferRead(sub.get()) != REDIS_OK) {
        set_error(error_slot::subscriber, sub.get()->errstr[0] ? sub.get()->errstr : "subscriber connection lost");
        sub.close();
        continue;
      }
      last_rx = std::chrono::steady_clock::now();
      ping_sent = false;
      continue;
    }
    keep_alive(sub, last_rx, ping_sent);
  }
  subscribed_.store(false, std::memory_order_release);
}

inline redis_impl::link_step redis_impl::reconnect_subscriber(redis_connection& sub, std::chrono::milliseconds& backoff,
                                                              bool& ever, std::string& err) {
  subscribed_.store(false, std::memory_order_release);
  if (!connect_subscriber(sub, err)) {
    set_error(error_slot::subscriber, err);
    backoff = next_backoff(backoff);
    return sleep_or_stop(stop_cv_, backoff) ? link_step::stop : link_step::retry;
  }
  if (ever) reconnects_.fetch_add(1, std::memory_order_relaxed);
  ever = true;
  backoff = {};
  // Changes made while we were away: reload everything.
  want_sync_.fetch_add(1, std::memory_order_acq_rel);
  subscribed_.store(true, std::memory_order_release);
  return link_step::up;
}

inline bool redis_impl::sync_if_wanted(std::string& err) {
  const auto gen = want_sync_.load(std::memory_order_acquire);
  if (gen == done_sync_.load(std::memory_order_acquire)) return false;
  if (load_all(err)) {
    done_sync_.store(gen, std::memory_order_release);
    clear_error(error_slot::subscriber);
    return false;
  }
  set_error(error_slot::subscriber, err);
  return sleep_or_stop(stop_cv_, opts_.backoff_min);
}

inline void redis_impl::keep_alive(redis_connection& sub, std::chrono::steady_clock::time_point last_rx,
                                   bool& ping_sent) {
  const auto idle = std::chrono::steady_clock::now() - last_rx;
  if (ping_sent && idle > 2 * opts_.ping_interval + opts_.command_timeout) {
    set_error(error_slot::subscriber, "subscriber: no answer to PING");
    sub.close();
  } else if (!ping_sent && idle > opts_.ping_interval) {
    ping_sent = send_ping(sub);
    if (!ping_sent) sub.close();
  }
}

inline bool redis_impl::connect_subscriber(redis_connection& sub, std::string& err) {
  if (!sub.open(endpoint_for("subscriber"), err)) return false;
  auto r = sub.command({"SUBSCRIBE", channel_}, err);
  if (!r) return false;
  if (r->type != REDIS_REPLY_ARRAY) {
    err = "SUBSCRIBE: " + std::string(reply_text(r.get()));
    sub.close();
    return false;
  }
  return true;
}

inline bool redis_impl::send_ping(redis_connection& sub) {
  if (redisAppendCommand(sub.get(), "PING") != REDIS_OK) return false;
  int done = 0;
  while (!done)
    if (redisBufferWrite(sub.get(), &done) != REDIS_OK) return false;
  return true;
}

inline bool redis_impl::drain(redis_connection& sub, std::string& err) {
  for (;;) {
    void* raw = nullptr;
    if (redisGetReplyFromReader(sub.get(), &raw) != REDIS_OK) {
      err = sub.get()->errstr;
      return false;
    }
    if (!raw) return true;
    reply_ptr r(static_cast<redisReply*>(raw));
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && reply_text(r->element[0]) == "message")
      on_message(reply_text(r->element[2]));
  }
}

inline void redis_impl::on_message(std::string_view msg) {
  const auto bar = msg.find('|');
  if (bar == std::string_view::npos) {
    malformed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (msg.substr(0, bar) == instance_id_) {
    own_ignored_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  auto c = wire_change::parse(msg.substr(bar + 1), to_wall_ms(std::chrono::system_clock::now()));
  if (!c) {
    malformed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  received_.fetch_add(1, std::memory_order_relaxed);
  dispatch(*c);
}

inline void redis_impl::dispatch(const wire_change& c) {
  if (c.status == key_status::probing) return;
  std::optional<std::chrono::milliseconds> left;
  if (c.ttl_ms >= 0) left = std::chrono::milliseconds(c.ttl_ms);
  {
    const long long until = c.ttl_ms < 0 ? -1 : to_wall_ms(std::chrono::system_clock::now()) + c.ttl_ms;
    std::lock_guard g(mu_);
    remember_live({c.provider, c.fingerprint, c.status, c.reason, until}, true);
  }
  std::lock_guard g(registry_mu_);
  for (auto& h : handlers_) {
    if (h.provider != c.provider) continue;
    try {
      if (h.fn(c.fingerprint, c.status, c.reason, left)) applied_.fetch_add(1, std::memory_order_relaxed);
    } catch (...) {
      // A handler that throws must not take the subscriber down.
    }
  }
}

inline bool redis_impl::load_all(std::string& err) {
  {
    std::lock_guard g(registry_mu_);
    if (handlers_.empty()) return true;  // nobody to tell; attach() asks again
  }
  redis_connection q;
  if (!q.open(endpoint_for("loader"), err)) return false;
  const std::string page_size = std::to_string(load_page_size);
  std::string after, score;  // the cursor: the last page's last member and its score
  const auto stopping = [this] {
    std::lock_guard g(mu_);
    return stopping_;
  };
  do {
    auto r = q.command({"EVAL", load_page_script, "1", index_key_, page_size, after, score}, err);
    if (!r || follow_moved(r.get(), q, err)) return false;  // reloaded from the right node after a pause
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
      err = "loading state: " + std::string(reply_text(r.get()));
      return false;
    }
    after = reply_text(r->element[0]);
    score = reply_text(r->element[1]);
    load_page(*r);
  } while (!after.empty() && !stopping());
  return true;
}

/// Applies one page of load_page_script's answer: (body, pttl) pairs after
/// the cursor.
inline void redis_impl::load_page(const redisReply& r) {
  const auto now_ms = to_wall_ms(std::chrono::system_clock::now());
  for (std::size_t i = 2; i + 1 < r.elements; i += 2) {
    const redisReply* val = r.element[i];
    const redisReply* pttl = r.element[i + 1];
    if (val->type != REDIS_REPLY_STRING || pttl->type != REDIS_REPLY_INTEGER) continue;
    auto c = wire_change::parse(reply_text(val), now_ms);
    if (!c) {
      malformed_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    c->ttl_ms = pttl->integer < 0 ? -1 : pttl->integer;
    loaded_.fetch_add(1, std::memory_order_relaxed);
    dispatch(*c);
  }
}

}  // namespace keypool::state::detail
