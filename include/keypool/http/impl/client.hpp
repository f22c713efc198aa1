#pragma once
/// Out-of-line bodies of http/client.hpp: the chat's run, its statistics
/// hook, and the attempt loop, one decision per function.

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace keypool::http {

template <class Chain>
boost::asio::awaitable<chat_outcome> client<Chain>::run_guarded(wire::chat_request req, stream_sinks sinks) {
  std::optional<chat_outcome> out;
  try {
    std::vector<skipped_provider> skipped;
    out.emplace(co_await run_attempts(std::move(req), std::move(sinks), skipped));
    attach(*out, std::move(skipped));
  } catch (const std::exception& e) {
    out.emplace(internal_error(e));
  }
  notify(*out);
  co_return std::move(*out);
}

template <class Chain>
template <class Handler>
boost::asio::awaitable<void> client<Chain>::run_and_complete(wire::chat_request req, stream_sinks sinks,
                                                             Handler handler) {
  std::optional<chat_outcome> out;
  try {
    std::vector<skipped_provider> skipped;
    out.emplace(co_await run_attempts(std::move(req), std::move(sinks), skipped));
    attach(*out, std::move(skipped));
  } catch (const std::exception& e) {
    out.emplace(internal_error(e));
  }
  notify(*out);
  auto ex = boost::asio::get_associated_executor(handler, transport_.get_executor());
  boost::asio::dispatch(ex, [h = std::move(handler), r = std::move(*out)]() mutable { std::move(h)(std::move(r)); });
}

template <class Chain>
void client<Chain>::notify(const chat_outcome& out) {
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

/// The hook's wall-clock deadline: the TTL from now, saturated.
template <class Chain>
void client<Chain>::tell_gone(std::string_view provider, std::string_view account, std::string_view model) noexcept {
  using sys = std::chrono::system_clock;
  const auto now = sys::now();
  const auto ttl = opts_.model_unavailable_ttl;
  const auto until = ttl >= std::chrono::duration_cast<std::chrono::milliseconds>(sys::time_point::max() - now)
                         ? sys::time_point::max()
                         : now + std::chrono::duration_cast<sys::duration>(ttl);
  try {
    opts_.on_model_unavailable(
        unavailable_model{std::string(provider), std::string(account), std::string(model), until});
  } catch (...) {
    // The hook is the application's; its failure must not break the chat.
  }
}

template <class Chain>
boost::asio::awaitable<chat_outcome> client<Chain>::run_attempts(wire::chat_request req, stream_sinks sinks,
                                                                 std::vector<skipped_provider>& skipped) {
  const bool streaming = static_cast<bool>(sinks);
  chat_state st{std::move(req), std::move(sinks),
                skipped,        streaming,
                false,          detail::deadline_after(clock::now(), opts_.deadline)};  // max(): no deadline
  skip_unsupported(st);
  for (;;) {
    if (auto end = out_of_budget(st)) co_return std::move(*end);
    skip_capped(st);
    if (st.skip.all()) co_return every_provider_skipped(st);
    auto acquired = chain_.acquire(st.skip);
    if (!acquired) {
      const chain_error& why = acquired.error();
      const auto wait = why.next_available();
      if (opts_.wait_for_key && wait && detail::deadline_after(clock::now(), *wait) < st.deadline) {
        boost::asio::steady_timer t(transport_.get_executor(), std::max(*wait, std::chrono::milliseconds(1)));
        boost::system::error_code ec;
        co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
        continue;
      }
      co_return no_key(st, why);
    }
    chain_lease cl = std::move(*acquired);
    const std::size_t p = cl.index;
    const std::string_view account = account_of(cl.lease);  // the lease outlives its uses
    // One lease may serve several models (model_unavailable keeps the key);
    // it is reported exactly once.
    bool again = false;
    for (std::size_t m = next_model(p, 0, account);;) {
      if (m >= routes_[p].models.size()) {
        chain_.report(cl, keypool::outcome::model_unavailable());
        st.skip.set(p);
        break;
      }
      if (st.attempts.size() >= opts_.max_attempts || clock::now() >= st.deadline) {
        // Budget ran out while holding a key that did nothing wrong.
        chain_.report(cl, keypool::outcome::transient());
        break;
      }
      // The previous attempt on this lease (a retired model) counts as a
      // request of its own, with its outcome.
      if (again) chain_.note_attempt(cl, st.attempts.back().outcome);
      verdict v = co_await attempt_model(st, cl, m);
      if (v.kind == verdict::done) co_return std::move(*v.outcome);
      if (v.kind == verdict::next_model) {
        again = true;
        m = next_model(p, m + 1, account);
        continue;  // same key, next model (or report and leave above)
      }
      if (v.kind == verdict::next_provider) st.skip.set(p);
      break;
    }
  }
}

/// One HTTP attempt: encode for the route's model `m`, send, and judge.
template <class Chain>
boost::asio::awaitable<typename client<Chain>::verdict> client<Chain>::attempt_model(chat_state& st, chain_lease& cl,
                                                                                     std::size_t m) {
  const std::size_t p = cl.index;
  const route& rt = routes_[p];
  // The caller's model is ignored anyway: set the route's in place rather
  // than copy the request (and its images) per attempt.
  st.req.model = rt.models[m];
  auto enc = encode_chat(rt.provider, st.req, cl.lease.secret(), {bases_[p].target, rt.image_form, st.streaming});
  if (!enc) {
    chain_.report(cl, keypool::outcome::bad_request());
    co_return done(fail(failover_errc::invalid_request, scrub(enc.error().message, cl.lease), st.attempts));
  }
  auto hreq = make_request(bases_[p], std::move(*enc));
  for (const auto& [n, v] : rt.provider.extra_headers)
    if (hreq.headers.find(n) == hreq.headers.end()) hreq.headers.set(n, v);
  hreq.deadline = st.deadline;
  std::optional<detail::any_chat_stream> stream;
  if (st.streaming) {
    stream.emplace(rt.provider.wire);
    // Runs on the strand while this coroutine is suspended in the send.
    hreq.on_body = [&stream, &st](std::string_view bytes) {
      return stream->feed(
          bytes,
          [&](std::string_view t) {
            st.delivered = true;
            if (st.sinks.on_text) st.sinks.on_text(t);
          },
          [&](const wire::tool_call_delta& d) {
            st.delivered = true;
            if (st.sinks.on_tool_call) st.sinks.on_tool_call(d);
          });
    };
  }
  const auto start = clock::now();
  auto resp = co_await transport_.co_send(std::move(hreq));  // this coroutine runs on its strand
  if (resp) scrub_response(*resp, cl.lease.secret(), cl.lease.redacted());
  attempt a{rt.provider.id,
            st.req.model,
            std::string(cl.lease.variable()),
            {},
            {},
            0,
            std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start)};
  if (!resp) co_return transport_failed(st, cl, std::move(a), resp.error(), stream);
  co_return judge(st, cl, std::move(a), *resp, stream);
}

template <class Chain>
std::optional<chat_outcome> client<Chain>::out_of_budget(chat_state& st) const {
  if (st.attempts.size() >= opts_.max_attempts)
    return fail(failover_errc::attempts_exhausted,
                "gave up after " + std::to_string(st.attempts.size()) + " attempts" + last_reason(st.attempts),
                st.attempts);
  if (clock::now() >= st.deadline)
    return fail(failover_errc::deadline_exceeded,
                "the deadline of " + std::to_string(opts_.deadline.count()) + " ms passed" + last_reason(st.attempts),
                st.attempts);
  return std::nullopt;
}

/// Spend caps: lock-free reads; a capped provider is skipped, with its reason.
template <class Chain>
void client<Chain>::skip_capped(chat_state& st) {
  for (std::size_t i = 0; i < routes_.size(); ++i)
    if (!st.skip.test(i))
      if (auto why = opts_.spend->cap_reason(accounts_[i])) {
        st.skip.set(i);
        st.skipped.push_back({routes_[i].provider.id, std::move(*why)});
      }
}

/// A provider that cannot express the request (wire::encode_errc::unsupported:
/// an image URL for Gemini, a seed for Anthropic) is skipped before any key
/// is taken, with the encoder's reason.
template <class Chain>
void client<Chain>::skip_unsupported(chat_state& st) {
  for (std::size_t i = 0; i < routes_.size(); ++i)
    if (auto why =
            unsupported_by(routes_[i].provider, st.req, {bases_[i].target, routes_[i].image_form, st.streaming})) {
      st.skip.set(i);
      st.skipped.push_back({routes_[i].provider.id, routes_[i].provider.id + ": " + std::move(why->message)});
    }
}

template <class Chain>
chat_outcome client<Chain>::every_provider_skipped(chat_state& st) {
  if (st.attempts.empty())
    return fail(failover_errc::all_unavailable, "No provider available: " + joined(st.skipped), st.attempts);
  return fail(failover_errc::all_unavailable,
              "every provider failed" + (st.skipped.empty() ? std::string() : "; skipped: " + joined(st.skipped)) +
                  last_reason(st.attempts),
              st.attempts);
}

template <class Chain>
chat_outcome client<Chain>::no_key(chat_state& st, const chain_error& why) {
  auto e = fail(failover_errc::all_unavailable,
                st.skipped.empty() ? why.message() : why.message() + ". " + joined(st.skipped), st.attempts);
  e.error().unavailable = why;
  return e;
}

template <class Chain>
typename client<Chain>::verdict client<Chain>::transport_failed(chat_state& st, chain_lease& cl, attempt a,
                                                                const error& e,
                                                                std::optional<detail::any_chat_stream>& stream) {
  a.outcome = keypool::outcome::transient();
  if (stream && e.code == errc::cancelled) {
    // The stream decoder stopped the body: report its reason.
    auto bad = stream->finish();
    a.reason = scrub(bad ? e.message : bad.error().message, cl.lease);
  } else {
    // Nothing the key did: connection trouble is the provider's (or the
    // network's), so move on to the next provider.
    a.reason = scrub(e.message, cl.lease);
  }
  return give_up_on_provider(st, cl, std::move(a));
}

/// A response arrived: the classifier's verdict decides what comes next.
template <class Chain>
typename client<Chain>::verdict client<Chain>::judge(chat_state& st, chain_lease& cl, attempt a, const response& resp,
                                                     std::optional<detail::any_chat_stream>& stream) {
  const route& rt = routes_[cl.index];
  a.status = resp.status;
  const auto lookup = [&resp](std::string_view n) { return resp.header(n); };
  auto c = classify::classify(rt.provider, static_cast<int>(resp.status), lookup, resp.body,
                              std::chrono::system_clock::now(), opts_.classify);
  a.outcome = c.result;
  a.reason = scrub(c.reason, cl.lease);
  if (c.result.kind == outcome_kind::success) return succeeded(st, cl, std::move(a), resp, stream);
  st.attempts.push_back(std::move(a));
  switch (c.result.kind) {
    case outcome_kind::model_unavailable:
      remember_gone(rt.provider.id, account_of(cl.lease), st.req.model);
      return {verdict::next_model};
    case outcome_kind::bad_request: {
      chain_.report(cl, c.result);
      auto e = fail(failover_errc::bad_request,
                    rt.provider.id + " rejected the request (" + scrub(c.reason, cl.lease) + ")", st.attempts);
      e.error().status = resp.status;
      e.error().body = detail::clip_body(scrub(resp.body, cl.lease));
      return done(std::move(e));
    }
    case outcome_kind::transient: chain_.report(cl, c.result); return {verdict::next_provider};
    default:  // the key's problem: its pool locks or disables it; try another key
      chain_.report(cl, c.result);
      return {verdict::next_key};
  }
}

/// A 2xx: the answer, unless its body does not decode.
template <class Chain>
typename client<Chain>::verdict client<Chain>::succeeded(chat_state& st, chain_lease& cl, attempt a,
                                                         const response& resp,
                                                         std::optional<detail::any_chat_stream>& stream) {
  const std::size_t p = cl.index;
  auto decoded = stream ? stream->finish() : decode_chat(routes_[p].provider, resp.body);
  if (!decoded) {
    // A 2xx the codec cannot read: the provider's problem, not the key's.
    a.outcome = keypool::outcome::transient();
    a.reason = scrub(decoded.error().message, cl.lease);
    return give_up_on_provider(st, cl, std::move(a));
  }
  st.attempts.push_back(std::move(a));
  chain_.report(cl, keypool::outcome::success());
  const double cost = opts_.spend->record(accounts_[p], cl.lease.variable(), cl.lease.fingerprint(), st.req.model,
                                          decoded->usage, decoded->model);
  return done(chat_result{std::move(*decoded),
                          routes_[p].provider.id,
                          st.req.model,
                          std::string(cl.lease.variable()),
                          std::move(st.attempts),
                          cost,
                          {}});
}

/// A transient failure: the next provider, unless text already reached the
/// caller (no failover after that).
template <class Chain>
typename client<Chain>::verdict client<Chain>::give_up_on_provider(chat_state& st, chain_lease& cl, attempt a) {
  st.attempts.push_back(std::move(a));
  chain_.report(cl, keypool::outcome::transient());
  if (st.delivered) return done(fail(failover_errc::stream_failed, st.attempts.back().reason, st.attempts));
  return {verdict::next_provider};
}

}  // namespace keypool::http
