#pragma once
/// What one failover chat takes and gives: the routes and options a client
/// is built from, the attempts it records, its answer (chat_result) or error
/// (failover_error), and the statistics hook's event. The engine itself is
/// http/client.hpp.

#include <keypool/chain/chain.hpp>
#include <keypool/classify/classifier.hpp>
#include <keypool/core/outcome.hpp>
#include <keypool/core/result.hpp>
#include <keypool/core/stats.hpp>
#include <keypool/providers/descriptor.hpp>
#include <keypool/report/text.hpp>
#include <keypool/spend/spend.hpp>
#include <keypool/wire/openai_chat.hpp>
#include <keypool/wire/request.hpp>
#include <keypool/wire/tool_call_delta.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::http {

// The spend ledger moved to the data layer (spend/spend.hpp); its old
// spelling under http:: is kept for one release.
using spend::format_usd;
using spend::key_spend;
using spend::model_price;
using spend::model_spend;
using spend::price_table;
using spend::provider_spend;
using spend::spend_ledger;
using spend::spend_prometheus;
using spend::spend_snapshot;
using spend::spend_text;

/// What the client needs for one chain position: the provider's descriptor
/// (base URL, wire format, error dialect) and the models to try, in order.
struct route {
  providers::provider_descriptor provider;
  std::vector<std::string> models;  ///< api identifiers, first preferred
  /// How images go into an openai_chat request for this provider.
  wire::openai_chat::image_form image_form = wire::openai_chat::image_form::data_url_object;
};

/// A model a provider answered model_unavailable for (retired, not found,
/// no access), as the client remembers it: for one account, or for one key
/// when the key has no account. Never holds a secret.
struct unavailable_model {
  std::string provider;                         ///< provider id: "groq"
  std::string account;                          ///< the key's account; its fingerprint when it has none
  std::string model;                            ///< api identifier
  std::chrono::system_clock::time_point until;  ///< skipped until then
};

/// Told each model the client learns is unavailable (to persist it: see
/// client::remember_unavailable for the way back). Runs on the transport's
/// executor inside the chat: keep it short; an exception from it is
/// swallowed.
using unavailable_model_hook = std::function<void(const unavailable_model&)>;

struct failover_options {
  /// HTTP requests one chat() may make, across all keys and providers.
  unsigned max_attempts = 8;
  /// Overall deadline of one chat(), waiting included.
  std::chrono::milliseconds deadline{120'000};
  /// When every key is unavailable: false fails at once with the structured
  /// error; true waits for the earliest key if it frees before the deadline.
  bool wait_for_key = false;
  /// How long a model that answered model_unavailable is skipped for the
  /// account (or key) that got that answer.
  std::chrono::milliseconds model_unavailable_ttl{std::chrono::hours(1)};
  classify::classify_options classify{};
  /// Where costs accumulate and spend caps live. Null: the client makes its
  /// own ledger priced from the built-in catalog. Share one ledger between
  /// clients to cap their combined spend.
  std::shared_ptr<spend_ledger> spend{};
  /// Called when an answer says a model is unavailable, after the client
  /// remembered it; empty: nobody is told.
  unavailable_model_hook on_model_unavailable{};
};

/// One HTTP attempt, as recorded in the result. Never holds the secret.
struct attempt {
  std::string provider;      ///< provider id: "groq"
  std::string model;         ///< api identifier sent
  std::string key_variable;  ///< "GROQ_API_KEY_2"
  keypool::outcome outcome;  ///< as reported to the pool
  std::string reason;        ///< classifier reason, transport or decode error
  unsigned status = 0;       ///< HTTP status; 0 when no response arrived
  std::chrono::microseconds latency{0};
};

/// A provider left out of a request without an attempt, and why
/// ("OPENAI spend cap of $5.00 reached ($5.02 spent)", "google:
/// gemini_generate_content: user is not supported by this provider").
struct skipped_provider {
  std::string provider;  ///< provider id
  std::string reason;
};

struct chat_result {
  wire::chat_response response;
  std::string provider;
  std::string model;
  std::string key_variable;
  std::vector<attempt> attempts;            ///< every attempt, the successful one last
  double cost_usd = 0;                      ///< usage × price of this answer (0: free or unpriced)
  std::vector<skipped_provider> skipped{};  ///< providers skipped (spend cap, unsupported feature)
};

enum class failover_errc : std::uint8_t {
  bad_request,         ///< the provider rejected the request itself (the caller's mistake)
  invalid_request,     ///< the request cannot be encoded (bad MIME type, model name)
  all_unavailable,     ///< no provider has a usable key (see `unavailable`)
  attempts_exhausted,  ///< max_attempts reached
  deadline_exceeded,   ///< the overall deadline passed
  stream_failed,       ///< a streamed answer broke after text was delivered (no failover then)
};

constexpr std::string_view to_string(failover_errc e) noexcept {
  switch (e) {
    case failover_errc::bad_request: return "bad_request";
    case failover_errc::invalid_request: return "invalid_request";
    case failover_errc::all_unavailable: return "all_unavailable";
    case failover_errc::attempts_exhausted: return "attempts_exhausted";
    case failover_errc::deadline_exceeded: return "deadline_exceeded";
    case failover_errc::stream_failed: return "stream_failed";
  }
  return "unknown";
}

struct failover_error {
  failover_errc code;
  std::string message;
  std::vector<attempt> attempts;
  /// Why each provider had no key (all_unavailable), with availability times.
  std::optional<chain_error> unavailable{};
  /// For bad_request: the provider's status and the start of its body.
  unsigned status = 0;
  std::string body{};
  /// Providers skipped for their spend cap or for a feature they cannot
  /// express (also named in `message`).
  std::vector<skipped_provider> skipped{};
};

using chat_outcome = ::keypool::result<chat_result, failover_error>;

/// Receives streamed text deltas, in order, on the transport's strand.
using text_sink = std::function<void(std::string_view)>;

/// Receives streamed tool-call pieces (id and name first, then argument
/// fragments), in order, on the transport's strand.
using tool_call_sink = std::function<void(const wire::tool_call_delta&)>;

/// The callbacks of a streamed chat; either may be empty.
struct stream_sinks {
  text_sink on_text{};
  tool_call_sink on_tool_call{};
  explicit operator bool() const noexcept { return on_text || on_tool_call; }
};

/// What the statistics hook sees after a chat completed.
struct statistics_event {
  const chat_outcome& outcome;           ///< the chat that just completed (answer or error)
  std::span<const pool_snapshot> pools;  ///< the chain's keys, in chain order
  const spend_snapshot& spend;           ///< the client's ledger
  std::uint64_t completed;               ///< chats this client has completed, this one included
};

using statistics_hook = std::function<void(const statistics_event&)>;

/// When the hook runs: after every `every_n_requests`-th completed chat, and
/// no more often than `min_interval` (0: no limit).
struct statistics_options {
  std::uint64_t every_n_requests = 1;
  std::chrono::milliseconds min_interval{0};
};

/// The statistics table ("📊 API KEY STATISTICS", report/text.hpp) followed by
/// the "💰 SPEND" block.
inline std::string statistics_text(const statistics_event& e) {
  return report::text(e.pools) + "\n" + spend_text(e.spend);
}

}  // namespace keypool::http
