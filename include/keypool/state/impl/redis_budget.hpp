#pragma once
/// Out-of-line bodies of detail::redis_impl (detail/redis_impl.hpp): the
/// shared daily budgets. Callers take units from a local stock per day
/// counter; the budget thread fills it over its own connection (reconnecting
/// with backoff). A caller waits for Redis only when the stock is empty, and
/// then at most budget_timeout; batched callers (want > 1) get the next chunk
/// fetched ahead, so they rarely wait at all.

#include <keypool/state/detail/redis_impl.hpp>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::state::detail {

inline bool redis_impl::budget_connect(std::string& err) {
  if (budget_conn_.conn.ok()) return true;
  const auto now = std::chrono::steady_clock::now();
  if (now < budget_retry_at_) {
    if (err.empty()) err = "budget connection: waiting for the reconnect backoff";
    return false;
  }
  if (!budget_conn_.open(endpoint_for("budget"), err) || !check_epoch(budget_conn_.conn, err)) {
    budget_conn_.conn.close();
    budget_backoff_ = next_backoff(budget_backoff_);
    budget_retry_at_ = now + budget_backoff_;
    set_error(error_slot::budget, err);
    return false;
  }
  budget_backoff_ = {};
  return true;
}

inline std::optional<std::uint32_t> redis_impl::run_budget_script(const std::string& key, std::uint32_t limit,
                                                                  std::uint32_t want, long long end_s,
                                                                  std::string& err) {
  const std::string lim = std::to_string(limit), w = std::to_string(want), at = std::to_string(end_s);
  reply_ptr r;
  // Twice at most: a MOVED names the node to ask instead, at once; an ASK
  // (a migration) is run there once.
  const std::vector<std::string_view> args{"1", key, lim, w, at};
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!budget_connect(err)) return std::nullopt;
    r = budget_conn_.eval(budget_conn_.budget_sha, budget_script, args, err);
    if (r) follow_ask(r, budget_conn_.budget_sha, budget_script, args, err);
    if (!r || !follow_moved(r.get(), budget_conn_.conn, err)) break;
  }
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_INTEGER) {
    if (!budget_conn_.conn.ok()) budget_retry_at_ = std::chrono::steady_clock::now() + opts_.backoff_min;
    if (r && budget_conn_.conn.ok()) err = "budget refused: " + std::string(reply_text(r.get()));
    set_error(error_slot::budget, err);
    return std::nullopt;
  }
  clear_error(error_slot::budget);
  const auto got = static_cast<std::uint32_t>(r->element[0]->integer);
  if (got > 0) remember_grant(key, end_s, got);
  return got;
}

inline std::uint32_t redis_impl::reserve_daily(std::string_view provider_id, std::string_view fp,
                                               const provider_day& day, std::uint32_t limit, std::uint32_t want,
                                               bool& available) {
  available = false;
  if (want == 0) {
    available = true;
    return 0;
  }
  const std::string key = daily_key(provider_id, fp, day.index);
  const auto deadline = std::chrono::steady_clock::now() + opts_.budget_timeout;
  std::unique_lock lk(stock_mu_);
  auto it = stock_.find(key);
  if (it == stock_.end()) {
    const long long now_s = to_wall_ms(std::chrono::system_clock::now()) / 1000;
    std::erase_if(stock_, [&](const auto& e) {  // days over, nobody on them
      return e.second.end_s <= now_s && !e.second.fetching && e.second.waiters == 0;
    });
    it = stock_.emplace(key, budget_stock{}).first;
    it->second.provider = std::string(provider_id);
    it->second.fp = std::string(fp);
    it->second.day = day;
    it->second.end_s = std::chrono::floor<std::chrono::seconds>(day.end().time_since_epoch()).count();
  }
  budget_stock& s = it->second;
  if (s.limit != limit) s.spent = false;  // a new limit: Redis may grant again
  s.limit = limit;
  s.chunk = want;
  bool waited = false;
  for (;;) {
    if (s.units > 0) {
      const auto got = std::min(want, s.units);
      s.units -= got;
      // Batched callers: fetch the next chunk before this one runs out.
      if (want > 1 && s.units < want && !s.spent && !s.fetching && request_fetch(key, s))
        budget_prefetches_.fetch_add(1, std::memory_order_relaxed);
      available = true;
      return got;
    }
    if (s.spent) {
      available = true;
      return 0;
    }
    if (waited) return 0;  // the fetch failed or took too long: unavailable
    if (!s.fetching && !request_fetch(key, s)) return 0;
    budget_waits_.fetch_add(1, std::memory_order_relaxed);
    const auto answers = s.answers, failures = s.failures;
    ++s.waiters;
    s.demand += want;
    const bool answered = stock_cv_.wait_until(
        lk, deadline, [&] { return budget_stop_ || s.answers != answers || s.failures != failures; });
    --s.waiters;
    s.demand -= want;
    // Answered with units: take them; failed or timed out: unavailable,
    // unless another caller's fetch left units meanwhile.
    waited = !answered || s.failures != failures || budget_stop_;
  }
}

inline bool redis_impl::request_fetch(const std::string& key, budget_stock& s) {
  if (budget_stop_) return false;
  s.fetching = true;
  fetch_queue_.push_back(key);
  fetch_cv_.notify_one();
  return true;
}

inline void redis_impl::budget_loop() {
  block_sigpipe();
  for (;;) {
    std::string key;
    {
      std::unique_lock lk(stock_mu_);
      fetch_cv_.wait(lk, [&] { return budget_stop_ || !fetch_queue_.empty(); });
      if (budget_stop_) break;
      key = std::move(fetch_queue_.front());
      fetch_queue_.pop_front();
    }
    fetch_budget(key);
  }
  std::lock_guard g(stock_mu_);
  for (auto& [k, s] : stock_) s.fetching = false;
  stock_cv_.notify_all();
}

inline void redis_impl::fetch_budget(const std::string& key) {
  std::uint32_t limit = 0, want = 0;
  long long end_s = 0;
  {
    std::lock_guard g(stock_mu_);
    auto& s = stock_.at(key);  // not pruned while fetching
    limit = s.limit;
    // What the waiting callers need; batched callers a whole chunk ahead.
    // Single units are never fetched ahead, so take_daily() stays exact.
    want = std::max({s.demand, s.chunk > 1 ? s.chunk : 0u, 1u});
    end_s = s.end_s;
  }
  std::optional<std::uint32_t> got;
  {
    std::lock_guard g(budget_mu_);
    std::string err;
    got = run_budget_script(key, limit, want, end_s, err);
  }
  std::lock_guard g(stock_mu_);
  auto& s = stock_.at(key);
  s.fetching = false;
  if (got) {
    s.units += *got;
    if (*got < want) s.spent = true;
    ++s.answers;
  } else {
    ++s.failures;
  }
  stock_cv_.notify_all();
}

inline std::optional<std::uint64_t> redis_impl::daily_used(std::string_view provider_id, std::string_view fp,
                                                           std::uint32_t day) {
  const std::string key = daily_key(provider_id, fp, day);
  std::lock_guard g(budget_mu_);
  std::string err;
  reply_ptr r;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!budget_connect(err)) return std::nullopt;
    r = budget_conn_.conn.command({"GET", key}, err);
    if (!r || !follow_moved(r.get(), budget_conn_.conn, err)) break;
  }
  if (!r) return std::nullopt;
  if (r->type == REDIS_REPLY_NIL) return 0;
  if (r->type != REDIS_REPLY_STRING) return std::nullopt;
  std::uint64_t v = 0;
  const auto t = reply_text(r.get());
  std::from_chars(t.data(), t.data() + t.size(), v);
  return v;
}

}  // namespace keypool::state::detail
