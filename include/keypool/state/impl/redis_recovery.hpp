#pragma once
/// Out-of-line bodies of detail::redis_impl (detail/redis_impl.hpp): noticing
/// that the server lost its data (restarted without persistence, flushed, a
/// failover to an empty replica) by the namespace's marker key, and putting
/// back what this instance knows: every live lockout and disable, and the
/// budget units it was granted that day.

#include <keypool/state/detail/redis_impl.hpp>

#include <hiredis/hiredis.h>

#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace keypool::state::detail {

inline bool redis_impl::check_epoch(redis_connection& conn, std::string& err) {
  const std::string candidate = make_instance_id();
  auto r = conn.command({"EVAL", epoch_script, "1", prefix_ + "epoch", candidate}, err);
  if (!r || follow_moved(r.get(), conn, err)) return false;
  if (r->type != REDIS_REPLY_STRING) return true;  // a replica without the marker: cannot tell
  const std::string seen(reply_text(r.get()));
  std::lock_guard g(epoch_mu_);
  if (seen == epoch_) return true;
  if (!epoch_.empty()) {
    // Counters first: a budget call waiting on epoch_mu_ must not be granted
    // from an empty counter.
    if (!restore_budgets(conn, err)) return false;
    data_losses_.fetch_add(1, std::memory_order_relaxed);
    republish_live();
  }
  epoch_ = seen;
  return true;
}

inline void redis_impl::remember_live(const pending_change& w, bool remote) {
  const std::string k = w.provider + '\n' + w.fingerprint;
  if (w.status == key_status::available) {
    live_.erase(k);
    return;
  }
  if (remote) {
    // A remote change never shortens what is known, as in the pool.
    if (auto it = live_.find(k); it != live_.end()) {
      const auto& cur = it->second;
      if (cur.status == key_status::disabled && w.status == key_status::locked) return;
      if (cur.status == w.status && (cur.until_ms < 0 || (w.until_ms >= 0 && cur.until_ms >= w.until_ms))) return;
    }
  }
  live_[k] = w;
}

inline void redis_impl::remember_grant(const std::string& key, long long end_s, std::uint32_t units) {
  std::lock_guard g(epoch_mu_);
  auto& e = granted_[key];
  e.end_s = end_s;
  e.units += units;
}

inline bool redis_impl::restore_budgets(redis_connection& conn, std::string& err) {
  const long long now_s = to_wall_ms(std::chrono::system_clock::now()) / 1000;
  std::erase_if(granted_, [&](const auto& e) { return e.second.end_s <= now_s; });  // days over
  if (granted_.empty()) return true;
  std::vector<std::string> args{"EVAL", std::string(restore_script), std::to_string(granted_.size())};
  for (const auto& [key, e] : granted_) args.push_back(key);
  for (const auto& [key, e] : granted_) {
    args.push_back(std::to_string(e.units));
    args.push_back(std::to_string(e.end_s));
  }
  auto r = conn.command(args, err);
  if (!r) return false;
  if (r->type == REDIS_REPLY_ERROR) {
    err = "restoring budgets refused: " + std::string(reply_text(r.get()));
    return true;  // e.g. a read-only replica: the writes that follow report it
  }
  return true;
}

inline void redis_impl::republish_live() {
  const long long now_ms = to_wall_ms(std::chrono::system_clock::now());
  {
    std::lock_guard g(mu_);
    std::erase_if(live_, [&](const auto& e) { return e.second.until_ms >= 0 && e.second.until_ms <= now_ms; });
    // What is still queued (changes made during the outage) goes anyway.
    std::set<std::string> queued;
    for (const auto& w : queue_) queued.insert(w.provider + '\n' + w.fingerprint);
    for (const auto& [k, w] : live_) {
      if (queue_.size() >= opts_.queue_capacity) break;
      if (!queued.contains(k)) queue_.push_back(w);
    }
  }
  cv_.notify_one();
}

}  // namespace keypool::state::detail
