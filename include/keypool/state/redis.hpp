#pragma once
/// state::redis — key state shared by a fleet of processes through Redis
/// (hiredis). Lockouts and disables are written as Redis keys with a TTL and
/// announced on a pub/sub channel; every instance applies the others' changes
/// to its own pools within milliseconds, so picks stay at local speed. Daily
/// budgets are counted exactly across instances by an atomic Lua script.
///
///   keypool::state::redis shared({.host = "10.0.0.5", .name_space = "prod"});
///   using pool_t = keypool::pool<groq>::with<keypool::policy::state<keypool::state::redis>>;
///   pool_t pool(keys, {.state = shared});
///   auto link = shared.attach(pool);   // declare after the pool: detaches first
///
/// Redis keys (never built from secrets, only from 12-hex fingerprints):
///   keypool:{ns}:state:{provider}:{fingerprint}       lockout/disable, TTL = its end
///   keypool:{ns}:daily:{provider}:{fingerprint}:{day}  daily counter, EXPIREAT day end
///   keypool:{ns}:events                                pub/sub channel
///
/// Threads: one writer (drains the publish queue, retries with backoff) and
/// one subscriber (applies remote changes, reloads all state after every
/// (re)connect with SCAN). Redis down or slow never blocks publish() and
/// never crashes; status() reports the backend as degraded meanwhile.
///
/// Copies are handles to one shared backend; the last copy to go stops and
/// joins the threads (after trying to flush queued writes for up to
/// redis_options::shutdown_flush).

#include <keypool/core/detail/key_state.hpp>
#include <keypool/core/detail/percent.hpp>
#include <keypool/core/outcome.hpp>
#include <keypool/state/concept.hpp>
#include <keypool/state/detail/redis_connection.hpp>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

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
  /// is the password "p@ss:w0rd"). Throws redis_url_error (rediss://, as TLS
  /// is not supported; a malformed %-escape in user or password; a bad host,
  /// port or database).
  static redis_options from_url(std::string_view url) { return from_url(url, redis_options{}); }
  static redis_options from_url(std::string_view url, redis_options base) {
    const auto fail = [](const std::string& why) { return redis_url_error("Redis URL: " + why); };
    if (url.starts_with("rediss://")) throw fail("rediss:// (TLS) is not supported; use a TLS tunnel");
    if (url.starts_with("redis://"))
      url.remove_prefix(8);
    else if (url.find("://") != std::string_view::npos)
      throw fail("unsupported scheme (expected redis://)");
    // The last '@' ends the userinfo (as urlparse, which redis-py uses): an
    // unencoded '@' in a password still works. The first ':' splits user from
    // password; both are percent-decoded after the split, so "%3A" and "%40"
    // are literal ':' and '@'. A bad escape names the part, never its text.
    if (const auto at = url.rfind('@'); at != std::string_view::npos) {
      const auto userinfo = url.substr(0, at);
      url.remove_prefix(at + 1);
      const auto decode = [&](std::string_view part, const char* what) {
        auto v = ::keypool::detail::percent_decode(part, ::keypool::detail::bad_escape::refuse);
        if (!v)
          throw fail(std::string("malformed percent-encoding in the ") + what +
                     " (every '%' must be followed by two hex digits; write '%' itself as %25)");
        return std::move(*v);
      };
      const auto colon = userinfo.find(':');
      if (colon != std::string_view::npos) base.username = decode(userinfo.substr(0, colon), "username");
      base.password = decode(colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1), "password");
    }
    const auto number = [](std::string_view text, int lo, int hi) -> std::optional<int> {
      int v = 0;
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || v < lo || v > hi)
        return std::nullopt;
      return v;
    };
    if (const auto slash = url.find('/'); slash != std::string_view::npos) {
      const auto db = url.substr(slash + 1);
      url = url.substr(0, slash);
      if (!db.empty()) {
        const auto v = number(db, 0, 65535);
        if (!v) throw fail("bad database number '" + std::string(db.substr(0, 16)) + "' (expected 0..65535)");
        base.database = *v;
      }
    }
    std::string_view host = url, port;
    if (url.starts_with('[')) {  // [IPv6]:port
      const auto close = url.find(']');
      if (close == std::string_view::npos) throw fail("unterminated IPv6 address");
      host = url.substr(1, close - 1);
      const auto rest = url.substr(close + 1);
      if (!rest.empty() && rest.front() != ':') throw fail("unexpected text after the IPv6 address");
      if (!rest.empty()) port = rest.substr(1);
      if (rest == ":") throw fail("empty port");
    } else if (const auto colon = url.rfind(':'); colon != std::string_view::npos) {
      host = url.substr(0, colon);
      port = url.substr(colon + 1);
      if (port.empty()) throw fail("empty port");
    }
    if (!port.empty()) {
      const auto v = number(port, 1, 65535);
      if (!v) throw fail("bad port '" + std::string(port.substr(0, 16)) + "' (expected 1..65535)");
      base.port = *v;
    }
    for (const char ch : host) {
      const auto c = static_cast<unsigned char>(ch);
      if (c <= 0x20 || c == 0x7f) throw fail("the host contains whitespace or a control character");
    }
    if (!host.empty()) base.host = std::string(host);
    return base;
  }
};

/// A snapshot of the backend's health. Counters are totals since start.
struct redis_status {
  bool configured = false;               ///< false for a default-constructed (inert) handle
  bool connected = false;                ///< the writer's connection is up
  bool subscribed = false;               ///< the subscriber's connection is up and subscribed
  bool degraded = true;                  ///< !(connected && subscribed): changes may be delayed
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
  std::uint64_t loaded = 0;              ///< lockouts loaded by SCAN after (re)connects
  std::uint64_t budget_unavailable = 0;  ///< take_daily() calls answered `unavailable`
  std::string last_error;                ///< most recent connection/command error
};

/// The answer of a shared daily budget.
enum class budget_verdict : std::uint8_t {
  granted,      ///< counted; use the key
  exhausted,    ///< the day's budget is spent across the fleet
  unavailable,  ///< Redis is unreachable: fall back to local counting
};

/// Receives a change another instance made: (fingerprint, status, reason,
/// until). Returns whether the fingerprint was known.
using remote_handler =
    std::function<bool(std::string_view, key_status, outcome_kind, std::chrono::system_clock::time_point)>;

namespace detail {

inline constexpr std::string_view status_name(key_status s) noexcept {
  switch (s) {
    case key_status::available: return "available";
    case key_status::locked: return "locked";
    case key_status::disabled: return "disabled";
    case key_status::probing: return "probing";
  }
  return "unknown";
}

inline std::optional<key_status> parse_status(std::string_view s) noexcept {
  for (auto k : {key_status::available, key_status::locked, key_status::disabled, key_status::probing})
    if (status_name(k) == s) return k;
  return std::nullopt;
}

inline std::optional<outcome_kind> parse_reason(std::string_view s) noexcept {
  for (std::size_t i = 0; i < outcome_kind_count; ++i)
    if (to_string(static_cast<outcome_kind>(i)) == s) return static_cast<outcome_kind>(i);
  return std::nullopt;
}

/// Wall milliseconds since the epoch; -1 for "never".
inline long long to_wall_ms(std::chrono::system_clock::time_point t) noexcept {
  if (t == std::chrono::system_clock::time_point::max()) return -1;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// How the subscriber hands a change to an attachment: with the time it has
/// left (empty: never ends), which the attachment turns into a wall time by
/// the clock of whoever applies it, so clock skew between hosts cancels out.
using remote_fn =
    std::function<bool(std::string_view, key_status, outcome_kind, std::optional<std::chrono::milliseconds>)>;

/// A change waiting for the writer. Wall time, so the time left is measured
/// when it is finally written.
struct pending_change {
  std::string provider;
  std::string fingerprint;
  key_status status = key_status::available;
  outcome_kind reason = outcome_kind::success;
  long long until_ms = 0;  ///< to_wall_ms(until): -1 for never
};

/// One change as published and stored: "status|reason|<left>ms|fp|provider",
/// <left> being the time the lockout / disable had left when written
/// ("never": no end). A duration rather than a wall time, so instances whose
/// clocks disagree still agree on how long a lockout lasts. The provider id
/// comes last so it may contain any character.
struct wire_change {
  std::string provider;
  std::string fingerprint;
  key_status status = key_status::available;
  outcome_kind reason = outcome_kind::success;
  long long ttl_ms = 0;  ///< time left when written; -1 for never

  std::string body() const {
    std::string s;
    s.reserve(48 + provider.size());
    s.append(status_name(status)).append("|").append(to_string(reason)).append("|");
    s.append(ttl_ms < 0 ? std::string("never") : std::to_string(ttl_ms) + "ms");
    s.append("|").append(fingerprint).append("|").append(provider);
    return s;
  }

  /// `now_ms` (this host's wall clock) only reads the older form, whose third
  /// field is the absolute wall time in ms when it ends (-1: never), as sent
  /// by instances not yet upgraded.
  static std::optional<wire_change> parse(std::string_view s, long long now_ms) {
    std::string_view part[4];
    for (auto& p : part) {
      const auto bar = s.find('|');
      if (bar == std::string_view::npos) return std::nullopt;
      p = s.substr(0, bar);
      s.remove_prefix(bar + 1);
    }
    wire_change c;
    auto st = parse_status(part[0]);
    auto rs = parse_reason(part[1]);
    if (!st || !rs || s.empty() || part[3].empty()) return std::nullopt;
    if (part[2] == "never") {
      c.ttl_ms = -1;
    } else {
      const bool absolute = !part[2].ends_with("ms");
      if (!absolute) part[2].remove_suffix(2);
      long long v = 0;
      const auto* b = part[2].data();
      const auto* e = b + part[2].size();
      auto [ptr, ec] = std::from_chars(b, e, v);
      if (ec != std::errc{} || ptr != e || b == e || (!absolute && v < 0)) return std::nullopt;
      c.ttl_ms = !absolute ? v : v < 0 ? -1 : std::max(0LL, v - now_ms);
    }
    c.status = *st;
    c.reason = *rs;
    c.fingerprint = std::string(part[3]);
    c.provider = std::string(s);
    return c;
  }
};

/// Writes a change: SET with PX (or DEL for a release), never shortening a
/// longer lockout already stored, then PUBLISH — atomically, one round trip.
/// The stored key's PTTL is what it has left (by the server's clock alone).
/// KEYS[1] state key; ARGV: status, body, ttl_ms (-1: never), channel, message.
inline constexpr std::string_view write_script = R"lua(
if ARGV[1] == 'available' then
  redis.call('DEL', KEYS[1])
else
  local ttl = tonumber(ARGV[3])
  local keep = false
  local cur = redis.call('GET', KEYS[1])
  if cur then
    local cs = string.match(cur, '^(%a+)|')
    local left = redis.call('PTTL', KEYS[1])
    if cs == 'disabled' and ARGV[1] == 'locked' then
      keep = true
    elseif cs == ARGV[1] and (left == -1 or (ttl ~= -1 and left >= ttl)) then
      keep = true
    end
  end
  if not keep then
    if ttl > 0 then
      redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
    else
      redis.call('SET', KEYS[1], ARGV[2])
    end
  end
end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1
)lua";

/// Grants up to ARGV[2] units of a daily budget of ARGV[1], atomically, and
/// makes the counter expire at the provider's day boundary (ARGV[3], unix s).
/// Returns {granted, used}. A day already over by the server's clock (the
/// caller's clock runs behind, or it asked just before the boundary) grants
/// nothing: EXPIREAT in the past would delete the counter at once, and every
/// later call would be granted again.
inline constexpr std::string_view budget_script = R"lua(
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[3]) <= tonumber(redis.call('TIME')[1]) then return {0, used} end
local grant = math.min(tonumber(ARGV[2]), tonumber(ARGV[1]) - used)
if grant <= 0 then return {0, used} end
used = redis.call('INCRBY', KEYS[1], grant)
redis.call('EXPIREAT', KEYS[1], ARGV[3])
return {grant, used}
)lua";

/// A connection plus the SHA1s of our scripts on that server.
struct scripted_connection {
  redis_connection conn;
  std::string write_sha, budget_sha;

  bool open(const redis_endpoint& ep, std::string& error) {
    if (!conn.open(ep, error)) return false;
    return load(write_script, write_sha, error) && load(budget_script, budget_sha, error);
  }
  bool load(std::string_view script, std::string& sha, std::string& error) {
    auto r = conn.command({"SCRIPT", "LOAD", script}, error);
    if (!r) return false;
    if (r->type != REDIS_REPLY_STRING) {
      error = "SCRIPT LOAD: " + std::string(reply_text(r.get()));
      conn.close();
      return false;
    }
    sha = std::string(reply_text(r.get()));
    return true;
  }
  /// EVALSHA, falling back to EVAL when the server lost the script.
  reply_ptr eval(std::string_view sha, std::string_view script, std::vector<std::string_view> args,
                 std::string& error) {
    args.insert(args.begin(), {"EVALSHA", sha});
    auto r = conn.command(args.data(), args.size(), error);
    if (r && r->type == REDIS_REPLY_ERROR && reply_text(r.get()).starts_with("NOSCRIPT")) {
      args[0] = "EVAL";
      args[1] = script;
      r = conn.command(args.data(), args.size(), error);
    }
    return r;
  }
};

/// Everything the handles share.
class redis_impl {
 public:
  explicit redis_impl(redis_options opts) : opts_(std::move(opts)) {
    validate_namespace(opts_.name_space);
    if (opts_.queue_capacity == 0) throw std::invalid_argument("keypool::state::redis: queue_capacity must be > 0");
    ep_.host = opts_.host;
    ep_.port = opts_.port;
    ep_.username = opts_.username;
    ep_.password = opts_.password;
    ep_.database = opts_.database;
    ep_.connect_timeout = opts_.connect_timeout;
    ep_.command_timeout = opts_.command_timeout;
    prefix_ = "keypool:" + opts_.name_space + ":";
    channel_ = prefix_ + "events";
    instance_id_ = make_instance_id();
    if (::pipe2(wake_, O_NONBLOCK | O_CLOEXEC) != 0) throw std::runtime_error("keypool::state::redis: pipe2 failed");
    try {
      writer_ = std::thread([this] { writer_loop(); });
      subscriber_ = std::thread([this] { subscriber_loop(); });
    } catch (...) {
      stop();
      ::close(wake_[0]);
      ::close(wake_[1]);
      throw;
    }
  }

  redis_impl(const redis_impl&) = delete;
  redis_impl& operator=(const redis_impl&) = delete;

  ~redis_impl() {
    stop();
    ::close(wake_[0]);
    ::close(wake_[1]);
  }

  /// Stops and joins both threads; idempotent.
  void stop() noexcept {
    std::lock_guard j(join_mu_);  // two handles may shut down at once
    {
      std::lock_guard g(mu_);
      if (!stopping_) flush_deadline_ = std::chrono::steady_clock::now() + opts_.shutdown_flush;
      stopping_ = true;
    }
    cv_.notify_all();
    stop_cv_.notify_all();
    idle_cv_.notify_all();
    wake();
    // A handler must not own the last handle (it would join its own thread).
    for (std::thread* t : {&writer_, &subscriber_})
      if (t->joinable() && t->get_id() != std::this_thread::get_id()) t->join();
  }

  // ---- publish side --------------------------------------------------------

  void enqueue(const state_change& c) noexcept {
    if (c.status == key_status::probing) return;  // local detail, not shared
    try {
      pending_change w{std::string(c.provider_id), std::string(c.fingerprint), c.status, c.reason, to_wall_ms(c.until)};
      {
        std::lock_guard g(mu_);
        if (stopping_) {
          dropped_.fetch_add(1, std::memory_order_relaxed);
          return;
        }
        if (queue_.size() >= opts_.queue_capacity) {
          queue_.pop_front();
          dropped_.fetch_add(1, std::memory_order_relaxed);
        }
        queue_.push_back(std::move(w));
        published_.fetch_add(1, std::memory_order_relaxed);
      }
      cv_.notify_one();
    } catch (...) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  bool flush(std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    std::unique_lock lk(mu_);
    return idle_cv_.wait_until(lk, end, [&] { return queue_.empty() && !in_flight_; });
  }

  // ---- attachments ---------------------------------------------------------

  std::uint64_t attach(std::string provider_id, remote_fn h) {
    std::uint64_t id;
    {
      std::lock_guard g(registry_mu_);
      id = ++next_attachment_;
      handlers_.push_back({id, std::move(provider_id), std::move(h)});
    }
    // The newcomer needs the lockouts already in Redis; ready() waits for it.
    want_sync_.fetch_add(1, std::memory_order_acq_rel);
    wake();
    return id;
  }

  void detach(std::uint64_t id) noexcept {
    std::lock_guard g(registry_mu_);  // waits for a handler that is running
    std::erase_if(handlers_, [&](const handler_entry& e) { return e.id == id; });
  }

  // ---- budgets -------------------------------------------------------------

  std::uint32_t reserve_daily(std::string_view provider_id, std::string_view fp, const provider_day& day,
                              std::uint32_t limit, std::uint32_t want, bool& available) {
    available = false;
    if (want == 0) {
      available = true;
      return 0;
    }
    const std::string key = daily_key(provider_id, fp, day.index);
    const long long end_s = std::chrono::floor<std::chrono::seconds>(day.end().time_since_epoch()).count();
    const std::string lim = std::to_string(limit), w = std::to_string(want), at = std::to_string(end_s);
    std::lock_guard g(budget_mu_);
    std::string err;
    if (!budget_conn_.conn.ok()) {
      const auto now = std::chrono::steady_clock::now();
      if (now < budget_retry_at_) return 0;
      if (!budget_conn_.open(ep_, err)) {
        budget_backoff_ = next_backoff(budget_backoff_);
        budget_retry_at_ = now + budget_backoff_;
        set_error(err);
        return 0;
      }
      budget_backoff_ = {};
    }
    auto r = budget_conn_.eval(budget_conn_.budget_sha, budget_script, {"1", key, lim, w, at}, err);
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_INTEGER) {
      if (!r) budget_retry_at_ = std::chrono::steady_clock::now() + opts_.backoff_min;
      set_error(r ? "budget script: " + std::string(reply_text(r.get())) : err);
      return 0;
    }
    available = true;
    return static_cast<std::uint32_t>(r->element[0]->integer);
  }

  std::optional<std::uint64_t> daily_used(std::string_view provider_id, std::string_view fp, std::uint32_t day) {
    const std::string key = daily_key(provider_id, fp, day);
    std::lock_guard g(budget_mu_);
    std::string err;
    if (!budget_conn_.conn.ok()) {
      if (std::chrono::steady_clock::now() < budget_retry_at_) return std::nullopt;
      if (!budget_conn_.open(ep_, err)) {
        budget_backoff_ = next_backoff(budget_backoff_);
        budget_retry_at_ = std::chrono::steady_clock::now() + budget_backoff_;
        return std::nullopt;
      }
      budget_backoff_ = {};
    }
    auto r = budget_conn_.conn.command({"GET", key}, err);
    if (!r) return std::nullopt;
    if (r->type == REDIS_REPLY_NIL) return 0;
    if (r->type != REDIS_REPLY_STRING) return std::nullopt;
    std::uint64_t v = 0;
    const auto t = reply_text(r.get());
    std::from_chars(t.data(), t.data() + t.size(), v);
    return v;
  }

  // ---- names and status ----------------------------------------------------

  std::string state_key(std::string_view provider_id, std::string_view fp) const {
    std::string k = prefix_;
    k.append("state:").append(provider_id).append(":").append(fp);
    return k;
  }
  std::string daily_key(std::string_view provider_id, std::string_view fp, std::uint32_t day) const {
    std::string k = prefix_;
    k.append("daily:").append(provider_id).append(":").append(fp).append(":").append(std::to_string(day));
    return k;
  }
  const std::string& channel() const noexcept { return channel_; }
  const std::string& instance_id() const noexcept { return instance_id_; }

  redis_status status() const {
    redis_status s;
    s.configured = true;
    s.connected = writer_up_.load(std::memory_order_acquire);
    s.subscribed = subscribed_.load(std::memory_order_acquire);
    s.degraded = !(s.connected && s.subscribed);
    {
      std::lock_guard g(mu_);
      s.queued = queue_.size() + (in_flight_ ? 1 : 0);
    }
    s.published = published_.load(std::memory_order_relaxed);
    s.written = written_.load(std::memory_order_relaxed);
    s.expired = expired_.load(std::memory_order_relaxed);
    s.dropped = dropped_.load(std::memory_order_relaxed);
    s.write_retries = write_retries_.load(std::memory_order_relaxed);
    s.reconnects = reconnects_.load(std::memory_order_relaxed);
    s.received = received_.load(std::memory_order_relaxed);
    s.applied = applied_.load(std::memory_order_relaxed);
    s.own_ignored = own_ignored_.load(std::memory_order_relaxed);
    s.malformed = malformed_.load(std::memory_order_relaxed);
    s.loaded = loaded_.load(std::memory_order_relaxed);
    s.budget_unavailable = budget_unavailable_.load(std::memory_order_relaxed);
    {
      std::lock_guard g(error_mu_);
      s.last_error = last_error_;
    }
    return s;
  }

  bool ready() const noexcept {
    return writer_up_.load(std::memory_order_acquire) && subscribed_.load(std::memory_order_acquire) &&
           done_sync_.load(std::memory_order_acquire) == want_sync_.load(std::memory_order_acquire);
  }

  void count_budget_unavailable() noexcept { budget_unavailable_.fetch_add(1, std::memory_order_relaxed); }

 private:
  struct handler_entry {
    std::uint64_t id;
    std::string provider;
    remote_fn fn;
  };

  static void validate_namespace(const std::string& ns) {
    const bool ok = !ns.empty() && ns.size() <= 64 && std::all_of(ns.begin(), ns.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
             c == '-';
    });
    if (!ok)
      throw std::invalid_argument("keypool::state::redis: name_space must be 1..64 of [A-Za-z0-9_.-], got \"" + ns +
                                  "\"");
  }

  static std::string make_instance_id() {
    std::random_device rd;
    std::uint64_t v = (std::uint64_t{rd()} << 32) ^ rd() ^ static_cast<std::uint64_t>(::getpid()) << 16 ^
                      static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    static constexpr char hex[] = "0123456789abcdef";
    std::string s(16, '0');
    for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<std::size_t>(i)] = hex[v & 0xf];
    return s;
  }

  std::chrono::milliseconds next_backoff(std::chrono::milliseconds cur) const noexcept {
    if (cur.count() <= 0) return opts_.backoff_min;
    return std::min(cur * 2, opts_.backoff_max);
  }

  void set_error(const std::string& e) {
    std::lock_guard g(error_mu_);
    last_error_ = e;
  }

  void wake() noexcept {
    const char b = 1;
    [[maybe_unused]] auto n = ::write(wake_[1], &b, 1);
  }

  /// Waits `d` or until stop; true when stopping.
  bool sleep_or_stop(std::condition_variable& cv, std::chrono::milliseconds d) {
    std::unique_lock lk(mu_);
    return cv.wait_for(lk, d, [&] { return stopping_; });
  }

  // ---- writer thread -------------------------------------------------------

  void writer_loop() {
    scripted_connection c;
    std::chrono::milliseconds backoff{};
    bool ever_connected = false;
    std::string err;
    for (;;) {
      if (!c.conn.ok()) {
        writer_up_.store(false, std::memory_order_release);
        {
          std::lock_guard g(mu_);
          if (stopping_) break;  // nothing can be flushed without Redis
        }
        if (!c.open(ep_, err)) {
          set_error(err);
          backoff = next_backoff(backoff);
          if (sleep_or_stop(cv_, backoff)) break;
          continue;
        }
        // The backoff is not reset here but after a write or PING succeeds:
        // a server that accepts connections yet refuses every write must not
        // be retried at connect speed.
        if (ever_connected) reconnects_.fetch_add(1, std::memory_order_relaxed);
        ever_connected = true;
        writer_up_.store(true, std::memory_order_release);
      }
      pending_change w;
      {
        std::unique_lock lk(mu_);
        cv_.wait_for(lk, opts_.ping_interval, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) {
          if (stopping_) break;
          lk.unlock();
          // Idle: check the connection is still alive, so status() is true.
          if (auto r = c.conn.command({"PING"}, err); !r)
            set_error(err);
          else if (r->type != REDIS_REPLY_ERROR)
            backoff = {};
          continue;
        }
        if (stopping_ && std::chrono::steady_clock::now() > flush_deadline_) break;
        w = std::move(queue_.front());
        queue_.pop_front();
        in_flight_ = true;
      }
      const bool ok = write(c, w, err);
      {
        std::lock_guard g(mu_);
        in_flight_ = false;
        if (!ok) {
          // Retried after a pause, ahead of newer changes; if the queue
          // filled up meanwhile, this is the oldest and goes.
          write_retries_.fetch_add(1, std::memory_order_relaxed);
          if (queue_.size() < opts_.queue_capacity)
            queue_.push_front(std::move(w));
          else
            dropped_.fetch_add(1, std::memory_order_relaxed);
        }
      }
      idle_cv_.notify_all();
      if (ok) {
        backoff = {};
      } else {
        // An I/O error closed the connection (reconnect after the pause); a
        // refusal (READONLY replica, OOM, NOPERM) leaves it usable. Either
        // way the same write is tried again, so pause first.
        set_error(err);
        backoff = next_backoff(backoff);
        retry_pause(backoff);
      }
    }
    writer_up_.store(false, std::memory_order_release);
    idle_cv_.notify_all();
  }

  /// After a failed write: waits `d`, but once stopping no later than the
  /// flush deadline, so shutdown stays bounded.
  void retry_pause(std::chrono::milliseconds d) {
    const auto end = std::chrono::steady_clock::now() + d;
    std::unique_lock lk(mu_);
    for (;;) {
      const auto until = stopping_ ? std::min(end, flush_deadline_) : end;
      if (std::chrono::steady_clock::now() >= until) return;
      stop_cv_.wait_until(lk, until);  // not cv_: every publish() notifies that
    }
  }

  /// True when done with `w` (written, or no longer worth writing). False
  /// with the connection closed on an I/O error, open on a refusal.
  bool write(scripted_connection& c, const pending_change& w, std::string& err) {
    long long ttl = -1;  // never
    if (w.status == key_status::available) {
      ttl = 0;
    } else if (w.until_ms >= 0) {
      ttl = w.until_ms - to_wall_ms(std::chrono::system_clock::now());
      if (ttl <= 0) {
        expired_.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
    }
    const wire_change out{w.provider, w.fingerprint, w.status, w.reason, ttl};
    const std::string key = state_key(w.provider, w.fingerprint);
    const std::string body = out.body();
    const std::string msg = instance_id_ + "|" + body;
    const std::string ttl_s = std::to_string(ttl);
    auto r = c.eval(c.write_sha, write_script, {"1", key, status_name(w.status), body, ttl_s, channel_, msg}, err);
    if (!r) return false;
    if (r->type == REDIS_REPLY_ERROR) {
      // A server-side refusal (e.g. OOM, read-only replica) is worth retrying too.
      err = "write script: " + std::string(reply_text(r.get()));
      return false;
    }
    written_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // ---- subscriber thread ---------------------------------------------------

  void subscriber_loop() {
    redis_connection sub;
    std::chrono::milliseconds backoff{};
    bool ever = false;
    std::string err;
    auto last_rx = std::chrono::steady_clock::now();
    bool ping_sent = false;
    for (;;) {
      {
        std::lock_guard g(mu_);
        if (stopping_) break;
      }
      if (!sub.ok()) {
        subscribed_.store(false, std::memory_order_release);
        if (!connect_subscriber(sub, err)) {
          set_error(err);
          backoff = next_backoff(backoff);
          if (sleep_or_stop(stop_cv_, backoff)) break;
          continue;
        }
        if (ever) reconnects_.fetch_add(1, std::memory_order_relaxed);
        ever = true;
        backoff = {};
        // Changes made while we were away: reload everything.
        want_sync_.fetch_add(1, std::memory_order_acq_rel);
        subscribed_.store(true, std::memory_order_release);
        last_rx = std::chrono::steady_clock::now();
        ping_sent = false;
      }
      if (const auto gen = want_sync_.load(std::memory_order_acquire);
          gen != done_sync_.load(std::memory_order_acquire)) {
        if (load_all(err)) {
          done_sync_.store(gen, std::memory_order_release);
        } else {
          set_error(err);
          if (sleep_or_stop(stop_cv_, opts_.backoff_min)) break;
        }
      }
      // Drain what hiredis already buffered before waiting on the socket.
      if (!drain(sub, err)) {
        set_error(err);
        sub.close();
        continue;
      }
      pollfd fds[2] = {{sub.fd(), POLLIN, 0}, {wake_[0], POLLIN, 0}};
      const int n = ::poll(fds, 2, static_cast<int>(std::max<long long>(opts_.ping_interval.count() / 4, 10)));
      if (n > 0 && (fds[1].revents & POLLIN)) {
        char buf[64];
        while (::read(wake_[0], buf, sizeof buf) > 0) {
        }
      }
      if (n > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        if (redisBufferRead(sub.get()) != REDIS_OK) {
          set_error(sub.get()->errstr[0] ? sub.get()->errstr : "subscriber connection lost");
          sub.close();
          continue;
        }
        last_rx = std::chrono::steady_clock::now();
        ping_sent = false;
        continue;
      }
      const auto idle = std::chrono::steady_clock::now() - last_rx;
      if (ping_sent && idle > 2 * opts_.ping_interval + opts_.command_timeout) {
        set_error("subscriber: no answer to PING");
        sub.close();
      } else if (!ping_sent && idle > opts_.ping_interval) {
        ping_sent = send_ping(sub);
        if (!ping_sent) sub.close();
      }
    }
    subscribed_.store(false, std::memory_order_release);
  }

  bool connect_subscriber(redis_connection& sub, std::string& err) {
    if (!sub.open(ep_, err)) return false;
    auto r = sub.command({"SUBSCRIBE", channel_}, err);
    if (!r) return false;
    if (r->type != REDIS_REPLY_ARRAY) {
      err = "SUBSCRIBE: " + std::string(reply_text(r.get()));
      sub.close();
      return false;
    }
    return true;
  }

  static bool send_ping(redis_connection& sub) {
    if (redisAppendCommand(sub.get(), "PING") != REDIS_OK) return false;
    int done = 0;
    while (!done)
      if (redisBufferWrite(sub.get(), &done) != REDIS_OK) return false;
    return true;
  }

  /// Handles every complete reply hiredis holds; false on a protocol error.
  bool drain(redis_connection& sub, std::string& err) {
    for (;;) {
      void* raw = nullptr;
      if (redisGetReplyFromReader(sub.get(), &raw) != REDIS_OK) {
        err = sub.get()->errstr;
        return false;
      }
      if (!raw) return true;
      reply_ptr r(static_cast<redisReply*>(raw));
      if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && reply_text(r->element[0]) == "message")
        on_message(reply_text(r->element[2]));
    }
  }

  void on_message(std::string_view msg) {
    const auto bar = msg.find('|');
    if (bar == std::string_view::npos) {
      malformed_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (msg.substr(0, bar) == instance_id_) {
      own_ignored_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    auto c = wire_change::parse(msg.substr(bar + 1), to_wall_ms(std::chrono::system_clock::now()));
    if (!c) {
      malformed_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    received_.fetch_add(1, std::memory_order_relaxed);
    dispatch(*c);
  }

  void dispatch(const wire_change& c) {
    if (c.status == key_status::probing) return;
    std::optional<std::chrono::milliseconds> left;
    if (c.ttl_ms >= 0) left = std::chrono::milliseconds(c.ttl_ms);
    std::lock_guard g(registry_mu_);
    for (auto& h : handlers_) {
      if (h.provider != c.provider) continue;
      try {
        if (h.fn(c.fingerprint, c.status, c.reason, left)) applied_.fetch_add(1, std::memory_order_relaxed);
      } catch (...) {
        // A handler that throws must not take the subscriber down.
      }
    }
  }

  /// Applies every lockout stored in Redis (SCAN, then GET + PTTL of each
  /// key pipelined, on a short-lived connection; the subscription keeps
  /// buffering meanwhile). The time left is the key's PTTL, by the server's
  /// clock alone, so a skewed writer or reader cannot stretch or erase it.
  bool load_all(std::string& err) {
    {
      std::lock_guard g(registry_mu_);
      if (handlers_.empty()) return true;  // nobody to tell; attach() asks again
    }
    redis_connection q;
    if (!q.open(ep_, err)) return false;
    const std::string pattern = prefix_ + "state:*";
    std::string cursor = "0";
    do {
      auto r = q.command({"SCAN", cursor, "MATCH", pattern, "COUNT", "500"}, err);
      if (!r) return false;
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
        err = "SCAN: unexpected reply";
        return false;
      }
      cursor = std::string(reply_text(r->element[0]));
      const redisReply* keys = r->element[1];
      if (keys->elements == 0) continue;
      std::vector<std::vector<std::string_view>> cmds;
      cmds.reserve(2 * keys->elements);
      for (std::size_t i = 0; i < keys->elements; ++i) {
        cmds.push_back({"GET", reply_text(keys->element[i])});
        cmds.push_back({"PTTL", reply_text(keys->element[i])});
      }
      const auto replies = q.pipeline(cmds, err);
      if (replies.empty()) return false;
      const auto now_ms = to_wall_ms(std::chrono::system_clock::now());
      for (std::size_t i = 0; i + 1 < replies.size(); i += 2) {
        const redisReply* val = replies[i].get();
        const redisReply* pttl = replies[i + 1].get();
        // Expired between SCAN and GET, or between GET and PTTL (-2).
        if (val->type != REDIS_REPLY_STRING || pttl->type != REDIS_REPLY_INTEGER || pttl->integer == -2 ||
            pttl->integer == 0)
          continue;
        auto c = wire_change::parse(reply_text(val), now_ms);
        if (!c) {
          malformed_.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        c->ttl_ms = pttl->integer < 0 ? -1 : pttl->integer;
        loaded_.fetch_add(1, std::memory_order_relaxed);
        dispatch(*c);
      }
    } while (cursor != "0");
    return true;
  }

  redis_options opts_;
  redis_endpoint ep_;
  std::string prefix_, channel_, instance_id_;
  int wake_[2] = {-1, -1};

  // Queue and lifecycle; never held across I/O.
  mutable std::mutex mu_;
  std::condition_variable cv_, stop_cv_, idle_cv_;
  std::deque<pending_change> queue_;
  bool in_flight_ = false;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point flush_deadline_{};

  // Attached pools; held while a handler runs so detach() waits for it.
  std::mutex registry_mu_;
  std::vector<handler_entry> handlers_;
  std::uint64_t next_attachment_ = 0;

  // Budget calls run on the caller's thread over their own connection.
  std::mutex budget_mu_;
  scripted_connection budget_conn_;
  std::chrono::steady_clock::time_point budget_retry_at_{};
  std::chrono::milliseconds budget_backoff_{};

  mutable std::mutex error_mu_;
  std::string last_error_;

  std::atomic<bool> writer_up_{false}, subscribed_{false};
  /// ready() once done_sync_ catches up with want_sync_ (bumped by every
  /// (re)connect and attach; the subscriber reloads stored state for it).
  std::atomic<std::uint64_t> want_sync_{0}, done_sync_{0};
  std::atomic<std::uint64_t> published_{0}, written_{0}, expired_{0}, dropped_{0}, write_retries_{0}, reconnects_{0},
      received_{0}, applied_{0}, own_ignored_{0}, malformed_{0}, loaded_{0}, budget_unavailable_{0};

  std::mutex join_mu_;
  std::thread writer_, subscriber_;  // last: started after everything above exists
};

}  // namespace detail

/// The Redis state backend. A cheap, copyable handle; see the file comment.
///
/// Thread safety and progress, per operation:
///  - publish(): any thread; takes a mutex held only for an O(1) queue push
///    (never across I/O, never waits for Redis); not lock-free, but bounded.
///  - attach()/detach: any thread; blocking (waits for a remote change being
///    applied at that moment).
///  - take_daily()/reserve_daily()/daily_used(): any thread; noexcept;
///    blocking: one Redis round trip (at most command_timeout) under a mutex
///    shared by all callers of this backend, plus, at most once per backoff
///    period, a reconnect (connect_timeout + 2 × command_timeout); answer
///    `unavailable` at once while Redis is down and the backoff runs.
///  - status(), ready(): any thread; wait-free except a short mutex for the
///    queue length and the last error.
///  - flush(), wait_ready(): blocking, bounded by their timeout.
class redis {
 public:
  /// An inert handle (publish() does nothing, status().configured is false),
  /// so pool options can be default-constructed. Use the other constructor.
  redis() noexcept = default;

  /// Starts the writer and subscriber threads; does not wait for Redis (it
  /// may be down: the backend connects by itself). Throws
  /// std::invalid_argument for a bad name_space or queue_capacity.
  explicit redis(redis_options opts) : impl_(std::make_shared<detail::redis_impl>(std::move(opts))) {}

  /// Queues the change for the writer thread. Never blocks on Redis.
  void publish(const state_change& c) noexcept {
    if (impl_) impl_->enqueue(c);
  }

  /// Unregisters a pool (or handler) when destroyed. Move-only.
  class attachment {
   public:
    attachment() = default;
    attachment(attachment&& o) noexcept : impl_(std::move(o.impl_)), id_(std::exchange(o.id_, 0)) {}
    attachment& operator=(attachment&& o) noexcept {
      if (this != &o) {
        detach();
        impl_ = std::move(o.impl_);
        id_ = std::exchange(o.id_, 0);
      }
      return *this;
    }
    ~attachment() { detach(); }
    /// After this returns no change is being applied to the pool, nor will be.
    void detach() noexcept {
      if (auto p = impl_.lock(); p && id_) p->detach(id_);
      impl_.reset();
      id_ = 0;
    }

   private:
    friend class redis;
    attachment(std::weak_ptr<detail::redis_impl> p, std::uint64_t id) : impl_(std::move(p)), id_(id) {}
    std::weak_ptr<detail::redis_impl> impl_;
    std::uint64_t id_ = 0;
  };

  /// Feeds other instances' changes for pool.provider().id into
  /// pool.apply_remote(), starting with those already stored in Redis. Keep
  /// the attachment alive no longer than the pool.
  template <class Pool>
  requires requires(Pool& p, std::string_view fp, key_status s, outcome_kind r,
                    std::chrono::system_clock::time_point u) {
    { p.apply_remote(fp, s, r, u) } -> std::convertible_to<bool>;
    p.provider().id;
  }
  [[nodiscard]] attachment attach(Pool& pool) {
    if (!impl_) return {};
    // A change arrives with the time it has left; the end is reckoned from
    // the pool's own wall clock, the one apply_remote() measures it with.
    auto fn = [&pool](std::string_view fp, key_status s, outcome_kind r,
                      std::optional<std::chrono::milliseconds> left) {
      auto until = std::chrono::system_clock::time_point::max();
      if (left) {
        if constexpr (requires(const Pool& p) { p.clock().wall_now(); })
          until = pool.clock().wall_now() + *left;
        else
          until = std::chrono::system_clock::now() + *left;
      }
      return pool.apply_remote(fp, s, r, until);
    };
    return attachment(impl_, impl_->attach(pool.provider().id, std::move(fn)));
  }

  /// Any handler for one provider id (e.g. to log or measure remote changes).
  /// It runs on the subscriber thread: keep it short, and do not let it own
  /// a copy of this handle. `until` is this host's wall clock now plus the
  /// time the change had left when written (time_point::max(): never).
  [[nodiscard]] attachment attach(std::string provider_id, remote_handler h) {
    if (!impl_) return {};
    auto fn = [h = std::move(h)](std::string_view fp, key_status s, outcome_kind r,
                                 std::optional<std::chrono::milliseconds> left) {
      return h(fp, s, r,
               left ? std::chrono::system_clock::now() + *left : std::chrono::system_clock::time_point::max());
    };
    return attachment(impl_, impl_->attach(std::move(provider_id), std::move(fn)));
  }

  /// Counts one request against a fleet-wide daily budget of `limit`,
  /// exactly (an atomic script: never more than `limit` grants per day, no
  /// matter how many instances ask). `day` is the provider's day
  /// (`provider_day::at(now, provider.day_boundary_utc)`); the counter expires
  /// when it ends. A day already over by Redis's clock (this host's clock runs
  /// behind) is answered `exhausted`, as nothing can be counted for it any
  /// more.
  budget_verdict take_daily(std::string_view provider_id, std::string_view fingerprint, const provider_day& day,
                            std::uint32_t limit) noexcept {
    bool available = false;
    const auto got = reserve(provider_id, fingerprint, day, limit, 1, available);
    if (!available) return budget_verdict::unavailable;
    return got ? budget_verdict::granted : budget_verdict::exhausted;
  }

  /// Takes up to `want` units at once (0 when spent), for callers that count
  /// locally in batches to save round trips; empty when Redis is unreachable.
  std::optional<std::uint32_t> reserve_daily(std::string_view provider_id, std::string_view fingerprint,
                                             const provider_day& day, std::uint32_t limit,
                                             std::uint32_t want) noexcept {
    bool available = false;
    const auto got = reserve(provider_id, fingerprint, day, limit, want, available);
    if (!available) return std::nullopt;
    return got;
  }

  /// Units of that day's budget granted so far; empty when Redis is unreachable.
  std::optional<std::uint64_t> daily_used(std::string_view provider_id, std::string_view fingerprint,
                                          const provider_day& day) noexcept {
    if (!impl_) return std::nullopt;
    try {
      return impl_->daily_used(provider_id, fingerprint, day.index);
    } catch (...) {
      return std::nullopt;
    }
  }

  redis_status status() const { return impl_ ? impl_->status() : redis_status{}; }

  /// Connected, subscribed and the stored lockouts loaded.
  bool ready() const noexcept { return impl_ && impl_->ready(); }

  /// Waits until ready(); false on timeout.
  bool wait_ready(std::chrono::milliseconds timeout) const {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!ready()) {
      if (!impl_ || std::chrono::steady_clock::now() >= end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  /// Waits until every queued change is written; false on timeout.
  bool flush(std::chrono::milliseconds timeout) { return impl_ && impl_->flush(timeout); }

  /// Stops and joins the threads now (for every handle). Later publish()
  /// calls are counted as dropped.
  void shutdown() noexcept {
    if (impl_) impl_->stop();
  }

  /// This process's id in published messages (own messages are ignored).
  std::string instance_id() const { return impl_ ? impl_->instance_id() : std::string(); }
  /// The Redis key holding a key's lockout / disable.
  std::string state_key(std::string_view provider_id, std::string_view fingerprint) const {
    return impl_ ? impl_->state_key(provider_id, fingerprint) : std::string();
  }
  /// The Redis key counting a key's daily budget.
  std::string daily_key(std::string_view provider_id, std::string_view fingerprint, const provider_day& day) const {
    return impl_ ? impl_->daily_key(provider_id, fingerprint, day.index) : std::string();
  }
  /// The pub/sub channel of this namespace.
  std::string channel() const { return impl_ ? impl_->channel() : std::string(); }

 private:
  std::uint32_t reserve(std::string_view provider_id, std::string_view fp, const provider_day& day, std::uint32_t limit,
                        std::uint32_t want, bool& available) noexcept {
    available = false;
    if (!impl_) return 0;
    std::uint32_t got = 0;
    try {
      got = impl_->reserve_daily(provider_id, fp, day, limit, want, available);
    } catch (...) {  // bad_alloc: answer "unavailable", never throw into a picker
      available = false;
    }
    if (!available) impl_->count_budget_unavailable();
    return got;
  }

  std::shared_ptr<detail::redis_impl> impl_;
};

static_assert(state_backend<redis>);

}  // namespace keypool::state
