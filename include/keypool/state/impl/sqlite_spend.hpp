#pragma once
/// Out-of-line bodies of detail::sqlite_impl (detail/sqlite_impl.hpp): the
/// stored spend. Both calls are rare (a program loads the totals at start
/// and adds what it spent at the end, or every few seconds): the statements
/// are prepared per call, on the connection attach() and the budgets use.

#include <keypool/state/detail/sqlite_impl.hpp>

#include <mutex>
#include <string>
#include <vector>

namespace keypool::state::detail {

inline bool sqlite_impl::add_spend(const std::vector<stored_spend>& rows) {
  if (!open_) return false;
  if (rows.empty()) return true;
  std::lock_guard g(aux_mu_);
  std::string err;
  if (!aux_.exec("BEGIN IMMEDIATE", err)) {
    set_error(describe("cannot add spend to", err));
    return false;
  }
  bool ok = true;
  {
    sqlite_statement add(aux_.get(), sql_add_spend, err);
    ok = static_cast<bool>(add);
    for (const auto& r : rows) {
      if (!ok) break;
      statement_guard guard{add};
      add.bind(1, r.provider);
      add.bind(2, r.fingerprint);
      add.bind(3, r.model);
      add.bind(4, static_cast<long long>(r.requests));
      add.bind(5, static_cast<long long>(r.input_tokens));
      add.bind(6, static_cast<long long>(r.output_tokens));
      add.bind(7, static_cast<long long>(r.cost_nusd));
      add.bind(8, r.priced ? 1LL : 0LL);
      ok = add.step() == SQLITE_DONE;
    }
  }
  if (ok && aux_.exec("COMMIT", err)) return true;
  if (err.empty()) err = aux_.errmsg();
  std::string ignored;
  aux_.exec("ROLLBACK", ignored);
  set_error(describe("cannot add spend to", err));
  return false;
}

inline std::optional<std::vector<stored_spend>> sqlite_impl::load_spend() {
  if (!open_) return std::nullopt;
  std::lock_guard g(aux_mu_);
  std::string err;
  sqlite_statement q(aux_.get(), sql_load_spend, err);
  if (!q) return std::nullopt;
  std::vector<stored_spend> out;
  int rc = 0;
  while ((rc = q.step()) == SQLITE_ROW) {
    out.push_back({std::string(q.text(0)), std::string(q.text(1)), std::string(q.text(2)),
                   static_cast<std::uint64_t>(q.integer(3)), static_cast<std::uint64_t>(q.integer(4)),
                   static_cast<std::uint64_t>(q.integer(5)), static_cast<std::uint64_t>(q.integer(6)),
                   q.integer(7) != 0});
  }
  if (rc != SQLITE_DONE) {
    set_error(describe("cannot read", aux_.errmsg()));
    return std::nullopt;
  }
  return out;
}

}  // namespace keypool::state::detail
