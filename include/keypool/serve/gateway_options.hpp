#pragma once
/// What a gateway (serve/gateway.hpp) is built with: where it listens, the
/// gateway keys callers must present, the limits at the edge, and the
/// failover budget; and what it tells the application after each answered
/// request (request_record, for statistics and access logs).

#include <keypool/classify/classifier.hpp>
#include <keypool/providers/catalog.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::serve {

struct gateway_options {
  /// The address to listen on. Anything but loopback needs a gateway key.
  std::string address = "127.0.0.1";
  std::uint16_t port = 8080;  ///< 0: an ephemeral port (listen() returns it)
  /// The KEYPOOL_GATEWAY_KEY_1..N values: callers present one as
  /// `Authorization: Bearer <key>` or `x-api-key: <key>`. Empty: no check
  /// (loopback only).
  std::vector<std::string> gateway_keys{};
  /// TLS on the listener: a PEM certificate chain and its private key (both
  /// or neither). Empty: plain HTTP. listen() loads them and throws
  /// std::invalid_argument naming the file that cannot be used.
  std::string tls_cert_file{};
  std::string tls_key_file{};

  /// Larger request bodies get 413 (checked against Content-Length before
  /// the body is read).
  std::size_t max_body = 32u << 20;
  /// Larger request heads (request line + fields) get 431.
  std::size_t max_header = 16u << 10;
  /// From the first byte of a request to the end of its head: a client
  /// sending one byte a second is cut off here.
  std::chrono::milliseconds header_timeout{10'000};
  /// Reading a request body, once its head arrived.
  std::chrono::milliseconds body_timeout{30'000};
  /// A kept-alive connection with no request is closed after this.
  std::chrono::milliseconds idle_timeout{60'000};
  /// Writing an answer (or one streamed piece) to a client.
  std::chrono::milliseconds write_timeout{30'000};
  /// Requests being answered at once at most; more get 503 with
  /// Retry-After: busy_retry_after.
  std::size_t max_in_flight = 512;
  std::chrono::seconds busy_retry_after{1};
  /// Live connections at most; more are accepted and closed at once.
  std::size_t max_connections = 4096;
  /// The wait before the next accept when out of file descriptors.
  std::chrono::milliseconds accept_backoff{50};
  /// Streamed bytes waiting for a slow client at most; beyond it the stream
  /// is abandoned (the upstream request cancelled).
  std::size_t max_stream_backlog = 4u << 20;

  /// HTTP attempts one request may make across keys and providers.
  unsigned max_attempts = 8;
  /// Overall deadline of one request's upstream attempts.
  std::chrono::milliseconds deadline{120'000};
  classify::classify_options classify{};

  /// Model names that mean the whole configured chain, in its order.
  std::vector<std::string> chain_names{"auto"};
  /// Named routes: a request whose model is the name goes to these
  /// "provider/model" targets only (one model per provider), tried in the
  /// chain's order.
  std::map<std::string, std::vector<std::string>> named_routes{};
  /// Catalog model ids ("gpt-4o") route to the providers that list them.
  providers::catalog catalog = providers::catalog::builtin();
};

/// One answered request, as the hook sees it (on the gateway's executor,
/// after the answer's last byte was handed to the socket). The views are
/// valid during the call only. Holds no secret and no prompt text.
struct request_record {
  std::string_view method;               ///< "POST"
  std::string_view path;                 ///< "/v1/chat/completions" (no query)
  unsigned status = 0;                   ///< sent to the caller
  std::string_view provider;             ///< provider id that answered (or was tried last); empty: none
  std::string_view model;                ///< model sent upstream; empty: none
  std::string_view key_variable;         ///< "GROQ_API_KEY_2"; empty: none
  unsigned attempts = 0;                 ///< upstream HTTP attempts
  bool streamed = false;                 ///< relayed as server-sent events
  std::chrono::microseconds latency{0};  ///< from the request's head to the answer's end
  std::string_view error{};              ///< why it failed (scrubbed); empty on success
  /// The answer's token usage, when it reported one (read from the relayed
  /// body's `usage`, a stream's last usage included); nullopt: unknown.
  std::optional<std::uint64_t> input_tokens{};
  std::optional<std::uint64_t> output_tokens{};
};

using request_hook = std::function<void(const request_record&)>;

}  // namespace keypool::serve
