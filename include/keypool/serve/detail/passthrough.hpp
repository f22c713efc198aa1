#pragma once
/// One chat request's walk through the chain: pick a key, send the caller's
/// body (only `model` replaced, credentials set by keypool) or its
/// translation, classify the answer with the client's classifier, report
/// the outcome to the pool, and fail over by the client's rules
/// (http/failover.hpp) until an answer, the caller's mistake, the budget or
/// the chain's end:
///  - rate_limited, quota, credit, invalid or forbidden key: another key;
///  - model_unavailable: the route's next model (a fixed model: the next
///    provider);
///  - transient (5xx, connection failure, an answer that does not decode):
///    the next provider;
///  - bad_request: answered at once (400, the provider's message).
/// A streamed answer is relayed as it arrives; failover ends with its first
/// byte.

#include <keypool/chain/chain.hpp>
#include <keypool/classify/classifier.hpp>
#include <keypool/http/client.hpp>
#include <keypool/http/codec.hpp>
#include <keypool/http/wire_request.hpp>
#include <keypool/serve/detail/answer.hpp>
#include <keypool/serve/detail/core.hpp>
#include <keypool/serve/detail/json_scan.hpp>
#include <keypool/serve/detail/relay.hpp>
#include <keypool/serve/detail/route_plan.hpp>
#include <keypool/serve/detail/translate.hpp>
#include <keypool/serve/detail/translate_stream.hpp>
#include <keypool/wire/provider_text.hpp>

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::serve::detail {

/// True when a caller speaking `in` and the provider share a format.
inline bool same_format(api_format in, providers::wire_format w) noexcept {
  return (in == api_format::openai && w == providers::wire_format::openai_chat) ||
         (in == api_format::anthropic && w == providers::wire_format::anthropic_messages);
}

/// The endpoint of a pass-through request under the provider's base path.
inline std::string_view endpoint_of(api_format in) noexcept {
  return in == api_format::anthropic ? "/messages" : "/chat/completions";
}

/// The credential headers of `provider` with `secret`.
inline void set_credentials(boost::beast::http::fields& h, const providers::provider_descriptor& provider,
                            std::string_view secret) {
  using providers::auth_style;
  const boost::beast::string_view s(secret.data(), secret.size());
  if (provider.auth == auth_style::bearer) h.set(boost::beast::http::field::authorization, "Bearer " + std::string(s));
  if (provider.auth == auth_style::x_api_key) h.set("x-api-key", s);
  if (provider.auth == auth_style::x_goog_api_key) h.set("x-goog-api-key", s);
}

/// Ceil of `ms` in whole seconds, at least 1: a Retry-After value.
inline std::string retry_after_seconds(std::chrono::milliseconds ms) {
  return std::to_string(std::max<long long>(1, (ms.count() + 999) / 1000));
}

template <class Chain>
class passthrough {
 public:
  using clock = std::chrono::steady_clock;

  passthrough(core<Chain>& c, route_plan<Chain::size> plan, api_format in, std::string_view body,
              const body_facts& facts, relay* r)
      : c_(c), plan_(std::move(plan)), in_(in), body_(body), facts_(facts), relay_(r), skip_(plan_.skip) {}

  /// The answer (or, streamed, its facts: the relay wrote it).
  boost::asio::awaitable<answer> run();

 private:
  void skip_untranslatable();
  boost::asio::awaitable<std::optional<answer>> attempt(chain_lease& cl);
  std::optional<http::request> build(chain_lease& cl, const std::string& model, bool same, answer& refused);
  std::optional<answer> transport_failed(chain_lease& cl, http::attempt a, const http::error& e);
  std::optional<answer> judged(chain_lease& cl, http::attempt a, http::response& resp, bool same);
  std::optional<answer> succeeded(chain_lease& cl, http::attempt a, http::response& resp, bool same);
  std::optional<answer> stream_translated(chain_lease& cl, http::attempt a);
  void translate_stream(http::request& req, chain_lease& cl, const std::string& model);
  void next_model(std::size_t p);
  answer no_key(const chain_error& why);
  answer nothing_left();
  answer gave_up(std::string why, unsigned status = 502);
  answer facts(answer a) const;
  std::string stream_head(const chain_lease& cl, const std::string& model) const;
  void record(chain_lease& cl, http::attempt a) {
    c_.chain.report(cl, a.outcome);
    attempts_.push_back(std::move(a));
  }
  static std::string scrub(std::string text, const keypool::lease& l) {
    return wire::scrub_secret(std::move(text), l.secret(), l.redacted());
  }

  core<Chain>& c_;
  route_plan<Chain::size> plan_;
  api_format in_;
  std::string_view body_;
  const body_facts& facts_;
  relay* relay_;  ///< null: not streamed
  typename Chain::skip_set skip_;
  std::vector<std::size_t> model_index_ = std::vector<std::size_t>(Chain::size);
  std::vector<http::attempt> attempts_;
  std::optional<wire::request_decode_result> translated_;  ///< the body decoded, for providers of another format
  std::optional<stream_translator> stream_;                ///< the attempt's streamed answer, translated
  std::string untranslated_;  ///< providers left out: what the translation cannot express for them
  clock::time_point deadline_{};
};

}  // namespace keypool::serve::detail

#include <keypool/serve/impl/passthrough.hpp>
