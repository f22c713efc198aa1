#pragma once
/// The mock fleet's HTTP/1.1 server: Boost.Beast on 127.0.0.1, keep-alive,
/// optional TLS with a generated certificate, an ephemeral port by default,
/// its own io_context run by its own threads. Each request goes to a
/// handler (provider_fleet::handle for the fleet) and the reply is
/// delivered as told: after a delay, cut short, stalled or reset.
///
/// Thread safety: the handler is called concurrently from the I/O threads
/// (one connection's requests in order). port(), base_url(), ca_pem() and
/// connections_accepted() may be called from any thread; stop() from any
/// thread but an I/O thread. stop() closes the listening socket and every
/// live connection (each on its own strand), so clients see EOF at once and
/// new connections are refused.
///
/// Bounded under load: out of file descriptors it waits accept_backoff
/// before the next accept instead of spinning; beyond max_connections a new
/// connection is accepted and closed at once; request bodies buffered across
/// all connections stay within max_buffered (a request that would go over
/// gets 503), and a body over max_body gets 413 before it is read.

#include <keypool/http/status_text.hpp>
#include <keypool/mock/certificate.hpp>
#include <keypool/mock/reply.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

namespace keypool::mock {

struct server_options {
  std::uint16_t port = 0;            ///< 0: an ephemeral port
  bool tls = false;                  ///< HTTPS with a generated certificate (see ca_pem())
  unsigned threads = 2;              ///< I/O threads
  std::size_t max_body = 64u << 20;  ///< larger request bodies get 413
  /// Larger request heads (request line + fields) get 431, as a provider's
  /// front end answers (Cloudflare's limit is about 32 KiB).
  std::size_t max_header = 32u << 10;
  /// An idle keep-alive connection is closed after this (as real APIs do).
  std::chrono::milliseconds idle_timeout{60'000};
  /// Live connections at most; more are accepted and closed at once.
  std::size_t max_connections = 256;
  /// Request bodies buffered at once across all connections at most; a
  /// request whose body would go over gets 503 without being read.
  std::size_t max_buffered = 256u << 20;
  /// The wait before the next accept when the process or system is out of
  /// file descriptors (EMFILE / ENFILE): the pending connection stays in
  /// the backlog, so accepting again at once would spin.
  std::chrono::milliseconds accept_backoff{50};
};

/// One parsed request as the handler sees it.
struct incoming {
  std::string_view method;
  std::string_view target;
  const boost::beast::http::fields& headers;
  std::string_view body;

  std::optional<std::string_view> header(std::string_view name) const {
    const auto it = headers.find(boost::beast::string_view(name.data(), name.size()));
    if (it == headers.end()) return std::nullopt;
    return std::string_view(it->value().data(), it->value().size());
  }
};

using request_handler = std::function<reply(const incoming&)>;

class server {
 public:
  /// Binds 127.0.0.1 and starts serving at once. Throws on bind failure.
  explicit server(request_handler handler, server_options opts = {})
      : handler_(std::move(handler)),
        opts_(opts),
        ioc_(static_cast<int>(std::max(opts.threads, 1u))),
        acceptor_(boost::asio::make_strand(ioc_)) {
    namespace asio = boost::asio;
    if (opts_.tls) {
      cert_ = generate_certificate();
      tls_.emplace(asio::ssl::context::tls_server);
      tls_->use_certificate_chain(asio::buffer(cert_.cert_pem));
      tls_->use_private_key(asio::buffer(cert_.key_pem), asio::ssl::context::pem);
    }
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), opts_.port);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(acceptor_.get_executor(), accept_loop(), asio::detached);
    for (unsigned i = 0; i < std::max(opts_.threads, 1u); ++i) threads_.emplace_back([this] { ioc_.run(); });
  }

  server(const server&) = delete;
  server& operator=(const server&) = delete;
  ~server() { stop(); }

  /// Stops accepting, drops every connection, joins the I/O threads.
  void stop() {
    if (stopped_.exchange(true)) return;
    {
      // The acceptor and each connection are closed on their own strands
      // (never concurrently with their pending operations); the I/O threads
      // still run them. A connection accepted meanwhile sees closing_ and
      // closes itself: the accept loop must have ended (an accept completed
      // just before the close still delivers its socket) and every session
      // it started must have registered (starting_).
      std::unique_lock lock(mu_);
      closing_ = true;
      pending_closes_ = 1 + sessions_.size();
      boost::asio::post(acceptor_.get_executor(), [this] {
        boost::system::error_code ec;
        acceptor_.close(ec);
        close_done();
      });
      for (const auto& [id, s] : sessions_)
        boost::asio::post(s.executor, [this, id = id] {
          close_session(id);
          close_done();
        });
      // Bounded, in case the handler blocks an I/O thread: stopping must not hang.
      cv_.wait_for(lock, std::chrono::seconds(5),
                   [this] { return pending_closes_ == 0 && starting_ == 0 && !accepting_; });
    }
    ioc_.stop();
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

  std::uint16_t port() const noexcept { return port_; }
  bool tls() const noexcept { return opts_.tls; }
  /// "http://127.0.0.1:PORT", or "https://localhost:PORT" (the certificate
  /// names localhost and 127.0.0.1).
  std::string origin() const {
    return opts_.tls ? "https://localhost:" + std::to_string(port_) : "http://127.0.0.1:" + std::to_string(port_);
  }
  /// The CA certificate clients must trust for TLS (empty without TLS).
  const std::string& ca_pem() const noexcept { return cert_.ca_pem; }
  std::uint64_t connections_accepted() const noexcept { return accepted_.load(std::memory_order_relaxed); }
  /// Connections closed at once because max_connections were live.
  std::uint64_t connections_refused() const noexcept { return refused_.load(std::memory_order_relaxed); }
  /// Accepts that failed (out of file descriptors, ...): each one is
  /// followed by accept_backoff, so this stays small while the fds last out.
  std::uint64_t accept_errors() const noexcept { return accept_errors_.load(std::memory_order_relaxed); }
  /// Request body bytes reserved now, and the most ever reserved at once
  /// (never over max_buffered).
  std::size_t buffered_bytes() const noexcept { return buffered_.load(std::memory_order_relaxed); }
  std::size_t peak_buffered_bytes() const noexcept { return peak_buffered_.load(std::memory_order_relaxed); }

 private:
  boost::asio::awaitable<void> accept_loop() {
    namespace asio = boost::asio;
    struct ended {  // also when the io_context destroys the coroutine
      server& srv;
      ~ended() {
        std::lock_guard lock(srv.mu_);
        srv.accepting_ = false;
        srv.cv_.notify_all();
      }
    } const guard{*this};
    for (;;) {
      boost::system::error_code ec;
      auto sock =
          co_await acceptor_.async_accept(asio::make_strand(ioc_), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
        // E.g. too many open files: keep serving the others, and give them
        // time to close some before trying again.
        accept_errors_.fetch_add(1, std::memory_order_relaxed);
        asio::steady_timer t(acceptor_.get_executor(), opts_.accept_backoff);
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      {
        std::lock_guard lock(mu_);
        if (closing_) {
          sock.close(ec);
          co_return;
        }
        if (sessions_.size() + starting_ >= opts_.max_connections) {
          refused_.fetch_add(1, std::memory_order_relaxed);
          sock.close(ec);
          continue;
        }
        ++starting_;
      }
      accepted_.fetch_add(1, std::memory_order_relaxed);
      sock.set_option(asio::ip::tcp::no_delay(true), ec);
      auto ex = sock.get_executor();
      asio::co_spawn(ex, session(std::move(sock)), asio::detached);
    }
  }

  /// A live connection in sessions_, from its coroutine's start to its end
  /// (also when the io_context destroys the coroutine). Declared after the
  /// stream, so it leaves the registry before the stream goes.
  class registration {
   public:
    registration(server& srv, boost::beast::tcp_stream& tcp) : srv_(srv) {
      std::lock_guard lock(srv_.mu_);
      --srv_.starting_;
      if (!srv_.closing_) {
        id_ = ++srv_.next_session_;
        srv_.sessions_.emplace(id_, live_session{tcp.get_executor(), &tcp});
      }
      srv_.cv_.notify_all();
    }
    registration(const registration&) = delete;
    registration& operator=(const registration&) = delete;
    ~registration() {
      if (id_ == 0) return;
      std::lock_guard lock(srv_.mu_);
      srv_.sessions_.erase(id_);
    }
    /// False when the server is stopping: the session ends at once.
    bool live() const noexcept { return id_ != 0; }

   private:
    server& srv_;
    std::uint64_t id_ = 0;
  };

  /// On the session's strand: ends its connection (FIN, then close).
  void close_session(std::uint64_t id) {
    std::lock_guard lock(mu_);
    const auto it = sessions_.find(id);
    if (it == sessions_.end()) return;  // already gone
    boost::system::error_code ec;
    it->second.tcp->socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    it->second.tcp->close();
  }

  void close_done() {
    std::lock_guard lock(mu_);
    --pending_closes_;
    cv_.notify_all();
  }

  boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket sock) {
    namespace asio = boost::asio;
    namespace beast = boost::beast;
    boost::system::error_code ec;
    if (tls_) {
      beast::ssl_stream<beast::tcp_stream> s(beast::tcp_stream(std::move(sock)), *tls_);
      const registration reg(*this, beast::get_lowest_layer(s));
      if (!reg.live()) co_return;
      beast::get_lowest_layer(s).expires_after(std::chrono::seconds(10));
      co_await s.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      co_await serve(s);
    } else {
      beast::tcp_stream s(std::move(sock));
      const registration reg(*this, s);
      if (!reg.live()) co_return;
      co_await serve(s);
    }
  }

  template <class Stream>
  boost::asio::awaitable<void> serve(Stream& stream) {
    namespace asio = boost::asio;
    namespace beast = boost::beast;
    namespace bhttp = boost::beast::http;
    beast::flat_buffer buf;
    auto& tcp = beast::get_lowest_layer(stream);
    for (;;) {
      boost::system::error_code ec;
      body_reservation held(*this);  // released after the parser's body is freed
      bhttp::request_parser<bhttp::string_body> parser;
      parser.body_limit(opts_.max_body);
      parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(opts_.max_header, UINT32_MAX)));
      tcp.expires_after(opts_.idle_timeout);
      // The head first: a declared body over max_body is refused here, and
      // one the buffer budget cannot hold is refused before it is read.
      co_await bhttp::async_read_header(stream, buf, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (!ec && !held.take(parser.content_length().value_or(parser.chunked() ? opts_.max_body : 0))) {
        co_await refuse(stream, bhttp::status::service_unavailable, "The server is overloaded, try again later");
        break;
      }
      if (!ec && !parser.is_done())
        co_await bhttp::async_read(stream, buf, parser, asio::redirect_error(asio::use_awaitable, ec));
      if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
        co_await refuse_too_large(stream, ec == bhttp::error::body_limit);
        break;
      }
      if (ec) break;
      tcp.expires_never();
      const auto& req = parser.get();
      const auto next = co_await deliver(stream, answer(req), req.version(), req.keep_alive());
      if (next == after_reply::reset) co_return;
      if (next == after_reply::close) break;
    }
    boost::system::error_code ignored;
    tcp.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  }

  /// 413 or 431, answered, then closed: the rest of the request is never parsed.
  template <class Stream>
  boost::asio::awaitable<void> refuse_too_large(Stream& stream, bool body) {
    namespace bhttp = boost::beast::http;
    co_await refuse(stream, body ? bhttp::status::payload_too_large : bhttp::status::request_header_fields_too_large,
                    body ? "Request Entity Too Large" : "Request Header Fields Too Large");
  }

  /// An error answered, then the connection closed unread.
  template <class Stream>
  boost::asio::awaitable<void> refuse(Stream& stream, boost::beast::http::status status, std::string_view message) {
    namespace asio = boost::asio;
    namespace bhttp = boost::beast::http;
    auto& tcp = boost::beast::get_lowest_layer(stream);
    boost::system::error_code ec;
    bhttp::response<bhttp::string_body> res{status, 11};
    res.set(bhttp::field::content_type, "application/json");
    const bool client_error = static_cast<unsigned>(status) < 500;
    res.body() = R"({"error":{"message":")" + std::string(message) + R"(","type":")" +
                 (client_error ? "invalid_request_error" : "server_error") + R"("}})";
    res.keep_alive(false);
    res.prepare_payload();
    co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    // Lingering close: stop sending, then discard what the client still
    // sends (for at most a second), so that closing with unread bytes
    // does not reset the connection before the client reads the answer.
    tcp.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ec);
    tcp.expires_after(std::chrono::seconds(1));
    char discard[4096];
    while (!ec) co_await tcp.async_read_some(asio::buffer(discard), asio::redirect_error(asio::use_awaitable, ec));
  }

  /// The handler's reply to one request; a 500 if it throws.
  reply answer(const boost::beast::http::request<boost::beast::http::string_body>& req) {
    const incoming in{std::string_view(req.method_string().data(), req.method_string().size()),
                      std::string_view(req.target().data(), req.target().size()),
                      static_cast<const boost::beast::http::fields&>(req), req.body()};
    try {
      return handler_(in);
    } catch (const std::exception&) {
      reply rep;
      rep.status = 500;
      rep.body = R"({"error":{"message":"mock handler failed","type":"server_error"}})";
      return rep;
    }
  }

  /// What a connection does after a reply.
  enum class after_reply : std::uint8_t {
    next_request,  ///< keep-alive: read the next request
    close,         ///< shut the connection down
    reset,         ///< the connection is already reset and closed
  };

  /// Writes a reply as it says: after its delay, then whole, cut short,
  /// stalled (nothing written) or reset.
  template <class Stream>
  boost::asio::awaitable<after_reply> deliver(Stream& stream, reply rep, unsigned version, bool keep_alive) {
    namespace asio = boost::asio;
    namespace bhttp = boost::beast::http;
    auto& tcp = boost::beast::get_lowest_layer(stream);
    boost::system::error_code ec;
    if (rep.delay.count() > 0) {
      asio::steady_timer t(tcp.get_executor(), rep.delay);
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (rep.action == fault_action::reset) {
      tcp.socket().set_option(asio::socket_base::linger(true, 0), ec);
      tcp.socket().close(ec);
      co_return after_reply::reset;
    }
    if (rep.action == fault_action::stall) co_return after_reply::close;
    if (rep.action == fault_action::truncate) {
      const std::string raw = "HTTP/1.1 " + std::to_string(rep.status) + " " +
                              std::string(http::status_text(rep.status)) + "\r\nContent-Type: " + rep.content_type +
                              "\r\nContent-Length: " + std::to_string(rep.body.size()) + "\r\n\r\n" +
                              rep.body.substr(0, rep.body.size() / 2);
      co_await asio::async_write(stream, asio::buffer(raw), asio::redirect_error(asio::use_awaitable, ec));
      co_return after_reply::close;
    }
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(rep.status), version};
    res.set(bhttp::field::server, "keypool-mock");
    if (!rep.content_type.empty()) res.set(bhttp::field::content_type, rep.content_type);
    for (const auto& [n, v] : rep.headers) res.insert(n, v);
    res.body() = std::move(rep.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    co_await bhttp::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    co_return ec || !res.keep_alive() ? after_reply::close : after_reply::next_request;
  }

  /// Body bytes one request holds of the max_buffered budget, until the
  /// request is done with.
  class body_reservation {
   public:
    explicit body_reservation(server& srv) noexcept : srv_(srv) {}
    body_reservation(const body_reservation&) = delete;
    body_reservation& operator=(const body_reservation&) = delete;
    ~body_reservation() {
      if (n_ != 0) srv_.buffered_.fetch_sub(n_, std::memory_order_relaxed);
    }
    /// False when n more bytes would go over the budget (nothing taken).
    bool take(std::size_t n) noexcept {
      std::size_t cur = srv_.buffered_.load(std::memory_order_relaxed);
      do {
        if (n > srv_.opts_.max_buffered || cur > srv_.opts_.max_buffered - n) return false;
      } while (!srv_.buffered_.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
      n_ += n;
      for (std::size_t peak = srv_.peak_buffered_.load(std::memory_order_relaxed);
           peak < cur + n && !srv_.peak_buffered_.compare_exchange_weak(peak, cur + n, std::memory_order_relaxed);) {
      }
      return true;
    }

   private:
    server& srv_;
    std::size_t n_ = 0;
  };

  struct live_session {
    boost::asio::any_io_executor executor;  // the connection's strand
    boost::beast::tcp_stream* tcp;          // in the session's coroutine frame
  };

  request_handler handler_;
  server_options opts_;
  generated_certificate cert_;
  std::optional<boost::asio::ssl::context> tls_;  // before ioc_: outlives the sessions' streams
  // Before ioc_: destroying ioc_ destroys suspended sessions, which unregister.
  std::mutex mu_;
  std::condition_variable cv_;
  bool closing_ = false;            // stop() began: no new sessions
  bool accepting_ = true;           // accept_loop() has not ended
  std::size_t starting_ = 0;        // accepted, coroutine not yet registered
  std::size_t pending_closes_ = 0;  // closes stop() posted that have not run yet
  std::uint64_t next_session_ = 0;
  std::map<std::uint64_t, live_session> sessions_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::atomic<std::uint64_t> accepted_{0};
  std::atomic<std::uint64_t> refused_{0};
  std::atomic<std::uint64_t> accept_errors_{0};
  std::atomic<std::size_t> buffered_{0};
  std::atomic<std::size_t> peak_buffered_{0};
  std::atomic<bool> stopped_{false};
  std::vector<std::thread> threads_;
};

}  // namespace keypool::mock
