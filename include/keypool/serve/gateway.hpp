#pragma once
/// keypool::serve::gateway: an OpenAI- and Anthropic-compatible HTTP/1.1
/// gateway over a chain of key pools, embeddable in any Asio application.
///
///   asio::io_context ioc(1);
///   http::transport t(ioc.get_executor(), topts);
///   serve::gateway g(chain, t, routes, {.port = 8080, .gateway_keys = keys});
///   g.on_request([](const serve::request_record& r) { /* access log */ });
///   const auto port = g.listen();
///   ioc.run();
///
/// Endpoints: POST /v1/chat/completions (OpenAI format), POST /v1/messages
/// (Anthropic format), POST /v1/describe (an image), GET / (the upload
/// page), GET /v1/models, /stats, /metrics, /healthz, /readyz
/// (docs/serve.md). A chat request's body is forwarded with only `model`
/// replaced and keypool's credentials, to a provider of the same format,
/// and its answer relayed as it arrives (server-sent events chunk by chunk);
/// keys and providers fail over by the client's rules before the first
/// byte. The caller's own credentials never go upstream.
///
/// Threading: every connection runs on the transport's serial executor (a
/// strand of the application's executor, or that executor itself when one
/// thread runs it), so a request's path to the provider takes no lock and
/// no hop between threads. The chain and the transport must outlive the
/// gateway; the gateway may be destroyed while its io_context still holds
/// connections (they keep the shared state alive).
///
/// Thread safety: listen(), stop(), async_drain() and the counters may be
/// called from any thread; on_request() before listen().

#include <keypool/http/failover.hpp>
#include <keypool/http/transport.hpp>
#include <keypool/serve/detail/core.hpp>
#include <keypool/serve/detail/router.hpp>
#include <keypool/serve/detail/session.hpp>
#include <keypool/serve/gateway_options.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace keypool::serve {

template <class Chain>
class gateway {
 public:
  /// `routes[i]` describes chain position i (same provider id), as for
  /// http::client. Throws std::invalid_argument for a mismatched route or an
  /// unusable base URL.
  gateway(Chain& chain, http::transport& t, std::vector<http::route> routes, gateway_options opts = {})
      : c_(std::make_shared<detail::core<Chain>>(chain, t, std::move(routes), std::move(opts))) {}

  gateway(const gateway&) = delete;
  gateway& operator=(const gateway&) = delete;
  /// Stops accepting (stop()); requests in flight finish on their own.
  ~gateway() { stop(); }

  /// Called on the gateway's executor after each answered request (errors
  /// and refusals included). Set it before listen().
  void on_request(request_hook hook) { c_->hook = std::move(hook); }

  /// Binds options().address:port and starts accepting; returns the bound
  /// port (the ephemeral one for port 0). Throws std::invalid_argument for
  /// an address that is not an IP address, a non-loopback address without
  /// a gateway key, or an empty gateway key; std::system_error when the
  /// address cannot be bound.
  std::uint16_t listen();

  /// True when listen() set up TLS (options().tls_cert_file): https.
  bool tls() const noexcept { return c_->tls != nullptr; }

  /// The bound port (0 before listen()).
  std::uint16_t port() const noexcept { return port_; }

  /// Stops accepting and closes idle connections; a request in flight is
  /// answered, then its connection closes. Safe to call more than once.
  void stop();

  /// Completes once no request is in flight, or after `timeout`, with
  /// void(std::exception_ptr, bool drained) (asio::co_spawn's signature:
  /// use_future gives a std::future<bool>). Call it after stop().
  template <class CompletionToken>
  auto async_drain(std::chrono::milliseconds timeout, CompletionToken&& token) {
    return boost::asio::co_spawn(c_->transport.get_executor(), drain(c_, timeout),
                                 std::forward<CompletionToken>(token));
  }

  /// Requests being answered now.
  std::size_t in_flight() const noexcept { return c_->in_flight.load(std::memory_order_relaxed); }
  /// Requests answered since listen() (errors and refusals included).
  std::uint64_t answered() const noexcept { return c_->answered.load(std::memory_order_relaxed); }
  /// Live connections.
  std::size_t connections() const noexcept { return c_->live.load(std::memory_order_relaxed); }
  /// True while at least one key of the chain can be picked (GET /readyz).
  bool ready() const { return detail::chain_ready(c_->chain); }

  const gateway_options& options() const noexcept { return c_->opts; }
  const std::vector<http::route>& routes() const noexcept { return c_->routes; }
  boost::asio::any_io_executor get_executor() const noexcept { return c_->transport.get_executor(); }

 private:
  static boost::asio::awaitable<void> accept_loop(std::shared_ptr<detail::core<Chain>> c);
  static boost::asio::awaitable<void> serve_connection(std::shared_ptr<detail::core<Chain>> c,
                                                       boost::asio::ip::tcp::socket sock);
  static boost::asio::awaitable<bool> drain(std::shared_ptr<detail::core<Chain>> c, std::chrono::milliseconds timeout);
  static void close_idle(detail::core<Chain>& c);

  std::shared_ptr<detail::core<Chain>> c_;
  std::uint16_t port_ = 0;
};

}  // namespace keypool::serve

#include <keypool/serve/impl/gateway.hpp>
