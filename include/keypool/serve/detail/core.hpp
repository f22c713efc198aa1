#pragma once
/// What every connection of a gateway shares: the chain, the transport, the
/// routes, the options and the hook; the acceptor and the live connections
/// (for stop()); the counters readable from any thread. Held by shared_ptr
/// so that a connection's coroutine, destroyed with the io_context after
/// the gateway object, never points at freed memory.
///
/// Thread safety: everything but the atomics is touched on the transport's
/// serial executor only.

#include <keypool/http/failover.hpp>
#include <keypool/http/transport.hpp>
#include <keypool/http/url.hpp>
#include <keypool/serve/detail/conn_stream.hpp>
#include <keypool/serve/gateway_options.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace keypool::serve::detail {

/// A live connection, for stop(): its stream (in the session's frame) and
/// whether a request is being answered on it.
struct live_connection {
  conn_stream* stream = nullptr;
  bool busy = false;
};

template <class Chain>
struct core {
  core(Chain& c, http::transport& t, std::vector<http::route> r, gateway_options o)
      : chain(c), transport(t), routes(std::move(r)), opts(std::move(o)), acceptor(t.get_executor()) {
    if (routes.size() != Chain::size)
      throw std::invalid_argument("keypool::serve::gateway: " + std::to_string(routes.size()) +
                                  " routes for a chain of " + std::to_string(Chain::size) + " providers");
    for (std::size_t i = 0; i < routes.size(); ++i) {
      const auto& rt = routes[i];
      if (chain.provider_id(i) != rt.provider.id)
        throw std::invalid_argument("keypool::serve::gateway: route " + std::to_string(i) + " is '" + rt.provider.id +
                                    "' but the chain has '" + std::string(chain.provider_id(i)) + "' there");
      if (rt.models.empty())
        throw std::invalid_argument("keypool::serve::gateway: route '" + rt.provider.id + "' has no models");
      auto u = http::parse_url(rt.provider.base_url);
      if (!u)
        throw std::invalid_argument("keypool::serve::gateway: provider '" + rt.provider.id + "': " + u.error().message);
      bases.push_back(std::move(*u));
    }
  }

  Chain& chain;
  http::transport& transport;
  std::vector<http::route> routes;
  std::vector<http::url> bases;  ///< per route: the parsed base URL
  gateway_options opts;
  request_hook hook;
  boost::asio::ip::tcp::acceptor acceptor;
  std::unique_ptr<boost::asio::ssl::context> tls;  ///< set by listen() with a certificate; null: plain HTTP
  std::map<std::uint64_t, live_connection> connections;
  std::uint64_t next_connection = 0;
  std::size_t starting = 0;  ///< accepted, not yet registered
  bool stopping = false;
  std::atomic<std::size_t> in_flight{0};
  std::atomic<std::uint64_t> answered{0};
  std::atomic<std::size_t> live{0};
  std::atomic<bool> accepting{false};
};

}  // namespace keypool::serve::detail
