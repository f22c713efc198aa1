#pragma once
/// A thin RAII wrapper over one SQLite connection and its prepared
/// statements, used by exactly one thread at a time (the writer thread, or a
/// caller of the budget API / attach() under the backend's mutex). Errors
/// come back as text that names the file and SQLite's own message; the
/// secrets of the keys never reach SQLite, so they cannot appear in it.

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace keypool::state::detail {

/// One prepared statement; reset after each use by its user.
class sqlite_statement {
 public:
  sqlite_statement() = default;
  sqlite_statement(sqlite3* db, std::string_view sql, std::string& err) {
    if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) !=
        SQLITE_OK) {
      err = sqlite3_errmsg(db);
      stmt_ = nullptr;
    }
  }
  sqlite_statement(sqlite_statement&& o) noexcept : stmt_(std::exchange(o.stmt_, nullptr)) {}
  sqlite_statement& operator=(sqlite_statement&& o) noexcept {
    if (this != &o) {
      sqlite3_finalize(stmt_);
      stmt_ = std::exchange(o.stmt_, nullptr);
    }
    return *this;
  }
  ~sqlite_statement() { sqlite3_finalize(stmt_); }

  explicit operator bool() const noexcept { return stmt_ != nullptr; }
  sqlite3_stmt* get() const noexcept { return stmt_; }

  /// Binds text (copied: the views callers pass do not outlive the step).
  void bind(int i, std::string_view s) noexcept {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, long long v) noexcept { sqlite3_bind_int64(stmt_, i, v); }
  /// SQLITE_ROW, SQLITE_DONE or an error code.
  int step() noexcept { return sqlite3_step(stmt_); }
  void reset() noexcept {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  long long integer(int col) const noexcept { return sqlite3_column_int64(stmt_, col); }
  std::string_view text(int col) const noexcept {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string_view{};
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

/// Resets a statement when the scope ends, however it ends.
struct statement_guard {
  sqlite_statement& s;
  ~statement_guard() { s.reset(); }
};

/// One connection to the state file.
class sqlite_connection {
 public:
  sqlite_connection() = default;
  sqlite_connection(const sqlite_connection&) = delete;
  sqlite_connection& operator=(const sqlite_connection&) = delete;
  ~sqlite_connection() { close(); }

  /// Opens `path` read-write, creating it when missing, with a busy timeout
  /// (how long a statement waits for another process's write lock). The
  /// connection is used by one thread at a time, so SQLite's own mutexes are
  /// off (SQLITE_OPEN_NOMUTEX).
  bool open(const std::string& path, std::chrono::milliseconds busy_timeout, std::string& err) {
    close();
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
      err = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      close();
      return false;
    }
    sqlite3_extended_result_codes(db_, 1);
    sqlite3_busy_timeout(db_, static_cast<int>(busy_timeout.count()));
    return true;
  }

  void close() noexcept {
    if (db_) sqlite3_close_v2(db_);
    db_ = nullptr;
  }

  bool ok() const noexcept { return db_ != nullptr; }
  sqlite3* get() const noexcept { return db_; }
  /// True when SQLite could open the file for reading only (its mode).
  bool read_only() const noexcept { return db_ && sqlite3_db_readonly(db_, "main") == 1; }

  /// Runs statements that return no rows we need; false with SQLite's
  /// message in `err`.
  bool exec(const char* sql, std::string& err) {
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) == SQLITE_OK) return true;
    err = msg ? msg : sqlite3_errmsg(db_);
    sqlite3_free(msg);
    return false;
  }

  /// The first column of the first row of `sql` as an integer; empty on error.
  bool query_int(const char* sql, long long& out, std::string& err) {
    sqlite_statement s(db_, sql, err);
    if (!s) return false;
    const int rc = s.step();
    if (rc == SQLITE_ROW) {
      out = s.integer(0);
      return true;
    }
    if (rc == SQLITE_DONE) {
      out = 0;
      return true;
    }
    err = sqlite3_errmsg(db_);
    return false;
  }

  std::string errmsg() const { return db_ ? sqlite3_errmsg(db_) : "not open"; }
  int errcode() const noexcept { return db_ ? sqlite3_extended_errcode(db_) : SQLITE_MISUSE; }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace keypool::state::detail
