#pragma once
/// One caller's connection: HTTP/1.1 keep-alive, requests read under the
/// limits (head size 431, body size 413, head and body timeouts, the idle
/// timeout between requests, requests in flight 503), each answered by the
/// router and reported to the hook. Runs on the gateway's serial executor.

#include <keypool/serve/detail/answer.hpp>
#include <keypool/serve/detail/conn_stream.hpp>
#include <keypool/serve/detail/core.hpp>
#include <keypool/serve/detail/router.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace keypool::serve::detail {

/// A connection in core::connections from its coroutine's start to its end
/// (also when the io_context destroys the coroutine).
template <class Chain>
class registration {
 public:
  registration(core<Chain>& c, conn_stream& s) : c_(c) {
    if (c_.stopping) return;
    id_ = ++c_.next_connection;
    c_.connections.emplace(id_, live_connection{&s, false});
    c_.live.store(c_.connections.size(), std::memory_order_relaxed);
  }
  registration(const registration&) = delete;
  registration& operator=(const registration&) = delete;
  ~registration() {
    if (id_ == 0) return;
    c_.connections.erase(id_);
    c_.live.store(c_.connections.size(), std::memory_order_relaxed);
  }
  bool live() const noexcept { return id_ != 0; }
  void busy(bool b) {
    if (const auto it = c_.connections.find(id_); it != c_.connections.end()) it->second.busy = b;
  }

 private:
  core<Chain>& c_;
  std::uint64_t id_ = 0;
};

/// Counts a request in flight for as long as it lives.
struct in_flight_guard {
  explicit in_flight_guard(std::atomic<std::size_t>& n) noexcept : n_(n) { n_.fetch_add(1, std::memory_order_relaxed); }
  in_flight_guard(const in_flight_guard&) = delete;
  in_flight_guard& operator=(const in_flight_guard&) = delete;
  ~in_flight_guard() { n_.fetch_sub(1, std::memory_order_relaxed); }
  std::atomic<std::size_t>& n_;
};

template <class Chain>
class session {
 public:
  using clock = std::chrono::steady_clock;
  using parser_type = boost::beast::http::request_parser<boost::beast::http::string_body>;

  session(std::shared_ptr<core<Chain>> c, boost::asio::ip::tcp::socket sock)
      : c_(std::move(c)), s_(std::move(sock), c_->tls.get()) {}

  boost::asio::awaitable<void> run();

 private:
  boost::asio::awaitable<bool> handshake();
  boost::asio::awaitable<bool> wait_for_request(bool first);
  boost::asio::awaitable<bool> serve_one(registration<Chain>& reg);
  boost::asio::awaitable<void> refuse(answer a, std::string_view method, std::string_view path,
                                      clock::time_point start);
  answer too_large(bool body) const;
  boost::asio::awaitable<bool> write(answer& a, unsigned version, bool keep_alive);
  void report(const answer& a, std::string_view method, std::string_view path, clock::time_point start);

  std::shared_ptr<core<Chain>> c_;  ///< keeps the shared state alive as long as the connection
  conn_stream s_;
  boost::beast::flat_buffer buf_;
  std::optional<parser_type> parser_;
};

}  // namespace keypool::serve::detail

#include <keypool/serve/impl/session.hpp>
