#pragma once
/// state::redis_options — where the Redis state backend connects and how it
/// behaves when Redis is slow or down, and redis_options::from_url, which
/// reads the usual REDIS_URL forms.

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace keypool::state {

/// A Redis URL that redis_options::from_url cannot use. The message never
/// contains the password.
class redis_url_error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Connection and tuning knobs. Every knob is a trade-off; defaults suit a
/// fleet on one LAN.
struct redis_options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string username{};  ///< ACL user (AUTH user pass); empty: AUTH pass only
  std::string password{};  ///< empty: no AUTH
  int database = 0;
  /// TLS (rediss://): the server's certificate is verified against `ca_file`
  /// (PEM; empty: the system's trust store) and must name `host`. Needs
  /// keypool built with OpenSSL (KEYPOOL_REDIS_TLS, set by the keypool::redis
  /// target when OpenSSL is found).
  bool tls = false;
  std::string ca_file{};
  /// Only for tests against a throwaway server: accepts any certificate.
  bool tls_verify = true;
  /// Separates fleets sharing one Redis: [A-Za-z0-9_.-], 1..64 characters.
  std::string name_space = "default";
  /// Transitions kept while Redis is unreachable. Full: the oldest is dropped
  /// (and counted); a larger queue survives longer outages at the cost of
  /// memory (about 100 bytes per entry).
  std::size_t queue_capacity = 4096;
  /// Upper bound of a connect; a longer one tolerates a slow network but
  /// delays noticing that Redis is down.
  std::chrono::milliseconds connect_timeout{250};
  /// Upper bound of one command; a slower Redis counts as down (reconnect).
  std::chrono::milliseconds command_timeout{250};
  /// Longest a budget call (reserve_daily, take_daily: a pick of a key with a
  /// daily limit) waits for Redis when no units are in stock; then it
  /// answers "unavailable" and local counting decides. Batched callers
  /// (want > 1) rarely wait at all: the next chunk is fetched ahead.
  std::chrono::milliseconds budget_timeout{250};
  /// Reconnect backoff doubles from min to max: low min recovers fast, high
  /// max spares a Redis that is struggling.
  std::chrono::milliseconds backoff_min{25};
  std::chrono::milliseconds backoff_max{2000};
  /// Idle subscriber connections are PINGed this often; no answer within
  /// twice the interval counts as a dead connection.
  std::chrono::milliseconds ping_interval{1000};
  /// How long the last handle's destruction keeps writing queued changes.
  std::chrono::milliseconds shutdown_flush{500};

  /// Reads the usual REDIS_URL forms, "redis://[[user]:password@]host[:port][/db]"
  /// or "host[:port]" ("[::1]:6379" for IPv6), into a copy of `base`: what
  /// the URL does not name keeps its value there. User and password are
  /// percent-decoded as redis-cli and redis-py do ("redis://:p%40ss%3Aw0rd@host"
  /// is the password "p@ss:w0rd"). "rediss://" sets tls (ca_file and
  /// tls_verify keep the base's values). Throws redis_url_error (rediss://
  /// without TLS support; a malformed %-escape in user or password; a bad
  /// host, port or database).
  static redis_options from_url(std::string_view url) { return from_url(url, redis_options{}); }
  static redis_options from_url(std::string_view url, redis_options base);
};

}  // namespace keypool::state

#include <keypool/state/impl/redis_options.hpp>
