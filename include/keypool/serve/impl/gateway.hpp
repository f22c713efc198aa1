#pragma once
/// Out-of-line bodies of serve/gateway.hpp: listening, accepting, stopping.

#include <keypool/serve/detail/tls_context.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stdexcept>
#include <string>
#include <system_error>

namespace keypool::serve {

template <class Chain>
std::uint16_t gateway<Chain>::listen() {
  namespace asio = boost::asio;
  const auto& o = c_->opts;
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(o.address, ec);
  if (ec)
    throw std::invalid_argument("keypool::serve::gateway: listen address '" + o.address +
                                "' is not an IP address (gateway_options.address)");
  for (std::size_t i = 0; i < o.gateway_keys.size(); ++i)
    if (o.gateway_keys[i].empty())
      throw std::invalid_argument("keypool::serve::gateway: gateway key " + std::to_string(i + 1) +
                                  " is empty (KEYPOOL_GATEWAY_KEY_" + std::to_string(i + 1) + ")");
  if (o.gateway_keys.empty() && !addr.is_loopback())
    throw std::invalid_argument("keypool::serve::gateway: refusing to listen on " + o.address +
                                " without a gateway key: anyone who reaches it could spend your provider keys; set "
                                "KEYPOOL_GATEWAY_KEY_1 (gateway_options.gateway_keys) or listen on 127.0.0.1");
  if (!o.tls_cert_file.empty() || !o.tls_key_file.empty())
    c_->tls = detail::make_tls_context(o.tls_cert_file, o.tls_key_file);
  const asio::ip::tcp::endpoint ep(addr, o.port);
  auto& acc = c_->acceptor;
  const auto fail = [&](const char* what) {
    throw std::system_error(
        ec, "keypool::serve::gateway: cannot " + std::string(what) + " " + o.address + ":" + std::to_string(o.port));
  };
  if (acc.open(ep.protocol(), ec)) fail("open a socket for");
  acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (acc.bind(ep, ec)) fail("bind");
  if (acc.listen(asio::socket_base::max_listen_connections, ec)) fail("listen on");
  port_ = acc.local_endpoint().port();
  c_->accepting.store(true);
  asio::co_spawn(c_->transport.get_executor(), accept_loop(c_), asio::detached);
  return port_;
}

template <class Chain>
boost::asio::awaitable<void> gateway<Chain>::accept_loop(std::shared_ptr<detail::core<Chain>> c) {
  namespace asio = boost::asio;
  for (;;) {
    boost::system::error_code ec;
    auto sock = co_await c->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (ec == asio::error::operation_aborted || !c->acceptor.is_open() || c->stopping) break;
      // Out of file descriptors, say: keep serving the others, and give them
      // time to close some before trying again (accepting at once would spin).
      asio::steady_timer t(c->acceptor.get_executor(), c->opts.accept_backoff);
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    if (c->stopping) break;
    if (c->connections.size() >= c->opts.max_connections) {
      sock.close(ec);
      continue;
    }
    sock.set_option(asio::ip::tcp::no_delay(true), ec);
    asio::co_spawn(c->transport.get_executor(), serve_connection(c, std::move(sock)), asio::detached);
  }
  c->accepting.store(false);
}

template <class Chain>
boost::asio::awaitable<void> gateway<Chain>::serve_connection(std::shared_ptr<detail::core<Chain>> c,
                                                              boost::asio::ip::tcp::socket sock) {
  detail::session<Chain> s(std::move(c), std::move(sock));
  co_await s.run();
}

template <class Chain>
void gateway<Chain>::stop() {
  boost::asio::dispatch(c_->transport.get_executor(), [c = c_] {
    if (c->stopping) return;
    c->stopping = true;
    boost::system::error_code ec;
    c->acceptor.close(ec);
    close_idle(*c);
  });
}

/// Closes every connection waiting for a request (a busy one closes after
/// its answer).
template <class Chain>
void gateway<Chain>::close_idle(detail::core<Chain>& c) {
  for (auto& [id, conn] : c.connections)
    if (!conn.busy) {
      boost::system::error_code ec;
      conn.stream->socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
      conn.stream->socket().close(ec);
    }
}

template <class Chain>
boost::asio::awaitable<bool> gateway<Chain>::drain(std::shared_ptr<detail::core<Chain>> c,
                                                   std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  boost::asio::steady_timer t(c->transport.get_executor());
  while (c->in_flight.load(std::memory_order_relaxed) > 0) {
    if (std::chrono::steady_clock::now() >= until) co_return false;
    // Requests end on their own time; a short poll keeps this off their path.
    t.expires_after(std::chrono::milliseconds(5));
    boost::system::error_code ec;
    co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  }
  close_idle(*c);
  co_return true;
}

}  // namespace keypool::serve
