#pragma once
/// Out-of-line bodies of detail::sqlite_impl (detail/sqlite_impl.hpp): the
/// models a provider called unavailable. Both calls are rare (a program
/// loads the entries at start and adds what it learned at the end): the
/// statements are prepared per call, on the connection attach() and the
/// budgets use, as the spend's are.

#include <keypool/state/detail/sqlite_impl.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace keypool::state::detail {

inline bool sqlite_impl::add_unavailable_models(const std::vector<stored_unavailable_model>& rows) {
  if (!open_) return false;
  if (rows.empty()) return true;
  const long long now = now_ms();
  std::lock_guard g(aux_mu_);
  std::string err;
  if (!aux_.exec("BEGIN IMMEDIATE", err)) {
    set_error(describe("cannot add unavailable models to", err));
    return false;
  }
  bool ok = true;
  {
    sqlite_statement prune(aux_.get(), sql_prune_unavailable_models, err);
    sqlite_statement add(aux_.get(), sql_add_unavailable_model, err);
    ok = prune && add;
    if (ok) {
      statement_guard guard{prune};
      prune.bind(1, now);
      ok = prune.step() == SQLITE_DONE;
    }
    for (const auto& r : rows) {
      if (!ok) break;
      const long long until = sqlite_wall_ms(r.until);
      if (until >= 0 && until <= now) continue;  // already over
      statement_guard guard{add};
      add.bind(1, r.provider);
      add.bind(2, r.account);
      add.bind(3, r.model);
      add.bind(4, until);
      ok = add.step() == SQLITE_DONE;
    }
  }
  if (ok && aux_.exec("COMMIT", err)) return true;
  if (err.empty()) err = aux_.errmsg();
  std::string ignored;
  aux_.exec("ROLLBACK", ignored);
  set_error(describe("cannot add unavailable models to", err));
  return false;
}

inline std::optional<std::vector<stored_unavailable_model>> sqlite_impl::load_unavailable_models() {
  if (!open_) return std::nullopt;
  const long long now = now_ms();
  std::lock_guard g(aux_mu_);
  std::string err;
  sqlite_statement q(aux_.get(), sql_load_unavailable_models, err);
  if (!q) return std::nullopt;
  q.bind(1, now);
  std::vector<stored_unavailable_model> out;
  int rc = 0;
  while ((rc = q.step()) == SQLITE_ROW)
    out.push_back(
        {std::string(q.text(0)), std::string(q.text(1)), std::string(q.text(2)), sqlite_wall_time(q.integer(3))});
  if (rc != SQLITE_DONE) {
    set_error(describe("cannot read", aux_.errmsg()));
    return std::nullopt;
  }
  return out;
}

}  // namespace keypool::state::detail
