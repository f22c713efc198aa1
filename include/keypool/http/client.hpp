#pragma once
/// The failover engine: one chat request walks a chain of key pools —
/// acquire a key, encode for that provider's wire format, send, classify the
/// response, report the outcome to the pool — and moves on by the rules
/// below until an answer, a caller mistake, the attempt budget or the
/// deadline ends it.
///
///  - rate_limited, quota_exhausted, out_of_credit, invalid_key, forbidden:
///    another key of the same provider (the chain offers the same provider
///    first again; its pool no longer hands out that key), then the next.
///  - model_unavailable: the next model of the route with the same key; with
///    no model left, the next provider. The model is remembered as
///    unavailable for that account (or key) for `model_unavailable_ttl`;
///    failover_options::on_model_unavailable tells a store, and
///    remember_unavailable() seeds the memory back in the next run.
///  - transient (5xx, overload, connection failures, a 2xx body that does not
///    decode): the next provider.
///  - bad_request: returned at once; no other key or provider is tried.
///  - a provider whose spend cap is reached (spend/spend.hpp) is skipped
///    before any attempt; the result/error lists it in `skipped` with the
///    reason.
///  - a provider that cannot express the request (wire::encode_errc::
///    unsupported: an image URL for Gemini, a seed for Anthropic) is skipped
///    the same way, before any key is taken.
///
/// Every success adds its usage × price to the client's spend_ledger, and an
/// application hook (on_statistics) can print the statistics after requests.
///
/// Thread safety: a client may be shared by any number of threads; chat and
/// async_chat may run concurrently (the chain's acquire/report and the cap
/// checks are lock-free; the remembered-model table, the ledger's record on
/// success and the hook call take short mutexes).
///
/// The vocabulary (routes, options, chat_result, failover_error) is in
/// http/failover.hpp; the attempt loop's bodies in http/impl/client.hpp.

#include <keypool/chain/chain.hpp>
#include <keypool/core/lease.hpp>
#include <keypool/core/outcome.hpp>
#include <keypool/http/codec.hpp>
#include <keypool/http/detail/any_chat_stream.hpp>
#include <keypool/http/detail/unavailable_models.hpp>
#include <keypool/http/failover.hpp>
#include <keypool/http/transport.hpp>
#include <keypool/http/wire_request.hpp>
#include <keypool/spend/spend.hpp>
#include <keypool/wire/provider_text.hpp>
#include <keypool/wire/request.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::http {

template <class Chain>
class client {
 public:
  using signature = void(chat_outcome);
  using clock = std::chrono::steady_clock;

  /// `routes[i]` describes chain position i (same provider id). The chain and
  /// the transport must outlive the client. Throws std::invalid_argument for
  /// a mismatched route or an unusable base URL.
  client(Chain& chain, transport& t, std::vector<route> routes, failover_options opts = {})
      : chain_(chain), transport_(t), routes_(std::move(routes)), opts_(std::move(opts)) {
    if (routes_.size() != Chain::size)
      throw std::invalid_argument("keypool::http::client: " + std::to_string(routes_.size()) +
                                  " routes for a chain of " + std::to_string(Chain::size) + " providers");
    for (std::size_t i = 0; i < routes_.size(); ++i) {
      const auto& r = routes_[i];
      if (chain_.provider_id(i) != r.provider.id)
        throw std::invalid_argument("keypool::http::client: route " + std::to_string(i) + " is '" + r.provider.id +
                                    "' but the chain has '" + std::string(chain_.provider_id(i)) + "' there");
      if (r.models.empty())
        throw std::invalid_argument("keypool::http::client: route '" + r.provider.id + "' has no models");
      auto u = parse_url(r.provider.base_url);
      if (!u)
        throw std::invalid_argument("keypool::http::client: provider '" + r.provider.id + "': " + u.error().message);
      bases_.push_back(std::move(*u));
    }
    if (!opts_.spend) opts_.spend = std::make_shared<spend_ledger>();
    for (const auto& r : routes_) accounts_.push_back(opts_.spend->provider(r.provider.id, r.provider.display_name));
  }

  /// Starts a chat; `req.model` is ignored (each route's models are used).
  /// Completes with chat_outcome through `token` (callback, use_future,
  /// use_awaitable).
  template <class CompletionToken>
  auto async_chat(wire::chat_request req, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, signature>(
        [this](auto handler, wire::chat_request r) {
          auto ex = transport_.get_executor();
          boost::asio::co_spawn(ex, run_and_complete(std::move(r), stream_sinks{}, std::move(handler)),
                                boost::asio::detached);
        },
        token, std::move(req));
  }

  /// The chat as an awaitable for a coroutine that already runs on the
  /// transport's executor: no coroutine spawned for it and no hop back, which
  /// async_chat with use_awaitable costs. Same outcome, statistics hook
  /// included.
  boost::asio::awaitable<chat_outcome> co_chat(wire::chat_request req) {
    BOOST_ASSERT(transport_.running_in_this_thread());
    return run_guarded(std::move(req), stream_sinks{});
  }

  /// Streams the answer: `on_text` receives text deltas as they arrive (on
  /// the transport's strand), and the completion gets the whole response.
  /// Failover happens only before the first delta; a stream that breaks
  /// after it ends with failover_errc::stream_failed.
  template <class CompletionToken>
  auto async_chat_stream(wire::chat_request req, text_sink on_text, CompletionToken&& token) {
    return async_chat_stream(std::move(req), stream_sinks{std::move(on_text), {}},
                             std::forward<CompletionToken>(token));
  }
  /// The same with tool-call deltas too (`sinks.on_tool_call`); a tool-call
  /// delta counts as delivered output like a text delta.
  template <class CompletionToken>
  auto async_chat_stream(wire::chat_request req, stream_sinks sinks, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, signature>(
        [this](auto handler, wire::chat_request r, stream_sinks s) {
          auto ex = transport_.get_executor();
          boost::asio::co_spawn(ex, run_and_complete(std::move(r), std::move(s), std::move(handler)),
                                boost::asio::detached);
        },
        token, std::move(req), std::move(sinks));
  }

  /// Blocking async_chat_stream.
  chat_outcome chat_stream(wire::chat_request req, text_sink on_text) {
    return chat_stream(std::move(req), stream_sinks{std::move(on_text), {}});
  }
  chat_outcome chat_stream(wire::chat_request req, stream_sinks sinks) {
    if (transport_.running_in_this_thread())
      return fail(failover_errc::invalid_request,
                  "chat_stream() called from the transport's own executor; use async_chat_stream");
    return async_chat_stream(std::move(req), std::move(sinks), boost::asio::use_future).get();
  }

  /// Blocks until done. Not from a thread running the transport's executor.
  chat_outcome chat(wire::chat_request req) {
    if (transport_.running_in_this_thread())
      return fail(failover_errc::invalid_request, "chat() called from the transport's own executor; use async_chat");
    return async_chat(std::move(req), boost::asio::use_future).get();
  }

  const std::vector<route>& routes() const noexcept { return routes_; }
  const failover_options& options() const noexcept { return opts_; }

  /// Costs and spend caps: `spend().set_cap("openai", 5.00)`,
  /// `spend().snapshot()`.
  spend_ledger& spend() const noexcept { return *opts_.spend; }

  /// Installs (or, with an empty function, removes) the statistics hook. It
  /// runs on the transport's executor after a chat completes and before its
  /// completion handler (so a blocking chat() returns after it); calls are
  /// serialized; an exception from it is swallowed. Snapshots are taken only
  /// when it runs.
  void on_statistics(statistics_hook hook, statistics_options o = {}) {
    std::shared_ptr<const hook_state> h;
    if (hook) h = std::make_shared<const hook_state>(hook_state{std::move(hook), o});
    std::lock_guard lock(hook_mu_);
    hook_ = std::move(h);
    has_hook_.store(hook_ != nullptr, std::memory_order_release);
  }

  /// Chats completed so far (answers and errors).
  std::uint64_t completed() const noexcept { return completed_.load(std::memory_order_relaxed); }

  /// Forgets every model remembered as unavailable.
  void clear_unavailable_models() { gone_.clear(); }

  /// Remembers `m` as the client does when a provider answers
  /// model_unavailable (without calling on_model_unavailable): seeds the
  /// memory a store kept from earlier runs. An entry already over is ignored.
  void remember_unavailable(const unavailable_model& m) {
    const auto now = std::chrono::system_clock::now();
    if (m.until <= now) return;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(m.until - now);
    gone_.remember(m.provider, m.account, m.model, detail::deadline_after(clock::now(), left));
  }

 private:
  /// One chat's progress across its attempts. It lives in run_attempts'
  /// frame, so the stream callback may point into it.
  struct chat_state {
    wire::chat_request req;
    stream_sinks sinks;
    std::vector<skipped_provider>& skipped;
    bool streaming = false;
    bool delivered = false;  ///< text reached the caller: no failover after that
    clock::time_point deadline{};
    std::vector<attempt> attempts{};
    typename Chain::skip_set skip{};
  };

  /// Where one attempt with a lease leads.
  struct verdict {
    enum kind_t : std::uint8_t { next_model, next_key, next_provider, done } kind;
    std::optional<chat_outcome> outcome{};  ///< for done
  };
  static verdict done(chat_outcome o) { return {verdict::done, std::move(o)}; }

  struct hook_state {
    statistics_hook fn;
    statistics_options opts;
  };

  /// Takes the attempts by reference and moves them only after every
  /// argument (messages built from them) has been evaluated.
  static chat_outcome fail(failover_errc c, std::string msg, std::vector<attempt>& attempts) {
    return ::keypool::unexpected<failover_error>{
        {c, std::string(to_string(c)) + ": " + std::move(msg), std::move(attempts), std::nullopt, 0, {}, {}}};
  }
  static chat_outcome fail(failover_errc c, std::string msg) {
    std::vector<attempt> none;
    return fail(c, std::move(msg), none);
  }

  /// Whom a model's absence concerns: the account, or the key itself by its
  /// fingerprint (stable across renumbered variables, so it can be stored).
  static std::string_view account_of(const keypool::lease& l) noexcept {
    return l.account().empty() ? l.fingerprint() : l.account();
  }

  void remember_gone(std::string_view provider, std::string_view account, std::string_view model) {
    gone_.remember(provider, account, model, detail::deadline_after(clock::now(), opts_.model_unavailable_ttl));
    if (opts_.on_model_unavailable) tell_gone(provider, account, model);
  }
  void tell_gone(std::string_view provider, std::string_view account, std::string_view model) noexcept;

  /// The first model of route `p`, from `from`, not remembered as gone for
  /// this account; routes_[p].models.size() when none is left.
  std::size_t next_model(std::size_t p, std::size_t from, std::string_view account) {
    const auto& r = routes_[p];
    while (from < r.models.size() && gone_.contains(r.provider.id, account, r.models[from])) ++from;
    return from;
  }

  /// The whole chat: attempts, skipped providers, an exception turned into an
  /// error, and the statistics hook (co_chat).
  boost::asio::awaitable<chat_outcome> run_guarded(wire::chat_request req, stream_sinks sinks);

  /// run_guarded, then the completion handler; written out rather than
  /// awaiting run_guarded, which would cost every async_chat a second
  /// coroutine frame.
  template <class Handler>
  boost::asio::awaitable<void> run_and_complete(wire::chat_request req, stream_sinks sinks, Handler handler);

  static void attach(chat_outcome& out, std::vector<skipped_provider> skipped) {
    if (skipped.empty()) return;
    if (out)
      out->skipped = std::move(skipped);
    else
      out.error().skipped = std::move(skipped);
  }
  static chat_outcome internal_error(const std::exception& e) {
    return fail(failover_errc::invalid_request, std::string("internal error: ") + e.what());
  }

  /// Counts the completion and runs the statistics hook when it is due.
  void notify(const chat_outcome& out);

  static std::string joined(const std::vector<skipped_provider>& skipped) {
    std::string out;
    for (const auto& s : skipped) out += (out.empty() ? "" : ". ") + s.reason;
    return out;
  }

  // The attempt loop (impl/client.hpp): run_attempts walks the chain; each
  // lease serves one or more models through attempt_model; the rest decide.
  boost::asio::awaitable<chat_outcome> run_attempts(wire::chat_request req, stream_sinks sinks,
                                                    std::vector<skipped_provider>& skipped);
  boost::asio::awaitable<verdict> attempt_model(chat_state& st, chain_lease& cl, std::size_t m);
  std::optional<chat_outcome> out_of_budget(chat_state& st) const;
  void skip_capped(chat_state& st);
  void skip_unsupported(chat_state& st);
  static chat_outcome every_provider_skipped(chat_state& st);
  static chat_outcome no_key(chat_state& st, const chain_error& why);
  verdict transport_failed(chat_state& st, chain_lease& cl, attempt a, const error& e,
                           std::optional<detail::any_chat_stream>& stream);
  verdict judge(chat_state& st, chain_lease& cl, attempt a, const response& resp,
                std::optional<detail::any_chat_stream>& stream);
  verdict succeeded(chat_state& st, chain_lease& cl, attempt a, const response& resp,
                    std::optional<detail::any_chat_stream>& stream);
  verdict give_up_on_provider(chat_state& st, chain_lease& cl, attempt a);

  /// Some gateways echo the request's credentials in error bodies: the
  /// caller never gets the secret back, only its redacted form. The response
  /// is scrubbed as it arrives (scrub_response); this second pass covers
  /// what was decoded from it (a JSON-escaped echo) and transport messages.
  static std::string scrub(std::string text, const keypool::lease& l) {
    return wire::scrub_secret(std::move(text), l.secret(), l.redacted());
  }

  static std::string last_reason(const std::vector<attempt>& attempts) {
    if (attempts.empty()) return {};
    const auto& a = attempts.back();
    return "; last: " + a.provider + " " + a.model + " with " + a.key_variable + ": " + a.reason;
  }

  Chain& chain_;
  transport& transport_;
  std::vector<route> routes_;
  std::vector<url> bases_;
  failover_options opts_;
  detail::unavailable_models gone_;
  std::vector<spend_ledger::provider_handle> accounts_;  ///< per route, into opts_.spend
  std::atomic<std::uint64_t> completed_{0};
  std::atomic<bool> has_hook_{false};
  std::mutex hook_mu_;  ///< guards hook_
  std::shared_ptr<const hook_state> hook_;
  std::mutex call_mu_;  ///< serializes hook calls; guards last_hook_
  std::optional<clock::time_point> last_hook_;
};

/// Masks `secret` (whole, and any run of 8 or more of its characters) in
/// every byte a server sent: header values and body, before anything
/// classifies, decodes or cuts them (docs/security.md).
inline void scrub_response(response& r, std::string_view secret, std::string_view mask) {
  if (secret.empty()) return;
  r.body = wire::scrub_secret(std::move(r.body), secret, mask);
  bool changed = false;
  bhttp::fields clean;
  for (const auto& f : r.headers) {
    const auto v = f.value();
    auto s = wire::scrub_secret(std::string(v.data(), v.size()), secret, mask);
    changed = changed || s.size() != v.size() || s != std::string_view(v.data(), v.size());
    clean.insert(f.name_string(), s);
  }
  if (changed) r.headers = std::move(clean);
}

namespace detail {

inline std::string clip_body(std::string_view b) {
  std::string out(b.substr(0, 500));
  if (b.size() > 500) out += "...";
  return out;
}

}  // namespace detail

}  // namespace keypool::http

#include <keypool/http/impl/client.hpp>
