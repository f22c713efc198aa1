#pragma once
/// state::sqlite_status — a snapshot of the SQLite state backend's health, as
/// state::sqlite::status() returns it.

#include <cstddef>
#include <cstdint>
#include <string>

namespace keypool::state {

/// A snapshot of the backend's health. Counters are totals since start.
struct sqlite_status {
  bool configured = false;  ///< false for a default-constructed (inert) handle
  bool open = false;        ///< the state file is in use (false: memory only)
  /// Changes are not being stored or shared: the file could not be opened
  /// (open is false), or its last write or read failed. `last_error` says why.
  bool degraded = true;
  std::string path;                      ///< the state file
  std::size_t queued = 0;                ///< transitions waiting to be written
  std::uint64_t published = 0;           ///< transitions handed to publish()
  std::uint64_t written = 0;             ///< transitions written to the file
  std::uint64_t kept = 0;                ///< not written: the file holds a longer lockout
  std::uint64_t expired = 0;             ///< lockouts that ended before they were written
  std::uint64_t dropped = 0;             ///< lost to a full queue, or published with no file
  std::uint64_t write_retries = 0;       ///< batches that failed and were retried
  std::uint64_t polls = 0;               ///< times another process's commit was noticed
  std::uint64_t received = 0;            ///< other processes' changes read from the file
  std::uint64_t applied = 0;             ///< changes applied to an attached pool
  std::uint64_t malformed = 0;           ///< rows that could not be parsed
  std::uint64_t loaded = 0;              ///< running lockouts loaded by attach()
  std::uint64_t budget_unavailable = 0;  ///< reserve_daily() calls answered empty
  std::string last_error;                ///< names the file; empty once healthy again
};

}  // namespace keypool::state
