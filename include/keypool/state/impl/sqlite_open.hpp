#pragma once
/// Out-of-line bodies of detail::sqlite_impl (detail/sqlite_impl.hpp):
/// opening the state file. Each step checks one way a file can be unusable
/// (a directory, read-only, not a database, corrupt, another program's
/// database, a newer schema) so the error names the file and the cause.

#include <keypool/state/detail/sqlite_impl.hpp>

#include <filesystem>
#include <string>
#include <system_error>

namespace keypool::state::detail {

inline bool sqlite_impl::open_file(std::string& err) {
  const bool ok = prepare_path(err) && db_.open(opts_.path, opts_.busy_timeout, err) && configure(db_, err) &&
                  check_file(err) && create_schema(err) && aux_.open(opts_.path, opts_.budget_timeout, err) &&
                  configure(aux_, err) && prepare_statements(err);
  if (!ok) {
    // Statements first: a connection with live statements does not close.
    select_state_ = {};
    upsert_state_ = {};
    changes_since_ = {};
    data_version_ = {};
    prune_state_ = {};
    live_state_ = {};
    select_budget_ = {};
    add_budget_ = {};
    prune_budget_ = {};
    db_.close();
    aux_.close();
  }
  return ok;
}

inline bool sqlite_impl::prepare_path(std::string& err) {
  namespace fs = std::filesystem;
  if (opts_.path.empty()) {
    err = "no path given";
    return false;
  }
  std::error_code ec;
  const fs::path p(opts_.path);
  if (fs::is_directory(p, ec)) {
    err = "it is a directory";
    return false;
  }
  if (p.has_parent_path() && !fs::exists(p.parent_path(), ec)) {
    fs::create_directories(p.parent_path(), ec);
    if (ec) {
      err = "cannot create its directory: " + ec.message();
      return false;
    }
    fs::permissions(p.parent_path(), fs::perms::owner_all, ec);  // state is nobody else's business
  }
  return true;
}

inline bool sqlite_impl::configure(sqlite_connection& c, std::string& err) {
  if (c.read_only()) {
    err = "it is read-only";
    return false;
  }
  // WAL: readers never block the writer and the reverse; the mode is stored
  // in the file, so every process opening it uses it.
  sqlite_statement wal(c.get(), "PRAGMA journal_mode=WAL", err);
  if (!wal) return false;
  if (wal.step() != SQLITE_ROW) {
    err = c.errmsg();
    return false;
  }
  if (wal.text(0) != "wal") {
    err = "cannot use write-ahead logging (journal mode " + std::string(wal.text(0)) + ")";
    return false;
  }
  return c.exec(opts_.sync_every_commit ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", err);
}

inline bool sqlite_impl::check_file(std::string& err) {
  {
    sqlite_statement check(db_.get(), "PRAGMA quick_check", err);
    if (!check) return false;
    if (check.step() != SQLITE_ROW) {
      err = db_.errmsg();
      return false;
    }
    if (check.text(0) != "ok") {
      err = "it is corrupt (" + std::string(check.text(0)) + ")";
      return false;
    }
  }
  long long app = 0, version = 0, foreign = 0;
  if (!db_.query_int("PRAGMA application_id", app, err) || !db_.query_int("PRAGMA user_version", version, err) ||
      !db_.query_int("SELECT count(*) FROM sqlite_schema WHERE name NOT IN "
                     "('key_state', 'key_state_by_seq', 'daily_budget') AND name NOT LIKE 'sqlite_%'",
                     foreign, err))
    return false;
  if ((app != 0 && app != sqlite_application_id) || (app == 0 && foreign != 0)) {
    err = "it is another program's SQLite database, not a keypool state file";
    return false;
  }
  if (version > sqlite_schema_version) {
    err = "it was written by a newer keypool (schema " + std::to_string(version) + ", this one reads " +
          std::to_string(sqlite_schema_version) + ")";
    return false;
  }
  return true;
}

inline bool sqlite_impl::create_schema(std::string& err) {
  // One write transaction: proves the file (and its directory, for the
  // -wal file) can be written, and leaves the schema complete or absent.
  if (!db_.exec("BEGIN IMMEDIATE", err)) return false;
  const std::string pragmas = "PRAGMA application_id=" + std::to_string(sqlite_application_id) +
                              "; PRAGMA user_version=" + std::to_string(sqlite_schema_version) + ";";
  if (!db_.exec(sqlite_schema_sql, err) || !db_.exec(pragmas.c_str(), err) || !db_.exec("COMMIT", err)) {
    std::string ignored;
    db_.exec("ROLLBACK", ignored);
    return false;
  }
  return true;
}

inline bool sqlite_impl::prepare_statements(std::string& err) {
  auto prep = [&](sqlite_connection& c, sqlite_statement& s, std::string_view sql) {
    s = sqlite_statement(c.get(), sql, err);
    return static_cast<bool>(s);
  };
  if (!(prep(db_, select_state_, sql_select_state) && prep(db_, upsert_state_, sql_upsert_state) &&
        prep(db_, changes_since_, sql_changes_since) && prep(db_, data_version_, "PRAGMA data_version") &&
        prep(db_, prune_state_, sql_prune_state) && prep(aux_, live_state_, sql_live_state) &&
        prep(aux_, select_budget_, sql_select_budget) && prep(aux_, add_budget_, sql_add_budget) &&
        prep(aux_, prune_budget_, sql_prune_budget)))
    return false;
  // Changes already in the file are loaded by attach(); the poll starts
  // after them.
  if (!db_.query_int("SELECT COALESCE(MAX(seq), 0) FROM key_state", last_seq_, err)) return false;
  statement_guard g{data_version_};
  if (data_version_.step() != SQLITE_ROW) {
    err = db_.errmsg();
    return false;
  }
  last_data_version_ = data_version_.integer(0);
  return true;
}

}  // namespace keypool::state::detail
