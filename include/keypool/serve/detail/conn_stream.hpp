#pragma once
/// A caller's connection as the session, the router and the relay use it:
/// a Beast tcp_stream (its timeouts), with TLS over it when the gateway has
/// a certificate. Reads and writes go through TLS when it is on; the
/// timeouts and closing act on the TCP stream underneath.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <chrono>
#include <memory>
#include <utility>

namespace keypool::serve::detail {

class conn_stream {
 public:
  using executor_type = boost::beast::tcp_stream::executor_type;

  /// `tls`: the server context, or null for plain HTTP.
  conn_stream(boost::asio::ip::tcp::socket sock, boost::asio::ssl::context* tls) : tcp_(std::move(sock)) {
    if (tls) tls_ = std::make_unique<boost::asio::ssl::stream<boost::beast::tcp_stream&>>(tcp_, *tls);
  }
  conn_stream(const conn_stream&) = delete;
  conn_stream& operator=(const conn_stream&) = delete;

  executor_type get_executor() noexcept { return tcp_.get_executor(); }
  bool tls() const noexcept { return tls_ != nullptr; }
  boost::asio::ssl::stream<boost::beast::tcp_stream&>& tls_stream() { return *tls_; }
  boost::beast::tcp_stream& tcp() noexcept { return tcp_; }
  boost::asio::ip::tcp::socket& socket() noexcept { return tcp_.socket(); }

  void expires_after(std::chrono::steady_clock::duration d) { tcp_.expires_after(d); }
  void expires_never() { tcp_.expires_never(); }
  void close() { tcp_.close(); }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& b, Token&& token) {
    if (tls_) return tls_->async_read_some(b, std::forward<Token>(token));
    return tcp_.async_read_some(b, std::forward<Token>(token));
  }
  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& b, Token&& token) {
    if (tls_) return tls_->async_write_some(b, std::forward<Token>(token));
    return tcp_.async_write_some(b, std::forward<Token>(token));
  }

 private:
  boost::beast::tcp_stream tcp_;
  std::unique_ptr<boost::asio::ssl::stream<boost::beast::tcp_stream&>> tls_;
};

}  // namespace keypool::serve::detail
