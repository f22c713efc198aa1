#pragma once
/// What the SQLite state backend keeps in its file and how: the tables, the
/// statements, the names of statuses and reasons, and the rule that decides
/// whether a change replaces what the file holds (never shorten a lockout).
/// Processes of different versions may share one file: the schema version is
/// PRAGMA user_version, and a file of a newer version is refused.

#include <keypool/core/detail/key_state.hpp>
#include <keypool/core/outcome.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace keypool::state::detail {

/// PRAGMA application_id of a keypool state file ("KPST"), so that another
/// program's SQLite database given by mistake is refused, not altered.
inline constexpr long long sqlite_application_id = 0x4b505354;
inline constexpr long long sqlite_schema_version = 1;

/// Created at open, in one transaction. Times are wall milliseconds since
/// the epoch (one machine, one clock); -1 is "never". `seq` orders changes
/// across processes: every write takes max(seq) + 1 under the write lock, so
/// a reader that remembers the highest seq it saw misses nothing later.
inline constexpr const char* sqlite_schema_sql = R"sql(
CREATE TABLE IF NOT EXISTS key_state(
  provider    TEXT    NOT NULL,
  fingerprint TEXT    NOT NULL,
  status      TEXT    NOT NULL,
  reason      TEXT    NOT NULL,
  until_ms    INTEGER NOT NULL,
  updated_ms  INTEGER NOT NULL,
  writer      TEXT    NOT NULL,
  seq         INTEGER NOT NULL,
  PRIMARY KEY(provider, fingerprint)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS key_state_by_seq ON key_state(seq);
CREATE TABLE IF NOT EXISTS daily_budget(
  provider    TEXT    NOT NULL,
  fingerprint TEXT    NOT NULL,
  day         INTEGER NOT NULL,
  granted     INTEGER NOT NULL,
  PRIMARY KEY(provider, fingerprint, day)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS spend(
  provider      TEXT    NOT NULL,
  fingerprint   TEXT    NOT NULL,
  model         TEXT    NOT NULL,
  requests      INTEGER NOT NULL,
  input_tokens  INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cost_nusd     INTEGER NOT NULL,
  priced        INTEGER NOT NULL,
  PRIMARY KEY(provider, fingerprint, model)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS unavailable_model(
  provider    TEXT    NOT NULL,
  account     TEXT    NOT NULL,
  model       TEXT    NOT NULL,
  until_ms    INTEGER NOT NULL,
  PRIMARY KEY(provider, account, model)) WITHOUT ROWID;
)sql";

inline constexpr std::string_view sql_select_state =
    "SELECT status, reason, until_ms FROM key_state WHERE provider = ?1 AND fingerprint = ?2";
inline constexpr std::string_view sql_upsert_state =
    "INSERT INTO key_state(provider, fingerprint, status, reason, until_ms, updated_ms, writer, seq) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, (SELECT COALESCE(MAX(seq), 0) + 1 FROM key_state)) "
    "ON CONFLICT(provider, fingerprint) DO UPDATE SET status = excluded.status, reason = excluded.reason, "
    "until_ms = excluded.until_ms, updated_ms = excluded.updated_ms, writer = excluded.writer, seq = excluded.seq";
/// Changes after `seq`, oldest first.
inline constexpr std::string_view sql_changes_since =
    "SELECT provider, fingerprint, status, reason, until_ms, seq, writer FROM key_state WHERE seq > ?1 ORDER BY seq";
/// One provider's lockouts and disables still running at ?2 (or never ending).
inline constexpr std::string_view sql_live_state =
    "SELECT fingerprint, status, reason, until_ms FROM key_state "
    "WHERE provider = ?1 AND status <> 'available' AND (until_ms < 0 OR until_ms > ?2)";
inline constexpr std::string_view sql_select_budget =
    "SELECT granted FROM daily_budget WHERE provider = ?1 AND fingerprint = ?2 AND day = ?3";
inline constexpr std::string_view sql_add_budget =
    "INSERT INTO daily_budget(provider, fingerprint, day, granted) VALUES(?1, ?2, ?3, ?4) "
    "ON CONFLICT(provider, fingerprint, day) DO UPDATE SET granted = granted + excluded.granted";
/// Spend is added, never replaced: several processes write their own
/// requests' share.
inline constexpr std::string_view sql_add_spend =
    "INSERT INTO spend(provider, fingerprint, model, requests, input_tokens, output_tokens, cost_nusd, priced) "
    "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(provider, fingerprint, model) DO UPDATE SET "
    "requests = requests + excluded.requests, input_tokens = input_tokens + excluded.input_tokens, "
    "output_tokens = output_tokens + excluded.output_tokens, cost_nusd = cost_nusd + excluded.cost_nusd, "
    "priced = priced AND excluded.priced";
inline constexpr std::string_view sql_load_spend =
    "SELECT provider, fingerprint, model, requests, input_tokens, output_tokens, cost_nusd, priced FROM spend "
    "ORDER BY provider, fingerprint, model";
/// A model learned unavailable again keeps the later end (-1: never ends).
inline constexpr std::string_view sql_add_unavailable_model =
    "INSERT INTO unavailable_model(provider, account, model, until_ms) VALUES(?1, ?2, ?3, ?4) "
    "ON CONFLICT(provider, account, model) DO UPDATE SET until_ms = CASE WHEN until_ms < 0 OR excluded.until_ms < 0 "
    "THEN -1 ELSE MAX(until_ms, excluded.until_ms) END";
/// Entries still running at ?1.
inline constexpr std::string_view sql_load_unavailable_models =
    "SELECT provider, account, model, until_ms FROM unavailable_model WHERE until_ms < 0 OR until_ms > ?1 "
    "ORDER BY provider, account, model";
/// Entries over at ?1 go when new ones are added.
inline constexpr std::string_view sql_prune_unavailable_models =
    "DELETE FROM unavailable_model WHERE until_ms >= 0 AND until_ms <= ?1";
/// Days before yesterday are over everywhere (a provider's day is at most
/// a day long): their counters go.
inline constexpr std::string_view sql_prune_budget =
    "DELETE FROM daily_budget WHERE provider = ?1 AND fingerprint = ?2 AND day < ?3 - 1";
/// Rows nobody needs any more: keys back in rotation, and lockouts over,
/// for longer than the grace period (readers polling every few ms have long
/// seen them). ?1 = now - grace.
inline constexpr std::string_view sql_prune_state =
    "DELETE FROM key_state WHERE updated_ms < ?1 AND (status = 'available' OR (until_ms >= 0 AND until_ms < ?1))";

inline constexpr std::string_view sqlite_status_name(key_status s) noexcept {
  switch (s) {
    case key_status::available: return "available";
    case key_status::locked: return "locked";
    case key_status::disabled: return "disabled";
    case key_status::probing: return "probing";
  }
  return "unknown";
}

inline std::optional<key_status> sqlite_parse_status(std::string_view s) noexcept {
  for (auto k : {key_status::available, key_status::locked, key_status::disabled})
    if (sqlite_status_name(k) == s) return k;
  return std::nullopt;  // "probing" is never stored
}

inline std::optional<outcome_kind> sqlite_parse_reason(std::string_view s) noexcept {
  for (std::size_t i = 0; i < outcome_kind_count; ++i)
    if (to_string(static_cast<outcome_kind>(i)) == s) return static_cast<outcome_kind>(i);
  return std::nullopt;
}

/// Wall milliseconds since the epoch; -1 for "never".
inline long long sqlite_wall_ms(std::chrono::system_clock::time_point t) noexcept {
  if (t == std::chrono::system_clock::time_point::max()) return -1;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

inline std::chrono::system_clock::time_point sqlite_wall_time(long long ms) noexcept {
  if (ms < 0) return std::chrono::system_clock::time_point::max();
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

/// A lockout or disable as stored.
struct stored_state {
  key_status status = key_status::available;
  long long until_ms = 0;  ///< -1: never
};

/// Whether a new lockout / disable (`next`) replaces the stored one at wall
/// time `now_ms`, by the pool's own rule (basic_pool::apply): a running
/// lockout is never shortened, and a running disable is not replaced by a
/// lockout. A release (available) always replaces.
inline bool sqlite_replaces(const stored_state& stored, const stored_state& next, long long now_ms) noexcept {
  if (next.status == key_status::available) return true;
  const bool running = stored.status != key_status::available && (stored.until_ms < 0 || stored.until_ms > now_ms);
  if (!running) return true;
  if (stored.status == key_status::disabled && next.status == key_status::locked) return false;
  if (stored.status != next.status) return true;
  if (stored.until_ms < 0) return false;
  return next.until_ms < 0 || next.until_ms > stored.until_ms;
}

}  // namespace keypool::state::detail
