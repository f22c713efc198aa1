#pragma once
/// A small scripted HTTP/1.1 server on 127.0.0.1 for tests: a handler maps
/// each request to a reply (status, headers, body, delay, raw bytes, close).
/// Plain or TLS (with a certificate from test_certs.hpp). Counts accepted
/// connections so tests can prove keep-alive reuse.
///
/// Runs on its own io_context thread. The handler runs on that thread; the
/// accessors (requests(), connections_accepted()) are safe from any thread.

#include <keypool/http/status_text.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace keypool::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

struct received_request {
  std::string method;
  std::string target;
  bhttp::fields headers;
  std::string body;
  std::uint64_t connection = 0;  ///< 1-based number of the connection it came on

  std::string header(std::string_view name) const {
    const auto it = headers.find(beast::string_view(name.data(), name.size()));
    return it == headers.end() ? std::string{} : std::string(it->value());
  }
};

struct scripted_reply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
  std::string content_type = "application/json";
  std::chrono::milliseconds delay{0};  ///< wait before answering
  std::optional<std::string> raw{};    ///< bytes sent verbatim instead of a response
  bool close = false;                  ///< close the connection after this reply
  /// Sent as a chunked body, one chunk per piece, `chunk_delay` apart
  /// (streaming); `body` is ignored then.
  std::vector<std::string> chunks{};
  std::chrono::milliseconds chunk_delay{0};
  /// With chunks: stop after this many pieces and close the connection
  /// without the final chunk (a stream cut short).
  std::optional<std::size_t> cut_after{};

  static scripted_reply json(std::string body, unsigned status = 200) {
    scripted_reply r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
};

using handler_fn = std::function<scripted_reply(const received_request&)>;

struct server_options {
  /// Serve TLS with this certificate chain and key (PEM).
  std::optional<std::pair<std::string, std::string>> tls{};
  /// Accept connections but never read from them (TLS handshake and
  /// response deadlines).
  bool stall = false;
  /// Act as an HTTP proxy for CONNECT: the handler sees the CONNECT request
  /// (a non-2xx reply refuses it); on 2xx the tunnel goes to 127.0.0.1 at the
  /// requested port, whatever the requested host (no DNS in tests).
  bool connect_proxy = false;
};

class test_server {
 public:
  explicit test_server(handler_fn handler, server_options opts = {})
      : handler_(std::move(handler)), opts_(std::move(opts)), ioc_(1), acceptor_(ioc_) {
    if (opts_.tls) {
      tls_.emplace(asio::ssl::context::tls_server);
      tls_->use_certificate_chain(asio::buffer(opts_.tls->first));
      tls_->use_private_key(asio::buffer(opts_.tls->second), asio::ssl::context::pem);
    }
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  test_server(const test_server&) = delete;
  test_server& operator=(const test_server&) = delete;
  ~test_server() {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  std::uint16_t port() const noexcept { return port_; }
  /// "http://127.0.0.1:PORT" or "https://localhost:PORT" (TLS tests verify
  /// the name localhost).
  std::string base_url() const {
    return opts_.tls ? "https://localhost:" + std::to_string(port_) : "http://127.0.0.1:" + std::to_string(port_);
  }
  std::uint64_t connections_accepted() const noexcept { return accepted_.load(); }
  std::vector<received_request> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      auto sock = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      const auto id = accepted_.fetch_add(1) + 1;
      asio::co_spawn(ioc_, session(std::move(sock), id), asio::detached);
    }
  }

  asio::awaitable<void> session(asio::ip::tcp::socket sock, std::uint64_t id) {
    boost::system::error_code ec;
    if (opts_.stall) {
      asio::steady_timer t(ioc_, std::chrono::hours(1));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      co_return;
    }
    if (tls_) {
      beast::ssl_stream<beast::tcp_stream> s(beast::tcp_stream(std::move(sock)), *tls_);
      co_await s.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;  // the client rejected our certificate: expected in TLS tests
      co_await serve(s, id);
    } else {
      beast::tcp_stream s(std::move(sock));
      co_await serve(s, id);
    }
  }

  template <class Stream>
  asio::awaitable<void> serve(Stream& stream, std::uint64_t id) {
    beast::flat_buffer buf;
    for (;;) {
      boost::system::error_code ec;
      bhttp::request<bhttp::string_body> req;
      co_await bhttp::async_read(stream, buf, req, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
        if (opts_.connect_proxy && req.method() == bhttp::verb::connect) {
          co_await tunnel(stream, req, id);
          co_return;
        }
      }
      received_request rec{std::string(req.method_string()), std::string(req.target()),
                           static_cast<const bhttp::fields&>(req), req.body(), id};
      scripted_reply reply;
      try {
        reply = handler_(rec);
      } catch (const std::exception& e) {
        reply = scripted_reply::json(std::string("{\"error\":{\"message\":\"test handler threw: ") + e.what() + "\"}}",
                                     500);
      }
      {
        std::lock_guard lock(mu_);
        requests_.push_back(std::move(rec));
      }
      if (reply.delay.count() > 0) {
        asio::steady_timer t(ioc_, reply.delay);
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      if (!reply.chunks.empty()) {
        const bool ok = co_await send_chunked(stream, reply);
        if (!ok || reply.close || reply.cut_after) break;
        continue;
      }
      if (reply.raw) {
        co_await asio::async_write(stream, asio::buffer(*reply.raw), asio::redirect_error(asio::use_awaitable, ec));
        if (ec || reply.close) break;
        continue;
      }
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(reply.status), 11};
      res.set(bhttp::field::server, "keypool-test");
      if (!reply.content_type.empty()) res.set(bhttp::field::content_type, reply.content_type);
      for (const auto& [n, v] : reply.headers) res.insert(n, v);
      res.body() = std::move(reply.body);
      res.keep_alive(req.keep_alive() && !reply.close);
      res.prepare_payload();
      co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream).socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  }

  template <class Stream>
  asio::awaitable<bool> send_chunked(Stream& stream, const scripted_reply& reply) {
    boost::system::error_code ec;
    std::string head =
        "HTTP/1.1 " + std::to_string(reply.status) + " " + std::string(http::status_text(reply.status)) + "\r\n";
    if (!reply.content_type.empty()) head += "Content-Type: " + reply.content_type + "\r\n";
    for (const auto& [n, v] : reply.headers) head += n + ": " + v + "\r\n";
    head += "Transfer-Encoding: chunked\r\n\r\n";
    co_await asio::async_write(stream, asio::buffer(head), asio::redirect_error(asio::use_awaitable, ec));
    for (std::size_t i = 0; i < reply.chunks.size() && !ec; ++i) {
      if (reply.cut_after && i == *reply.cut_after) co_return false;
      if (i > 0 && reply.chunk_delay.count() > 0) {
        asio::steady_timer t(ioc_, reply.chunk_delay);
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", reply.chunks[i].size());
      const std::string piece = size + reply.chunks[i] + "\r\n";
      co_await asio::async_write(stream, asio::buffer(piece), asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) co_return false;
    static constexpr std::string_view last = "0\r\n\r\n";
    co_await asio::async_write(stream, asio::buffer(last.data(), last.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    co_return !ec;
  }

  static asio::awaitable<void> pipe(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to) {
    std::array<char, 16384> buf;
    boost::system::error_code ec;
    for (;;) {
      const auto n = co_await from.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      co_await asio::async_write(to, asio::buffer(buf.data(), n), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    to.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  }

  asio::awaitable<void> tunnel(beast::tcp_stream& client, bhttp::request<bhttp::string_body>& req, std::uint64_t id) {
    received_request rec{"CONNECT", std::string(req.target()), static_cast<const bhttp::fields&>(req), {}, id};
    scripted_reply reply = handler_(rec);
    {
      std::lock_guard lock(mu_);
      requests_.push_back(rec);
    }
    boost::system::error_code ec;
    if (reply.status / 100 != 2) {
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(reply.status), 11};
      res.keep_alive(false);
      res.prepare_payload();
      co_await bhttp::async_write(client, res, asio::redirect_error(asio::use_awaitable, ec));
      co_return;
    }
    const auto colon = rec.target.rfind(':');
    const auto port = static_cast<std::uint16_t>(std::stoi(rec.target.substr(colon + 1)));
    asio::ip::tcp::socket upstream(ioc_);
    co_await upstream.async_connect({asio::ip::make_address("127.0.0.1"), port},
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    static constexpr std::string_view ok = "HTTP/1.1 200 Connection established\r\n\r\n";
    co_await asio::async_write(client.socket(), asio::buffer(ok.data(), ok.size()),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    using namespace asio::experimental::awaitable_operators;
    co_await (pipe(client.socket(), upstream) && pipe(upstream, client.socket()));
  }

  handler_fn handler_;
  server_options opts_;
  std::optional<asio::ssl::context> tls_;  // before ioc_: outlives the sessions' streams
  asio::io_context ioc_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<std::uint64_t> accepted_{0};
  mutable std::mutex mu_;
  std::vector<received_request> requests_;
};

}  // namespace keypool::test
