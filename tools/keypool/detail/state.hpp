#pragma once
/// Where the client commands (keys, probe, ask, serve) keep key state
/// between runs: a SQLite file by default ($XDG_STATE_HOME/keypool/state.db),
/// `--state FILE` for another, `--state none` for memory only, and Redis
/// when REDIS_URL is set (and --state is not given). A store that cannot be
/// used never stops a command: one warning line naming the file (or Redis's
/// host), then memory.
///
///   auto st = detail::open_state(o, err);   // warns on err when unusable
///   cli_pool pool(info, specs, {.state = st});
///   auto link = st.attach(pool);            // stored lockouts applied now
///   client.remember_unavailable(…);         // each of st.load_unavailable_models()
///
/// The build says which stores exist: KEYPOOL_CLI_SQLITE (keypool::sqlite)
/// and KEYPOOL_CLI_REDIS (keypool::redis).

#include "../options.hpp"

#include <keypool/core/outcome.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/spend/spend.hpp>
#include <keypool/spend/stored.hpp>
#include <keypool/state/concept.hpp>
#include <keypool/state/sqlite_options.hpp>
#include <keypool/state/stored_spend.hpp>
#include <keypool/state/stored_unavailable_model.hpp>

#if KEYPOOL_CLI_SQLITE
#include <keypool/state/sqlite.hpp>
#endif
#if KEYPOOL_CLI_REDIS
#include <keypool/state/redis.hpp>
#endif

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::cli::detail {

/// Which store a command uses and why, before anything is opened.
struct state_choice {
  enum class store { memory, sqlite, redis };
  store kind = store::memory;
  std::string location;  ///< the file, or the Redis URL (never the password); empty for memory
  std::string origin;    ///< what chose it: "--state", "REDIS_URL", "$XDG_STATE_HOME", …
};

/// The default file's origin, as `keys` names it.
inline std::string default_state_origin() {
  const char* xdg = std::getenv("XDG_STATE_HOME");
  return xdg && xdg[0] == '/' ? "$XDG_STATE_HOME" : "$HOME/.local/state";
}

/// --state wins; then REDIS_URL (unless --ignore-environment); then the
/// default file; memory when there is no home to put it in.
inline state_choice choose_state(const options& o) {
  using store = state_choice::store;
  if (o.state && *o.state == "none") return {store::memory, {}, "--state none"};
  if (o.state) return {store::sqlite, *o.state, "--state"};
  const char* url = o.ignore_environment ? nullptr : std::getenv("REDIS_URL");
  if (url && *url) return {store::redis, url, "REDIS_URL"};
  auto file = state::sqlite_options::default_path();
  if (file.empty()) return {store::memory, {}, "neither $XDG_STATE_HOME nor $HOME is set"};
  return {store::sqlite, std::move(file), default_state_origin()};
}

/// The key state store of one command: a copyable handle to the SQLite file,
/// to Redis, or to nothing (memory only). A pool of cli_pool publishes its
/// transitions to it; daily budgets are counted by it when it is open.
class cli_state {
 public:
  /// Memory only.
  cli_state() = default;

  void publish(const state_change& c) noexcept {
#if KEYPOOL_CLI_SQLITE
    sqlite_.publish(c);
#endif
#if KEYPOOL_CLI_REDIS
    redis_.publish(c);
#endif
  }

  std::optional<std::uint32_t> reserve_daily(std::string_view provider_id, std::string_view fp, const provider_day& day,
                                             std::uint32_t limit, std::uint32_t want) noexcept {
#if KEYPOOL_CLI_SQLITE
    if (kind_ == state_choice::store::sqlite) return sqlite_.reserve_daily(provider_id, fp, day, limit, want);
#endif
#if KEYPOOL_CLI_REDIS
    if (kind_ == state_choice::store::redis) return redis_.reserve_daily(provider_id, fp, day, limit, want);
#endif
    (void)provider_id, (void)fp, (void)day, (void)limit, (void)want;
    return std::nullopt;
  }

  /// Unregisters the pools attach() registered; destroy before them.
  struct link {
#if KEYPOOL_CLI_SQLITE
    state::sqlite::attachment sqlite;
#endif
#if KEYPOOL_CLI_REDIS
    state::redis::attachment redis;
#endif
  };

  /// Applies the stored lockouts and disables of pool's provider to it now,
  /// then other processes' changes as they come.
  template <class Pool>
  [[nodiscard]] link attach(Pool& pool) {
    link l;
#if KEYPOOL_CLI_SQLITE
    if (kind_ == state_choice::store::sqlite) l.sqlite = sqlite_.attach(pool);
#endif
#if KEYPOOL_CLI_REDIS
    if (kind_ == state_choice::store::redis) l.redis = redis_.attach(pool);
#endif
    (void)pool;
    return l;
  }

  /// Writes what is queued (at the end of a command), for at most `t`.
  void flush(std::chrono::milliseconds t) {
#if KEYPOOL_CLI_SQLITE
    if (kind_ == state_choice::store::sqlite) sqlite_.flush(t);
#endif
#if KEYPOOL_CLI_REDIS
    if (kind_ == state_choice::store::redis) redis_.flush(t);
#endif
    (void)t;
  }

  /// Adds what `spent` holds to the stored spend (SQLite only: Redis keeps
  /// no spend). At the end of a command, off the request path.
  void add_spend(const spend::spend_snapshot& spent) {
#if KEYPOOL_CLI_SQLITE
    if (kind_ == state_choice::store::sqlite && !spent.keys.empty()) sqlite_.add_spend(spend::to_stored(spent));
#endif
    (void)spent;
  }

  /// The stored spend per provider, fingerprint and model (SQLite only).
  std::vector<state::stored_spend> load_spend() {
#if KEYPOOL_CLI_SQLITE
    if (kind_ == state_choice::store::sqlite) return sqlite_.load_spend().value_or(std::vector<state::stored_spend>{});
#endif
    return {};
  }

  /// Stores the models the client learned unavailable (SQLite only: Redis
  /// keeps none). At the end of a command, off the request path.
  void add_unavailable_models(const std::vector<state::stored_unavailable_model>& rows) {
#if KEYPOOL_CLI_SQLITE
    if (kind_ == state_choice::store::sqlite && !rows.empty()) sqlite_.add_unavailable_models(rows);
#endif
    (void)rows;
  }

  /// The stored unavailable models not over yet (SQLite only), to seed the
  /// client with.
  std::vector<state::stored_unavailable_model> load_unavailable_models() {
#if KEYPOOL_CLI_SQLITE
    if (kind_ == state_choice::store::sqlite)
      return sqlite_.load_unavailable_models().value_or(std::vector<state::stored_unavailable_model>{});
#endif
    return {};
  }

  /// The store in use: memory when the chosen one could not be opened.
  const state_choice& where() const noexcept { return where_; }
  /// "SQLite file /x/state.db ($XDG_STATE_HOME)", "memory only (--state none)".
  std::string describe() const {
    switch (where_.kind) {
      case state_choice::store::sqlite: return "SQLite file " + where_.location + " (" + where_.origin + ")";
      case state_choice::store::redis: return "Redis " + where_.location + " (" + where_.origin + ")";
      default: return "memory only (" + where_.origin + ")";
    }
  }

  friend cli_state open_state(const options& o, std::ostream& err);

 private:
  state_choice::store kind_ = state_choice::store::memory;
  state_choice where_{state_choice::store::memory, {}, "--state none"};
#if KEYPOOL_CLI_SQLITE
  state::sqlite sqlite_;
#endif
#if KEYPOOL_CLI_REDIS
  state::redis redis_;
#endif
};

static_assert(shared_budget_backend<cli_state>);

/// A pool of the client commands: a provider described at run time, its
/// transitions published to the command's store.
using cli_pool = basic_pool<runtime_provider, policy::state<cli_state>>;

/// What the warning calls a store that could not be used.
inline std::string memory_fallback(const std::string& why) {
  return "keypool: warning: " + why + "; key state is kept in memory for this run\n";
}

#if KEYPOOL_CLI_REDIS
/// "redis://host:port/db" (or rediss://): REDIS_URL without user and password.
inline std::string shown_redis(const state::redis_options& r) {
  const bool v6 = r.host.find(':') != std::string::npos;
  return std::string(r.tls ? "rediss://" : "redis://") + (v6 ? "[" + r.host + "]" : r.host) + ":" +
         std::to_string(r.port) + "/" + std::to_string(r.database);
}

/// Connects to REDIS_URL and loads the stored state, waiting at most about
/// a second; nothing (and a warning) when Redis cannot be used.
inline std::optional<state::redis> open_redis(state_choice& c, std::ostream& err) {
  state::redis_options ro;
  try {
    ro = state::redis_options::from_url(c.location);
  } catch (const std::exception& e) {  // never quotes the password
    err << memory_fallback(std::string("REDIS_URL: ") + e.what());
    return std::nullopt;
  }
  if (const char* ca = std::getenv("REDIS_CA_FILE"); ca && *ca) ro.ca_file = ca;
  c.location = shown_redis(ro);
  state::redis r(ro);
  if (r.wait_ready(std::chrono::milliseconds(1500))) return r;
  err << memory_fallback("cannot use Redis at " + c.location + " (" + r.status().last_error + ")");
  r.shutdown();
  return std::nullopt;
}
#endif

/// The store the options choose, opened. Never throws for a store that
/// cannot be used: one warning line on `err`, then memory.
inline cli_state open_state(const options& o, std::ostream& err) {
  cli_state s;
  auto c = choose_state(o);
  if (c.kind == state_choice::store::sqlite) {
#if KEYPOOL_CLI_SQLITE
    s.sqlite_ = state::sqlite(state::sqlite_options{.path = c.location});
    if (s.sqlite_.status().open) {
      s.kind_ = c.kind;
      s.where_ = std::move(c);
      return s;
    }
    err << "keypool: warning: " << s.sqlite_.status().last_error << "\n";
    s.sqlite_ = state::sqlite();
#else
    err << memory_fallback("this keypool was built without SQLite, the state file " + c.location + " is not used");
#endif
    s.where_ = {state_choice::store::memory, {}, "the state file " + c.location + " cannot be used"};
    return s;
  }
  if (c.kind == state_choice::store::redis) {
#if KEYPOOL_CLI_REDIS
    if (auto r = open_redis(c, err)) {
      s.redis_ = std::move(*r);
      s.kind_ = c.kind;
      s.where_ = std::move(c);
      return s;
    }
#else
    err << memory_fallback("this keypool was built without Redis, REDIS_URL is not used");
#endif
    s.where_ = {state_choice::store::memory, {}, "Redis cannot be used"};
    return s;
  }
  s.where_ = std::move(c);
  return s;
}

}  // namespace keypool::cli::detail
