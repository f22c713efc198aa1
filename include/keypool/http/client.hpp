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
///    unavailable for that account (or key) for `model_unavailable_ttl`.
///  - transient (5xx, overload, connection failures, a 2xx body that does not
///    decode): the next provider.
///  - bad_request: returned at once; no other key or provider is tried.
///  - a provider whose spend cap is reached (spend/spend.hpp) is skipped
///    before any attempt; the result/error lists it in `skipped` with the
///    reason.
///
/// Every success adds its usage × price to the client's spend_ledger, and an
/// application hook (on_statistics) can print the statistics after requests.
///
/// Thread safety: a client may be shared by any number of threads; chat and
/// async_chat may run concurrently (the chain's acquire/report and the cap
/// checks are lock-free; the remembered-model table, the ledger's record on
/// success and the hook call take short mutexes).

#include <keypool/chain/chain.hpp>
#include <keypool/classify/classifier.hpp>
#include <keypool/core/outcome.hpp>
#include <keypool/http/codec.hpp>
#include <keypool/http/transport.hpp>
#include <keypool/http/wire_request.hpp>
#include <keypool/providers/descriptor.hpp>
#include <keypool/report/text.hpp>
#include <keypool/spend/spend.hpp>
#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/format.hpp>
#include <keypool/wire/gemini_generate_content.hpp>
#include <keypool/wire/openai_chat.hpp>
#include <keypool/wire/sse.hpp>

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>
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
/// ("OPENAI spend cap of $5.00 reached ($5.02 spent)").
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
  std::vector<skipped_provider> skipped{};  ///< providers skipped for their spend cap
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
  /// Providers skipped for their spend cap (also named in `message`).
  std::vector<skipped_provider> skipped{};
};

using chat_outcome = ::keypool::result<chat_result, failover_error>;

/// Receives streamed text deltas, in order, on the transport's strand.
using text_sink = std::function<void(std::string_view)>;

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

/// The seed's table ("📊 API KEY STATISTICS") followed by the "💰 SPEND" block.
inline std::string statistics_text(const statistics_event& e) {
  return report::text(e.pools) + "\n" + spend_text(e.spend);
}

namespace detail {

inline std::string clip_body(std::string_view b) {
  std::string out(b.substr(0, 500));
  if (b.size() > 500) out += "...";
  return out;
}

/// A streamed response of any of the three formats.
class any_chat_stream {
 public:
  explicit any_chat_stream(providers::wire_format f) {
    wire::visit_format(
        f, [this](auto codec) { s_.template emplace<wire::chat_stream<typename decltype(codec)::type>>(); }, [] {});
  }
  template <class OnText>
  bool feed(std::string_view bytes, OnText&& on_text) {
    return std::visit(
        [&](auto& s) {
          if constexpr (std::is_same_v<std::decay_t<decltype(s)>, std::monostate>)
            return false;
          else
            return s.feed(bytes, on_text);
        },
        s_);
  }
  wire::decode_result finish() {
    return std::visit(
        [](auto& s) -> wire::decode_result {
          if constexpr (std::is_same_v<std::decay_t<decltype(s)>, std::monostate>)
            return ::keypool::unexpected<wire::decode_error>{{wire::decode_errc::internal, "no stream"}};
          else
            return s.finish();
        },
        s_);
  }

 private:
  std::variant<std::monostate, wire::chat_stream<wire::openai_chat>, wire::chat_stream<wire::anthropic_messages>,
               wire::chat_stream<wire::gemini_generate_content>>
      s_;
};

}  // namespace detail

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
          boost::asio::co_spawn(ex, run_and_complete(std::move(r), text_sink{}, std::move(handler)),
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
    return run_guarded(std::move(req), text_sink{});
  }

  /// Streams the answer: `on_text` receives text deltas as they arrive (on
  /// the transport's strand), and the completion gets the whole response.
  /// Failover happens only before the first delta; a stream that breaks
  /// after it ends with failover_errc::stream_failed.
  template <class CompletionToken>
  auto async_chat_stream(wire::chat_request req, text_sink on_text, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, signature>(
        [this](auto handler, wire::chat_request r, text_sink sink) {
          auto ex = transport_.get_executor();
          boost::asio::co_spawn(ex, run_and_complete(std::move(r), std::move(sink), std::move(handler)),
                                boost::asio::detached);
        },
        token, std::move(req), std::move(on_text));
  }

  /// Blocking async_chat_stream.
  chat_outcome chat_stream(wire::chat_request req, text_sink on_text) {
    if (transport_.running_in_this_thread())
      return fail(failover_errc::invalid_request,
                  "chat_stream() called from the transport's own executor; use async_chat_stream");
    return async_chat_stream(std::move(req), std::move(on_text), boost::asio::use_future).get();
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
  void clear_unavailable_models() {
    std::lock_guard lock(mu_);
    gone_.clear();
    gone_size_.store(0, std::memory_order_release);
  }

 private:
  using gone_key = std::tuple<std::string, std::string, std::string>;  // provider, account-or-variable, model
  using gone_view = std::tuple<std::string_view, std::string_view, std::string_view>;
  /// Orders keys and views alike, so a lookup needs no strings built.
  struct gone_less {
    using is_transparent = void;
    static gone_view view(const gone_key& k) noexcept { return {std::get<0>(k), std::get<1>(k), std::get<2>(k)}; }
    static const gone_view& view(const gone_view& v) noexcept { return v; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return view(a) < view(b);
    }
  };

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

  static std::string_view account_of(const keypool::lease& l) noexcept {
    return l.account().empty() ? l.variable() : l.account();
  }

  bool model_gone(std::string_view provider, std::string_view account, std::string_view model) {
    // The common case, nothing remembered: no lock, no lookup.
    if (gone_size_.load(std::memory_order_acquire) == 0) return false;
    std::lock_guard lock(mu_);
    const auto it = gone_.find(gone_view{provider, account, model});
    if (it == gone_.end()) return false;
    if (clock::now() < it->second) return true;
    gone_.erase(it);
    gone_size_.store(gone_.size(), std::memory_order_release);
    return false;
  }

  void remember_gone(std::string_view provider, std::string_view account, std::string_view model) {
    std::lock_guard lock(mu_);
    gone_[gone_key{provider, account, model}] = detail::deadline_after(clock::now(), opts_.model_unavailable_ttl);
    gone_size_.store(gone_.size(), std::memory_order_release);
  }

  /// The first model of route `p`, from `from`, not remembered as gone for
  /// this account; routes_[p].models.size() when none is left.
  std::size_t next_model(std::size_t p, std::size_t from, std::string_view account) {
    const auto& r = routes_[p];
    while (from < r.models.size() && model_gone(r.provider.id, account, r.models[from])) ++from;
    return from;
  }

  /// The whole chat: attempts, skipped providers, an exception turned into an
  /// error, and the statistics hook (co_chat).
  boost::asio::awaitable<chat_outcome> run_guarded(wire::chat_request req, text_sink sink) {
    std::optional<chat_outcome> out;
    try {
      std::vector<skipped_provider> skipped;
      out.emplace(co_await run_attempts(std::move(req), std::move(sink), skipped));
      attach(*out, std::move(skipped));
    } catch (const std::exception& e) {
      out.emplace(internal_error(e));
    }
    notify(*out);
    co_return std::move(*out);
  }

  /// run_guarded, then the completion handler; written out rather than
  /// awaiting run_guarded, which would cost every async_chat a second
  /// coroutine frame.
  template <class Handler>
  boost::asio::awaitable<void> run_and_complete(wire::chat_request req, text_sink sink, Handler handler) {
    std::optional<chat_outcome> out;
    try {
      std::vector<skipped_provider> skipped;
      out.emplace(co_await run_attempts(std::move(req), std::move(sink), skipped));
      attach(*out, std::move(skipped));
    } catch (const std::exception& e) {
      out.emplace(internal_error(e));
    }
    notify(*out);
    auto ex = boost::asio::get_associated_executor(handler, transport_.get_executor());
    boost::asio::dispatch(ex, [h = std::move(handler), r = std::move(*out)]() mutable { std::move(h)(std::move(r)); });
  }

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
  void notify(const chat_outcome& out) {
    const auto n = completed_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (!has_hook_.load(std::memory_order_acquire)) return;
    std::shared_ptr<const hook_state> h;
    {
      std::lock_guard lock(hook_mu_);
      h = hook_;
    }
    if (!h || (h->opts.every_n_requests > 1 && n % h->opts.every_n_requests != 0)) return;
    std::lock_guard lock(call_mu_);
    const auto now = clock::now();
    if (h->opts.min_interval.count() > 0 && last_hook_ && now - *last_hook_ < h->opts.min_interval) return;
    last_hook_ = now;
    try {
      const auto pools = chain_.snapshot();
      const auto spent = opts_.spend->snapshot();
      h->fn(statistics_event{out, pools, spent, n});
    } catch (...) {
      // The hook is the application's; its failure must not break the chat.
    }
  }

  static std::string joined(const std::vector<skipped_provider>& skipped) {
    std::string out;
    for (const auto& s : skipped) out += (out.empty() ? "" : ". ") + s.reason;
    return out;
  }

  boost::asio::awaitable<chat_outcome> run_attempts(wire::chat_request req, text_sink sink,
                                                    std::vector<skipped_provider>& skipped) {
    const bool streaming = static_cast<bool>(sink);
    bool delivered = false;  // text reached the caller: no failover after that
    const auto deadline = detail::deadline_after(clock::now(), opts_.deadline);  // max(): no deadline
    std::vector<attempt> attempts;
    typename Chain::skip_set skip;
    for (;;) {
      if (attempts.size() >= opts_.max_attempts)
        co_return fail(failover_errc::attempts_exhausted,
                       "gave up after " + std::to_string(attempts.size()) + " attempts" + last_reason(attempts),
                       attempts);
      if (clock::now() >= deadline)
        co_return fail(
            failover_errc::deadline_exceeded,
            "the deadline of " + std::to_string(opts_.deadline.count()) + " ms passed" + last_reason(attempts),
            attempts);
      // Spend caps: lock-free reads; a capped provider is skipped, with its reason.
      for (std::size_t i = 0; i < routes_.size(); ++i)
        if (!skip.test(i))
          if (auto why = opts_.spend->cap_reason(accounts_[i])) {
            skip.set(i);
            skipped.push_back({routes_[i].provider.id, std::move(*why)});
          }
      if (skip.all()) {
        if (attempts.empty())
          co_return fail(failover_errc::all_unavailable, "No provider available: " + joined(skipped), attempts);
        co_return fail(failover_errc::all_unavailable,
                       "every provider failed" + (skipped.empty() ? std::string() : "; skipped: " + joined(skipped)) +
                           last_reason(attempts),
                       attempts);
      }
      auto acquired = chain_.acquire(skip);
      if (!acquired) {
        const chain_error& why = acquired.error();
        const auto wait = why.next_available();
        if (opts_.wait_for_key && wait && detail::deadline_after(clock::now(), *wait) < deadline) {
          boost::asio::steady_timer t(transport_.get_executor(), std::max(*wait, std::chrono::milliseconds(1)));
          boost::system::error_code ec;
          co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
          continue;
        }
        auto e = fail(failover_errc::all_unavailable,
                      skipped.empty() ? why.message() : why.message() + ". " + joined(skipped), attempts);
        e.error().unavailable = why;
        co_return e;
      }
      chain_lease cl = std::move(*acquired);
      const std::size_t p = cl.index;
      const route& rt = routes_[p];
      const std::string_view account = account_of(cl.lease);  // the lease outlives its uses
      std::size_t m = next_model(p, 0, account);
      bool next_provider = false;
      // One lease may serve several models (model_unavailable keeps the key);
      // it is reported exactly once.
      for (;;) {
        if (m >= rt.models.size()) {
          chain_.report(cl, keypool::outcome::model_unavailable());
          next_provider = true;
          break;
        }
        if (attempts.size() >= opts_.max_attempts || clock::now() >= deadline) {
          // Budget ran out while holding a key that did nothing wrong.
          chain_.report(cl, keypool::outcome::transient());
          break;
        }
        // The caller's model is ignored anyway: set the route's in place
        // rather than copy the request (and its images) per attempt.
        req.model = rt.models[m];
        const wire::chat_request& r = req;
        auto enc = encode_chat(rt.provider, r, cl.lease.secret(), {bases_[p].target, rt.image_form, streaming});
        if (!enc) {
          chain_.report(cl, keypool::outcome::bad_request());
          co_return fail(failover_errc::invalid_request, scrub(enc.error().message, cl.lease), attempts);
        }
        auto hreq = make_request(bases_[p], std::move(*enc));
        for (const auto& [n, v] : rt.provider.extra_headers)
          if (hreq.headers.find(n) == hreq.headers.end()) hreq.headers.set(n, v);
        hreq.deadline = deadline;
        std::optional<detail::any_chat_stream> stream;
        if (streaming) {
          stream.emplace(rt.provider.wire);
          // Runs on the strand while this coroutine is suspended in the send.
          hreq.on_body = [&stream, &sink, &delivered](std::string_view bytes) {
            return stream->feed(bytes, [&](std::string_view t) {
              delivered = true;
              sink(t);
            });
          };
        }
        const auto start = clock::now();
        auto resp = co_await transport_.co_send(std::move(hreq));  // this coroutine runs on its strand
        attempt a{rt.provider.id,
                  r.model,
                  std::string(cl.lease.variable()),
                  {},
                  {},
                  0,
                  std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start)};
        if (!resp && stream && resp.error().code == errc::cancelled) {
          // The stream decoder stopped the body: report its reason.
          auto bad = stream->finish();
          a.outcome = keypool::outcome::transient();
          a.reason = scrub(bad ? resp.error().message : bad.error().message, cl.lease);
          attempts.push_back(std::move(a));
          chain_.report(cl, keypool::outcome::transient());
          if (delivered) co_return fail(failover_errc::stream_failed, attempts.back().reason, attempts);
          next_provider = true;
          break;
        }
        if (!resp) {
          // Nothing the key did: connection trouble is the provider's (or the
          // network's), so move on to the next provider.
          a.outcome = keypool::outcome::transient();
          a.reason = scrub(resp.error().message, cl.lease);
          if (delivered) {
            attempts.push_back(std::move(a));
            chain_.report(cl, keypool::outcome::transient());
            co_return fail(failover_errc::stream_failed, attempts.back().reason, attempts);
          }
          attempts.push_back(std::move(a));
          chain_.report(cl, keypool::outcome::transient());
          next_provider = true;
          break;
        }
        a.status = resp->status;
        const auto lookup = [&resp](std::string_view n) { return resp->header(n); };
        auto c = classify::classify(rt.provider, static_cast<int>(resp->status), lookup, resp->body,
                                    std::chrono::system_clock::now(), opts_.classify);
        a.outcome = c.result;
        a.reason = scrub(c.reason, cl.lease);
        if (c.result.kind == outcome_kind::success) {
          auto decoded = stream ? stream->finish() : decode_chat(rt.provider, resp->body);
          if (decoded) {
            attempts.push_back(std::move(a));
            chain_.report(cl, keypool::outcome::success());
            const double cost = opts_.spend->record(accounts_[p], cl.lease.variable(), cl.lease.fingerprint(), r.model,
                                                    decoded->usage, decoded->model);
            chat_result ok{std::move(*decoded), rt.provider.id, r.model, std::string(cl.lease.variable()),
                           std::move(attempts), cost,           {}};
            co_return ok;
          }
          // A 2xx the codec cannot read: the provider's problem, not the key's.
          a.outcome = keypool::outcome::transient();
          a.reason = scrub(decoded.error().message, cl.lease);
          attempts.push_back(std::move(a));
          chain_.report(cl, keypool::outcome::transient());
          if (delivered) co_return fail(failover_errc::stream_failed, attempts.back().reason, attempts);
          next_provider = true;
          break;
        }
        attempts.push_back(std::move(a));
        switch (c.result.kind) {
          case outcome_kind::model_unavailable:
            remember_gone(rt.provider.id, account, r.model);
            m = next_model(p, m + 1, account);
            continue;  // same key, next model (or report and leave above)
          case outcome_kind::bad_request: {
            chain_.report(cl, c.result);
            auto e = fail(failover_errc::bad_request,
                          rt.provider.id + " rejected the request (" + scrub(c.reason, cl.lease) + ")", attempts);
            e.error().status = resp->status;
            e.error().body = detail::clip_body(scrub(resp->body, cl.lease));
            co_return e;
          }
          case outcome_kind::transient:
            chain_.report(cl, c.result);
            next_provider = true;
            break;
          default:  // the key's problem: its pool locks or disables it; try another key
            chain_.report(cl, c.result);
            break;
        }
        break;
      }
      if (next_provider) skip.set(p);
    }
  }

  /// Some gateways echo the request's credentials in error bodies: the
  /// caller never gets the secret back, only its redacted form.
  static std::string scrub(std::string text, const keypool::lease& l) {
    const std::string_view secret = l.secret();
    if (secret.empty()) return text;
    const std::string_view shown = l.redacted();
    for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + shown.size()))
      text.replace(at, secret.size(), shown);
    return text;
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
  std::mutex mu_;
  std::map<gone_key, clock::time_point, gone_less> gone_;  ///< looked up by gone_view
  std::atomic<std::size_t> gone_size_{0};                  ///< gone_.size(), read without mu_
  std::vector<spend_ledger::provider_handle> accounts_;    ///< per route, into opts_.spend
  std::atomic<std::uint64_t> completed_{0};
  std::atomic<bool> has_hook_{false};
  std::mutex hook_mu_;  ///< guards hook_
  std::shared_ptr<const hook_state> hook_;
  std::mutex call_mu_;  ///< serializes hook calls; guards last_hook_
  std::optional<clock::time_point> last_hook_;
};

}  // namespace keypool::http
