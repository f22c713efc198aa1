#pragma once
/// Out-of-line bodies of serve/detail/session.hpp.

#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>

#include <string_view>

namespace keypool::serve::detail {

template <class Chain>
boost::asio::awaitable<void> session<Chain>::run() {
  registration<Chain> reg(*c_, s_);
  if (!reg.live()) co_return;
  if (s_.tls() && !co_await handshake()) {
    s_.close();
    co_return;
  }
  for (bool first = true;; first = false) {
    if (!co_await wait_for_request(first)) break;
    if (!co_await serve_one(reg)) break;
    if (c_->stopping) break;
  }
  boost::system::error_code ignored;
  s_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  s_.close();
}

/// The TLS handshake, under the head timeout; false (the connection is
/// dropped) for a client that speaks plain HTTP or no TLS version we accept.
template <class Chain>
boost::asio::awaitable<bool> session<Chain>::handshake() {
  boost::system::error_code ec;
  s_.expires_after(c_->opts.header_timeout);
  co_await s_.tls_stream().async_handshake(boost::asio::ssl::stream_base::server,
                                           boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  s_.expires_never();
  co_return !ec;
}

/// Between requests the idle timeout applies; the head timeout starts with
/// the next request's first byte.
template <class Chain>
boost::asio::awaitable<bool> session<Chain>::wait_for_request(bool first) {
  if (first || buf_.size() > 0) co_return true;
  boost::system::error_code ec;
  s_.expires_after(c_->opts.idle_timeout);
  const std::size_t n =
      co_await s_.async_read_some(buf_.prepare(4096), boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  if (ec) co_return false;
  buf_.commit(n);
  co_return true;
}

/// Reads and answers one request; false when the connection ends after it.
template <class Chain>
boost::asio::awaitable<bool> session<Chain>::serve_one(registration<Chain>& reg) {
  namespace bhttp = boost::beast::http;
  using boost::asio::redirect_error;
  using boost::asio::use_awaitable;
  boost::system::error_code ec;
  parser_.emplace();
  parser_->body_limit(c_->opts.max_body);
  parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(c_->opts.max_header, UINT32_MAX)));
  s_.expires_after(c_->opts.header_timeout);
  co_await bhttp::async_read_header(s_, buf_, *parser_, redirect_error(use_awaitable, ec));
  const auto start = clock::now();
  // Answers are built before co_await: a temporary in a co_await's operands
  // is destroyed twice by a compiler this project supports.
  if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit) {
    answer a = too_large(ec == bhttp::error::body_limit);
    co_await refuse(std::move(a), {}, {}, start);
    co_return false;
  }
  if (ec) co_return false;  // timeout, EOF, garbage: nothing to answer
  // stop() closed the connection as idle while its head was read from the
  // buffer: the caller sees a closed connection, so the request must not
  // be sent upstream (its key charged) and counted as answered.
  if (!s_.socket().is_open()) co_return false;
  reg.busy(true);
  const auto& head = parser_->get();
  const std::string method(head.method_string().data(), head.method_string().size());
  const std::string path(path_of(head));
  if (c_->in_flight.load(std::memory_order_relaxed) >= c_->opts.max_in_flight) {
    auto a = error_answer(api_format::openai, 503,
                          "too many requests in flight (" + std::to_string(c_->opts.max_in_flight) + "); retry later",
                          "overloaded");
    a.headers.emplace_back("Retry-After", std::to_string(std::max<long long>(1, c_->opts.busy_retry_after.count())));
    co_await refuse(std::move(a), method, path, start);
    co_return false;
  }
  in_flight_guard counted(c_->in_flight);
  if (!parser_->is_done()) {
    s_.expires_after(c_->opts.body_timeout);
    if (boost::beast::iequals(head[bhttp::field::expect], "100-continue")) {
      // curl asks before a large upload (an image) and would wait a second.
      static constexpr std::string_view go_on = "HTTP/1.1 100 Continue\r\n\r\n";
      co_await boost::asio::async_write(s_, boost::asio::buffer(go_on.data(), go_on.size()),
                                        redirect_error(use_awaitable, ec));
      if (ec) co_return false;
    }
    co_await bhttp::async_read(s_, buf_, *parser_, redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::body_limit) {
      answer a = too_large(true);
      co_await refuse(std::move(a), method, path, start);
      co_return false;
    }
    if (ec) co_return false;
  }
  s_.expires_never();
  const auto& req = parser_->get();
  answer a = co_await route_request(*c_, req, s_);
  const bool keep = req.keep_alive() && !c_->stopping && !a.close;
  bool ok = true;
  if (!a.streamed) ok = co_await write(a, req.version(), keep);
  report(a, method, path, start);
  reg.busy(false);
  co_return ok&& keep;
}

/// 413 for a body over max_body, 431 for a head over max_header.
template <class Chain>
answer session<Chain>::too_large(bool body) const {
  if (body)
    return error_answer(api_format::openai, 413,
                        "the request body is larger than " + std::to_string(c_->opts.max_body) + " bytes",
                        "request_too_large");
  return error_answer(api_format::openai, 431,
                      "the request head is larger than " + std::to_string(c_->opts.max_header) + " bytes",
                      "header_too_large");
}

/// An answer, then the connection closed without reading the rest of the
/// request: stop sending, then discard what the client still sends (for a
/// second at most), so that closing with unread bytes does not reset the
/// connection before the client reads the answer.
template <class Chain>
boost::asio::awaitable<void> session<Chain>::refuse(answer a, std::string_view method, std::string_view path,
                                                    clock::time_point start) {
  a.close = true;
  co_await write(a, 11, false);
  report(a, method, path, start);
  boost::system::error_code ec;
  s_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  s_.expires_after(std::chrono::seconds(1));
  char discard[4096];
  while (!ec)
    co_await s_.async_read_some(boost::asio::buffer(discard),
                                boost::asio::redirect_error(boost::asio::use_awaitable, ec));
}

template <class Chain>
boost::asio::awaitable<bool> session<Chain>::write(answer& a, unsigned version, bool keep_alive) {
  boost::system::error_code ec;
  auto res = to_response(a, version, keep_alive);
  s_.expires_after(c_->opts.write_timeout);
  co_await boost::beast::http::async_write(s_, res, boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  s_.expires_never();
  co_return !ec;
}

/// The hook's record of one answered request.
template <class Chain>
void session<Chain>::report(const answer& a, std::string_view method, std::string_view path, clock::time_point start) {
  c_->answered.fetch_add(1, std::memory_order_relaxed);
  if (!c_->hook) return;
  request_record r;
  r.method = method;
  r.path = path;
  r.status = a.status;
  r.provider = a.provider;
  r.model = a.model;
  r.key_variable = a.key;
  r.attempts = a.attempts;
  r.streamed = a.streamed;
  r.latency = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start);
  r.error = a.error;
  r.input_tokens = a.input_tokens;
  r.output_tokens = a.output_tokens;
  try {
    c_->hook(r);
  } catch (...) {
    // The hook is the application's; its failure must not break the connection.
  }
}

}  // namespace keypool::serve::detail
