#pragma once
/// Out-of-line bodies of detail::redis_impl (detail/redis_impl.hpp): the
/// shared daily budgets. They run on the caller's thread over their own
/// connection, which reconnects with backoff and answers "unavailable" at
/// once while the backoff runs.

#include <keypool/state/detail/redis_impl.hpp>

#include <charconv>
#include <mutex>

namespace keypool::state::detail {

inline bool redis_impl::budget_connect(std::string& err) {
  if (budget_conn_.conn.ok()) return true;
  const auto now = std::chrono::steady_clock::now();
  if (now < budget_retry_at_) return false;
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

inline std::uint32_t redis_impl::reserve_daily(std::string_view provider_id, std::string_view fp,
                                               const provider_day& day, std::uint32_t limit, std::uint32_t want,
                                               bool& available) {
  available = false;
  if (want == 0) {
    available = true;
    return 0;
  }
  const std::string key = daily_key(provider_id, fp, day.index);
  const long long end_s = std::chrono::floor<std::chrono::seconds>(day.end().time_since_epoch()).count();
  const std::string lim = std::to_string(limit), w = std::to_string(want), at = std::to_string(end_s);
  std::lock_guard g(budget_mu_);
  std::string err;
  reply_ptr r;
  // Twice at most: a MOVED names the node to ask instead, at once.
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!budget_connect(err)) return 0;
    r = budget_conn_.eval(budget_conn_.budget_sha, budget_script, {"1", key, lim, w, at}, err);
    if (!r || !follow_moved(r.get(), budget_conn_.conn, err)) break;
  }
  if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_INTEGER) {
    if (!budget_conn_.conn.ok()) budget_retry_at_ = std::chrono::steady_clock::now() + opts_.backoff_min;
    if (r && budget_conn_.conn.ok()) err = "budget refused: " + std::string(reply_text(r.get()));
    set_error(error_slot::budget, err);
    return 0;
  }
  clear_error(error_slot::budget);
  available = true;
  const auto got = static_cast<std::uint32_t>(r->element[0]->integer);
  if (got > 0) remember_grant(key, end_s, got);
  return got;
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
