#pragma once
/// HTTP/1.1 keep-alive connections kept per (scheme, host, port), with a cap on
/// the connections open to one host. Reusing a connection saves the TCP and
/// TLS handshakes (one to three round trips): most of a short request's cost.
///
/// Thread safety: every member function may be called from any thread (one
/// mutex, held only for list operations, never across I/O). acquire() waits
/// on a timer of the calling coroutine's executor; that executor should be a
/// strand or single-threaded (the transport's always is).

#include <keypool/http/error.hpp>
#include <keypool/http/url.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <variant>

namespace keypool::http {

namespace asio = boost::asio;
namespace beast = boost::beast;

/// Connections are only ever shared between requests to the same origin.
struct host_key {
  http::scheme scheme = http::scheme::https;
  std::string host;
  std::uint16_t port = 443;

  std::string to_string() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  }
  friend bool operator==(const host_key&, const host_key&) = default;
};

struct host_key_hash {
  std::size_t operator()(const host_key& k) const noexcept {
    return std::hash<std::string>{}(k.host) ^ (std::size_t{k.port} << 1) ^ static_cast<std::size_t>(k.scheme);
  }
};

/// One open connection, plain or TLS, with its read buffer (bytes read past a
/// response belong to the next one on this connection).
class connection {
 public:
  using plain_stream = beast::tcp_stream;
  using tls_stream = beast::ssl_stream<beast::tcp_stream>;
  using clock = std::chrono::steady_clock;

  /// `tls`: null for plain http. The context must outlive the connection.
  connection(host_key key, const asio::any_io_executor& ex, asio::ssl::context* tls, std::uint64_t id)
      : key_(std::move(key)), stream_(make(ex, tls)), id_(id) {}

  const host_key& key() const noexcept { return key_; }
  bool is_tls() const noexcept { return stream_.index() == 1; }
  /// The TCP layer: expiry (deadlines) and the socket.
  beast::tcp_stream& tcp() noexcept {
    return stream_.index() == 0 ? std::get<0>(stream_) : std::get<1>(stream_).next_layer();
  }
  tls_stream* tls() noexcept { return std::get_if<1>(&stream_); }
  /// Calls f with what a request's bytes go through: the TLS stream, or for
  /// plain http the socket itself (tcp_stream's per-operation timer and
  /// rate-limit bookkeeping would only cost: the transport's deadline_watch
  /// keeps the deadlines and closes the socket).
  template <class F>
  decltype(auto) visit_io(F&& f) {
    if (auto* t = tls()) return std::forward<F>(f)(*t);
    return std::forward<F>(f)(std::get<0>(stream_).socket());
  }
  beast::flat_buffer& buffer() noexcept { return buffer_; }
  std::uint64_t id() const noexcept { return id_; }
  /// Requests completed on this connection (0 while the first is in flight).
  unsigned requests() const noexcept { return requests_; }
  void count_request() noexcept { ++requests_; }
  clock::time_point idle_since() const noexcept { return idle_since_; }
  void mark_idle() noexcept { idle_since_ = clock::now(); }
  /// Closes the socket without a TLS close_notify: the peer learns from the
  /// TCP FIN, and a client never waits on a goodbye.
  void close() noexcept {
    boost::system::error_code ec;
    tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    tcp().socket().close(ec);
  }

 private:
  using variant_type = std::variant<plain_stream, tls_stream>;
  static variant_type make(const asio::any_io_executor& ex, asio::ssl::context* tls) {
    if (tls) return variant_type(std::in_place_index<1>, ex, *tls);
    return variant_type(std::in_place_index<0>, ex);
  }
  host_key key_;
  variant_type stream_;
  beast::flat_buffer buffer_;
  std::uint64_t id_;
  unsigned requests_ = 0;
  clock::time_point idle_since_{};
};

using connection_ptr = std::unique_ptr<connection>;

struct pool_options {
  /// Open connections (busy + idle) to one host; a request beyond it waits
  /// for one to be released, up to its deadline. Providers throttle per key
  /// anyway; more parallel sockets mostly add TLS handshakes.
  std::size_t max_connections_per_host = 32;
  /// Idle connections kept per host for reuse.
  std::size_t max_idle_per_host = 32;
  /// Idle connections older than this are closed instead of reused: servers
  /// drop idle keep-alive connections (nginx: 75 s, many APIs: 60 s or less)
  /// and reusing one the server is closing costs a failed attempt.
  std::chrono::milliseconds idle_timeout{30'000};
};

/// Counters for tests and statistics. Relaxed atomics: approximate while
/// requests run, exact once they stop.
struct pool_stats {
  std::uint64_t opened = 0;  ///< connections opened (TCP + TLS handshakes done)
  std::uint64_t reused = 0;  ///< acquisitions served by an idle connection
  std::uint64_t waited = 0;  ///< acquisitions that had to wait for the cap
  std::size_t idle = 0;      ///< idle connections now
  std::size_t open = 0;      ///< open connections now (busy + idle)
};

class connection_pool {
 public:
  using clock = std::chrono::steady_clock;

  explicit connection_pool(pool_options opts = {}) : opts_(opts) {
    if (opts_.max_connections_per_host == 0) opts_.max_connections_per_host = 1;
    if (opts_.max_idle_per_host > opts_.max_connections_per_host)
      opts_.max_idle_per_host = opts_.max_connections_per_host;
  }
  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  const pool_options& options() const noexcept { return opts_; }

  /// An idle connection to `key`, or null meaning "a slot is reserved for
  /// you: open a connection, then release() it or forfeit() the slot".
  /// Waits (asynchronously) while the host is at its cap; errc::pool_exhausted
  /// when `deadline` passes first.
  asio::awaitable<result<connection_ptr>> acquire(host_key key, clock::time_point deadline) {
    const auto ex = co_await asio::this_coro::executor;  // before the lock: no co_await under it
    std::shared_ptr<waiter> w;
    connection_ptr found;
    bool reserved = false;
    {
      std::lock_guard lock(mu_);
      auto& h = hosts_[key];
      found = take_idle_locked(h);
      if (!found && h.open < opts_.max_connections_per_host) {
        ++h.open;
        reserved = true;
      } else if (!found) {
        w = std::make_shared<waiter>(ex);
        w->timer.expires_at(deadline);
        h.waiters.push_back(w);
        waited_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    if (found || reserved) co_return std::move(found);
    boost::system::error_code ec;
    co_await w->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    std::lock_guard lock(mu_);
    if (w->granted) co_return std::move(w->handed);
    auto& ws = hosts_[key].waiters;
    for (auto it = ws.begin(); it != ws.end(); ++it)
      if (*it == w) {
        ws.erase(it);
        break;
      }
    co_return ::keypool::unexpected<error>{{errc::pool_exhausted,
                                            "pool_exhausted: no connection to " + key.to_string() +
                                                " freed up before the deadline (cap " +
                                                std::to_string(opts_.max_connections_per_host) + " per host)",
                                            {}}};
  }

  /// Returns a connection after a request. `reusable`: the exchange completed
  /// and both sides allow keep-alive; otherwise it is closed.
  void release(connection_ptr c, bool reusable) {
    std::lock_guard lock(mu_);
    auto& h = hosts_[c->key()];
    if (!h.waiters.empty()) {
      auto w = std::move(h.waiters.front());
      h.waiters.pop_front();
      w->granted = true;
      if (reusable) {
        reused_.fetch_add(1, std::memory_order_relaxed);
        w->handed = std::move(c);
      } else {
        c->close();  // its slot passes to the waiter
      }
      wake(std::move(w));
      return;
    }
    if (reusable && h.idle.size() < opts_.max_idle_per_host) {
      c->mark_idle();
      h.idle.push_back(std::move(c));
      return;
    }
    c->close();
    --h.open;
  }

  /// Gives back a slot reserved by acquire() whose connection could not be
  /// opened.
  void forfeit(const host_key& key) {
    std::lock_guard lock(mu_);
    auto& h = hosts_[key];
    if (!h.waiters.empty()) {
      auto w = std::move(h.waiters.front());
      h.waiters.pop_front();
      w->granted = true;
      wake(std::move(w));
      return;
    }
    --h.open;
  }

  /// Counts a connection opened in a reserved slot.
  void note_opened() noexcept { opened_.fetch_add(1, std::memory_order_relaxed); }

  /// A fresh id for a new connection (error messages, tests).
  std::uint64_t next_id() noexcept { return next_id_.fetch_add(1, std::memory_order_relaxed) + 1; }

  /// Closes every idle connection (e.g. after the network changed).
  void close_idle() {
    std::lock_guard lock(mu_);
    for (auto& [k, h] : hosts_) {
      for (auto& c : h.idle) c->close();
      h.open -= h.idle.size();
      h.idle.clear();
    }
  }

  pool_stats stats() const {
    pool_stats s;
    s.opened = opened_.load(std::memory_order_relaxed);
    s.reused = reused_.load(std::memory_order_relaxed);
    s.waited = waited_.load(std::memory_order_relaxed);
    std::lock_guard lock(mu_);
    for (const auto& [k, h] : hosts_) {
      s.idle += h.idle.size();
      s.open += h.open;
    }
    return s;
  }

 private:
  struct waiter {
    explicit waiter(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    connection_ptr handed;  ///< an idle connection passed on, or null: open one
    bool granted = false;   ///< guarded by mu_
  };
  struct host_state {
    std::deque<connection_ptr> idle;  ///< most recently used at the back
    std::size_t open = 0;
    std::deque<std::shared_ptr<waiter>> waiters;
  };

  connection_ptr take_idle_locked(host_state& h) {
    const auto now = clock::now();
    while (!h.idle.empty()) {
      auto c = std::move(h.idle.back());
      h.idle.pop_back();
      // Compared in milliseconds: idle_timeout may be milliseconds::max().
      if (std::chrono::duration_cast<std::chrono::milliseconds>(now - c->idle_since()) <= opts_.idle_timeout) {
        reused_.fetch_add(1, std::memory_order_relaxed);
        return c;
      }
      c->close();
      --h.open;
    }
    return nullptr;
  }

  /// Wakes a waiter on its own executor (a timer is not safe to touch from
  /// another thread while its wait may be completing).
  static void wake(std::shared_ptr<waiter> w) {
    auto ex = w->timer.get_executor();
    asio::post(ex, [w = std::move(w)] { w->timer.cancel(); });
  }

  pool_options opts_;
  mutable std::mutex mu_;
  std::unordered_map<host_key, host_state, host_key_hash> hosts_;
  std::atomic<std::uint64_t> opened_{0}, reused_{0}, waited_{0}, next_id_{0};
};

}  // namespace keypool::http
