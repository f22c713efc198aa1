#pragma once
/// state::redis_status — a snapshot of the Redis state backend's health, as
/// state::redis::status() returns it.

#include <cstddef>
#include <cstdint>
#include <string>

namespace keypool::state {

/// A snapshot of the backend's health. Counters are totals since start.
struct redis_status {
  bool configured = false;               ///< false for a default-constructed (inert) handle
  bool connected = false;                ///< the writer's connection is up
  bool subscribed = false;               ///< the subscriber's connection is up and subscribed
  bool degraded = true;                  ///< !(connected && subscribed) or writes_refused: changes may be delayed
  bool writes_refused = false;           ///< the server refuses our writes (READONLY, NOPERM, MOVED, OOM)
  std::size_t queued = 0;                ///< transitions waiting to be written
  std::uint64_t published = 0;           ///< transitions handed to publish()
  std::uint64_t written = 0;             ///< transitions written to Redis
  std::uint64_t expired = 0;             ///< queued lockouts that ended before Redis came back
  std::uint64_t dropped = 0;             ///< lost to a full queue (drop-oldest)
  std::uint64_t write_retries = 0;       ///< writes that failed and were retried
  std::uint64_t reconnects = 0;          ///< successful re-connections after a failure
  std::uint64_t received = 0;            ///< messages from other instances
  std::uint64_t applied = 0;             ///< remote changes applied to an attached pool
  std::uint64_t own_ignored = 0;         ///< our own messages echoed back
  std::uint64_t malformed = 0;           ///< messages or keys that could not be parsed
  std::uint64_t loaded = 0;              ///< lockouts loaded from the index after (re)connects
  std::uint64_t budget_unavailable = 0;  ///< take_daily() calls answered `unavailable`
  /// Times the server was found emptied (restarted without persistence,
  /// flushed, failed over to an empty replica): each time, every live
  /// lockout and disable was re-published and the day's budget units pushed
  /// back.
  std::uint64_t data_losses = 0;
  /// reserve_daily()/take_daily() calls that found no units in stock and
  /// waited for Redis (at most redis_options::budget_timeout).
  std::uint64_t budget_waits = 0;
  /// Budget chunks fetched ahead, before the caller needed them.
  std::uint64_t budget_prefetches = 0;
  /// Redis Cluster MOVED replies followed to the node serving the namespace.
  std::uint64_t redirects = 0;
  /// Commands run once on a migration's target node after an ASK reply.
  std::uint64_t asks = 0;
  /// What is wrong now (writer, subscriber and budget connection, "; "
  /// between them); empty once each has recovered. Never contains the
  /// password, nor the server's reply to AUTH (only its error code).
  std::string last_error;
};

}  // namespace keypool::state
