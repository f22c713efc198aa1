#pragma once
/// state::sqlite_options — which file the SQLite state backend uses and how
/// it behaves when the file is busy, slow or unusable. Every knob is a
/// trade-off; the defaults suit a few processes on one machine.

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <functional>
#include <string>

namespace keypool::state {

struct sqlite_options {
  /// The state file. Its directory is created when missing (mode 0700); the
  /// file gets SQLite's "-wal" and "-shm" companions beside it.
  std::string path;
  /// How long the writer thread waits for another process's write lock
  /// before it counts a batch as failed and retries: longer rides out a
  /// busy neighbour, shorter reports trouble sooner. Off the pick path.
  std::chrono::milliseconds busy_timeout{2000};
  /// How long a budget reservation (on the picking thread, once per
  /// pool_options::daily_chunk metered picks) waits for the write lock
  /// before the pool counts locally instead. Bounds that pick's stall.
  std::chrono::milliseconds budget_timeout{50};
  /// How often the writer thread asks the file whether another process
  /// changed it (PRAGMA data_version: a read of shared memory, no I/O when
  /// nothing changed). Lower propagates sooner and wakes the thread more.
  std::chrono::milliseconds poll_interval{20};
  /// Transitions kept while the file cannot be written. Full: the oldest is
  /// dropped (and counted); about 100 bytes per entry.
  std::size_t queue_capacity = 4096;
  /// Failed batches are retried after a pause doubling from min to max.
  std::chrono::milliseconds backoff_min{25};
  std::chrono::milliseconds backoff_max{2000};
  /// How long the last handle's destruction keeps writing queued changes.
  std::chrono::milliseconds shutdown_flush{1000};
  /// Rows of keys back in rotation, and of lockouts over, are deleted after
  /// this long (a process that polls less often than this misses releases;
  /// its own lockout then simply runs out).
  std::chrono::milliseconds prune_after{std::chrono::hours(1)};
  /// false: PRAGMA synchronous=NORMAL, a commit survives the process being
  /// killed but the last ones may be lost on power failure (never a corrupt
  /// file). true: synchronous=FULL, an fsync per commit; survives power loss.
  bool sync_every_commit = false;
  /// The wall clock expiry is judged by (lockouts written already over,
  /// pruning, what attach() loads). Empty: std::chrono::system_clock. Tests
  /// hand in their manual clock's wall_now so one time rules everywhere.
  std::function<std::chrono::system_clock::time_point()> wall_clock{};

  /// Where a program keeps its state file by default, per the XDG base
  /// directory spec: $XDG_STATE_HOME/keypool/state.db when that variable is
  /// an absolute path, else $HOME/.local/state/keypool/state.db; empty when
  /// neither is usable (keep state in memory then).
  static std::string default_path() {
    const char* xdg = std::getenv("XDG_STATE_HOME");
    if (xdg && xdg[0] == '/') return std::string(xdg) + "/keypool/state.db";
    const char* home = std::getenv("HOME");
    if (home && home[0] == '/') return std::string(home) + "/.local/state/keypool/state.db";
    return {};
  }
};

}  // namespace keypool::state
