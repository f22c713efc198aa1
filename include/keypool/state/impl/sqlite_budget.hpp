#pragma once
/// Out-of-line bodies of detail::sqlite_impl (detail/sqlite_impl.hpp): the
/// shared daily budgets. A reservation is one short write transaction on the
/// caller's thread (a pool asks once per pool_options::daily_chunk metered
/// picks); the write lock serialises every process on the machine, so the
/// file never grants more than the limit.

#include <keypool/state/detail/sqlite_impl.hpp>

#include <algorithm>
#include <mutex>
#include <string>

namespace keypool::state::detail {

inline std::optional<std::uint32_t> sqlite_impl::reserve_daily(std::string_view provider_id, std::string_view fp,
                                                               const provider_day& day, std::uint32_t limit,
                                                               std::uint32_t want) {
  if (!open_) return std::nullopt;
  if (want == 0) return 0;
  std::lock_guard g(aux_mu_);
  std::string err;
  // Waits at most budget_timeout for another process's write lock; then
  // the pool counts locally (SQLITE_BUSY is no fault of the file).
  if (!aux_.exec("BEGIN IMMEDIATE", err)) {
    if ((aux_.errcode() & 0xff) != SQLITE_BUSY) set_error(describe("cannot reserve budget in", err));
    return std::nullopt;
  }
  long long granted = 0;
  bool ok = true;
  {
    statement_guard s{select_budget_};
    select_budget_.bind(1, provider_id);
    select_budget_.bind(2, fp);
    select_budget_.bind(3, static_cast<long long>(day.index));
    const int rc = select_budget_.step();
    if (rc == SQLITE_ROW) granted = select_budget_.integer(0);
    ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
  }
  const long long left = std::max<long long>(0, static_cast<long long>(limit) - granted);
  const auto give = static_cast<std::uint32_t>(std::min<long long>(left, want));
  if (ok && give > 0) {
    statement_guard a{add_budget_};
    add_budget_.bind(1, provider_id);
    add_budget_.bind(2, fp);
    add_budget_.bind(3, static_cast<long long>(day.index));
    add_budget_.bind(4, static_cast<long long>(give));
    ok = add_budget_.step() == SQLITE_DONE;
  }
  if (ok) {
    statement_guard p{prune_budget_};
    prune_budget_.bind(1, provider_id);
    prune_budget_.bind(2, fp);
    prune_budget_.bind(3, static_cast<long long>(day.index));
    ok = prune_budget_.step() == SQLITE_DONE;
  }
  if (ok && aux_.exec("COMMIT", err)) return give;
  if (err.empty()) err = aux_.errmsg();
  aux_.exec("ROLLBACK", err);
  set_error(describe("cannot reserve budget in", err));
  return std::nullopt;
}

inline std::optional<std::uint64_t> sqlite_impl::daily_used(std::string_view provider_id, std::string_view fp,
                                                            std::uint32_t day) {
  if (!open_) return std::nullopt;
  std::lock_guard g(aux_mu_);
  statement_guard s{select_budget_};
  select_budget_.bind(1, provider_id);
  select_budget_.bind(2, fp);
  select_budget_.bind(3, static_cast<long long>(day));
  const int rc = select_budget_.step();
  if (rc == SQLITE_ROW) return static_cast<std::uint64_t>(select_budget_.integer(0));
  if (rc == SQLITE_DONE) return 0;
  return std::nullopt;
}

}  // namespace keypool::state::detail
