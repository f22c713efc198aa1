#pragma once
/// Out-of-line bodies of serve/detail/passthrough.hpp: one decision per
/// function.

#include <algorithm>
#include <utility>

namespace keypool::serve::detail {

template <class Chain>
boost::asio::awaitable<answer> passthrough<Chain>::run() {
  deadline_ = http::detail::deadline_after(clock::now(), c_.opts.deadline);
  skip_untranslatable();
  for (;;) {
    if (skip_.all()) co_return nothing_left();
    if (attempts_.size() >= c_.opts.max_attempts)
      co_return gave_up("gave up after " + std::to_string(attempts_.size()) + " attempts");
    if (clock::now() >= deadline_)
      co_return gave_up("the deadline of " + std::to_string(c_.opts.deadline.count()) + " ms passed", 504);
    auto got = c_.chain.acquire(skip_);
    if (!got) co_return no_key(got.error());
    chain_lease cl = std::move(*got);
    if (auto a = co_await attempt(cl)) co_return std::move(*a);
  }
}

/// Providers of another format are left out when the request cannot be
/// decoded, or uses a feature their format cannot express (the reason kept).
template <class Chain>
void passthrough<Chain>::skip_untranslatable() {
  for (std::size_t i = 0; i < Chain::size; ++i) {
    if (skip_.test(i) || same_format(in_, c_.routes[i].provider.wire)) continue;
    if (!translated_) translated_.emplace(to_chat_request(in_, body_));
    std::optional<std::string> why;
    if (!*translated_)
      why = translated_->error().message;
    else
      why = untranslatable_for(c_.routes[i], (*translated_)->chat);
    if (!why) continue;
    skip_.set(i);
    untranslated_ += (untranslated_.empty() ? "" : "; ") + c_.routes[i].provider.id + ": " + *why;
  }
}

template <class Chain>
boost::asio::awaitable<std::optional<answer>> passthrough<Chain>::attempt(chain_lease& cl) {
  const std::size_t p = cl.index;
  const auto& rt = c_.routes[p];
  const std::string model = plan_.model[p].empty() ? rt.models[model_index_[p]] : plan_.model[p];
  const bool same = same_format(in_, rt.provider.wire);
  answer refused;
  stream_.reset();
  auto req = build(cl, model, same, refused);
  if (!req) co_return facts(std::move(refused));
  if (relay_ && same)
    // Runs on the transport's strand while this coroutine waits in co_send.
    req->on_body = [this, &cl, &model](std::string_view bytes) {
      if (!relay_->started()) relay_->start(stream_head(cl, model));
      return relay_->push(wire::scrub_secret(std::string(bytes), cl.lease.secret(), cl.lease.redacted()));
    };
  else if (relay_)
    translate_stream(*req, cl, model);
  const auto start = clock::now();
  auto resp = co_await c_.transport.co_send(std::move(*req));
  http::attempt a{rt.provider.id,
                  model,
                  std::string(cl.lease.variable()),
                  {},
                  {},
                  0,
                  std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start)};
  if (!resp) co_return transport_failed(cl, std::move(a), resp.error());
  http::scrub_response(*resp, cl.lease.secret(), cl.lease.redacted());
  co_return judged(cl, std::move(a), *resp, same);
}

/// The upstream request: the caller's bytes with the model replaced, or the
/// translation; nullopt (and `refused`) when the translation cannot encode.
template <class Chain>
std::optional<http::request> passthrough<Chain>::build(chain_lease& cl, const std::string& model, bool same,
                                                       answer& refused) {
  const std::size_t p = cl.index;
  const auto& rt = c_.routes[p];
  http::request req;
  if (same) {
    req.url = c_.bases[p];
    req.url.target += endpoint_of(in_);
    req.body = with_model(body_, facts_, model);
    req.headers.set(boost::beast::http::field::content_type, "application/json");
    if (facts_.stream) req.headers.set(boost::beast::http::field::accept, "text/event-stream");
    set_credentials(req.headers, rt.provider, cl.lease.secret());
  } else {
    auto chat = (*translated_)->chat;
    chat.model = model;
    auto enc = http::encode_chat(rt.provider, chat, cl.lease.secret(),
                                 {c_.bases[p].target, rt.image_form, (*translated_)->stream});
    if (!enc) {
      c_.chain.report(cl, keypool::outcome::bad_request());
      refused = error_answer(in_, 400, rt.provider.id + ": " + scrub(enc.error().message, cl.lease));
      return std::nullopt;
    }
    req = http::make_request(c_.bases[p], std::move(*enc));
    if ((*translated_)->stream) req.headers.set(boost::beast::http::field::accept, "text/event-stream");
  }
  for (const auto& [n, v] : rt.provider.extra_headers)
    if (req.headers.find(n) == req.headers.end()) req.headers.set(n, v);
  req.deadline = deadline_;
  return req;
}

template <class Chain>
std::optional<answer> passthrough<Chain>::transport_failed(chain_lease& cl, http::attempt a, const http::error& e) {
  // A translated stream that did not decode was abandoned by its sink: say why.
  a.reason = scrub(stream_ && !stream_->error().empty() ? stream_->error() : e.message, cl.lease);
  if (relay_ && relay_->started()) {
    // After the first byte there is no failover. A caller that went away
    // cancelled the upstream request: the provider did nothing wrong.
    const bool caller_gone = e.code == http::errc::cancelled && relay_->failed();
    a.outcome = caller_gone ? keypool::outcome::success() : keypool::outcome::transient();
    a.status = 200;
    record(cl, std::move(a));
    answer out = facts(answer{});
    out.streamed = true;
    out.close = true;  // the chunked body never got its end
    out.error = caller_gone ? "the caller went away during the stream" : attempts_.back().reason;
    return out;
  }
  a.outcome = keypool::outcome::transient();
  record(cl, std::move(a));
  skip_.set(cl.index);
  return std::nullopt;
}

template <class Chain>
std::optional<answer> passthrough<Chain>::judged(chain_lease& cl, http::attempt a, http::response& resp, bool same) {
  const auto& rt = c_.routes[cl.index];
  a.status = resp.status;
  const auto lookup = [&resp](std::string_view n) { return resp.header(n); };
  auto c = classify::classify(rt.provider, static_cast<int>(resp.status), lookup, resp.body,
                              std::chrono::system_clock::now(), c_.opts.classify);
  a.outcome = c.result;
  a.reason = scrub(c.reason, cl.lease);
  switch (c.result.kind) {
    case outcome_kind::success: return succeeded(cl, std::move(a), resp, same);
    case outcome_kind::model_unavailable:
      record(cl, std::move(a));
      next_model(cl.index);
      return std::nullopt;
    case outcome_kind::bad_request: {
      record(cl, std::move(a));
      answer out = same ? answer{400, "application/json", std::move(resp.body)}
                        : error_answer(in_, 400, rt.provider.id + " rejected the request: " + attempts_.back().reason);
      out.error = attempts_.back().reason;
      return facts(std::move(out));
    }
    case outcome_kind::transient:
      record(cl, std::move(a));
      skip_.set(cl.index);
      return std::nullopt;
    default:  // the key's problem: its pool locks or disables it; another key
      record(cl, std::move(a));
      return std::nullopt;
  }
}

/// A 2xx: relayed as it came, or translated back.
template <class Chain>
std::optional<answer> passthrough<Chain>::succeeded(chain_lease& cl, http::attempt a, http::response& resp, bool same) {
  answer out;
  if (relay_ && !same) return stream_translated(cl, std::move(a));
  if (relay_ && relay_->started()) {
    record(cl, std::move(a));
    relay_->finish();
    out.streamed = true;
    return facts(std::move(out));
  }
  if (same) {
    const auto ct = resp.header("content-type");
    out.content_type = ct ? std::string(*ct) : "application/json";
    out.body = std::move(resp.body);
  } else {
    auto decoded = http::decode_chat(c_.routes[cl.index].provider, resp.body);
    if (!decoded) {
      // A 2xx the codec cannot read: the provider's problem, not the key's.
      a.outcome = keypool::outcome::transient();
      a.reason = scrub(decoded.error().message, cl.lease);
      record(cl, std::move(a));
      skip_.set(cl.index);
      return std::nullopt;
    }
    out.body = from_chat_response(in_, *decoded, a.model);
  }
  out.status = resp.status;
  record(cl, std::move(a));
  return facts(std::move(out));
}

/// The upstream stream's pieces are translated into the caller's format as
/// they arrive; the relay starts with the first translated byte, so a
/// stream that does not decode before then still fails over.
template <class Chain>
void passthrough<Chain>::translate_stream(http::request& req, chain_lease& cl, const std::string& model) {
  stream_.emplace(c_.routes[cl.index].provider.wire, in_, answer_meta_for(in_, model), (*translated_)->include_usage);
  req.on_body = [this, &cl, &model](std::string_view bytes) {
    std::string out;
    if (!stream_->feed(wire::scrub_secret(std::string(bytes), cl.lease.secret(), cl.lease.redacted()), out))
      return false;
    if (out.empty()) return true;
    if (!relay_->started()) relay_->start(stream_head(cl, model));
    return relay_->push(out);
  };
}

/// A translated stream's end: its closing events, or (cut or invalid) a
/// failover when nothing reached the caller yet, else a cut answer.
template <class Chain>
std::optional<answer> passthrough<Chain>::stream_translated(chain_lease& cl, http::attempt a) {
  std::string tail;
  const bool complete = stream_->finish(tail);
  if (!complete) {
    a.outcome = keypool::outcome::transient();
    a.reason = scrub(stream_->error(), cl.lease);
    if (!relay_->started()) {
      record(cl, std::move(a));
      skip_.set(cl.index);
      return std::nullopt;
    }
  }
  if (!relay_->started()) relay_->start(stream_head(cl, a.model));
  relay_->push(tail);
  answer out;
  out.streamed = true;
  if (complete)
    relay_->finish();
  else
    out.close = true, out.error = a.reason;
  record(cl, std::move(a));
  return facts(std::move(out));
}

/// The route's next model for position p; with none left (or a fixed
/// model), the position is done.
template <class Chain>
void passthrough<Chain>::next_model(std::size_t p) {
  if (!plan_.model[p].empty() || ++model_index_[p] >= c_.routes[p].models.size()) skip_.set(p);
}

/// No key left: 429 with Retry-After when one comes back by itself.
template <class Chain>
answer passthrough<Chain>::no_key(const chain_error& why) {
  std::string msg = why.message();
  if (!attempts_.empty()) msg += "; last attempt: " + attempts_.back().reason;
  if (const auto wait = why.next_available()) {
    answer out = error_answer(in_, 429, std::move(msg), "all_keys_unavailable", attempts_);
    out.headers.emplace_back("Retry-After", retry_after_seconds(*wait));
    return facts(std::move(out));
  }
  return facts(error_answer(in_, attempts_.empty() ? 503 : 502, std::move(msg), "no_key_available", attempts_));
}

template <class Chain>
answer passthrough<Chain>::nothing_left() {
  if (attempts_.empty() && !untranslated_.empty())
    return facts(error_answer(in_, 400, "no provider can take this request: " + untranslated_,
                              *translated_ ? "unsupported_feature" : "invalid_request"));
  return gave_up("no provider could answer");
}

template <class Chain>
answer passthrough<Chain>::gave_up(std::string why, unsigned status) {
  std::string msg = std::move(why);
  for (const auto& a : attempts_)
    msg += "; " + a.provider + " " + a.model + " with " + a.key_variable + ": " + a.reason;
  return facts(error_answer(in_, status, std::move(msg), "upstream_failed", attempts_));
}

/// The x-keypool-* facts from the last attempt.
template <class Chain>
answer passthrough<Chain>::facts(answer a) const {
  a.attempts = static_cast<unsigned>(attempts_.size());
  if (!attempts_.empty()) {
    a.provider = attempts_.back().provider;
    a.model = attempts_.back().model;
    a.key = attempts_.back().key_variable;
  }
  return a;
}

/// The head of a streamed answer, sent with its first byte.
template <class Chain>
std::string passthrough<Chain>::stream_head(const chain_lease& cl, const std::string& model) const {
  answer f;
  f.provider = c_.routes[cl.index].provider.id;
  f.model = model;
  f.key = std::string(cl.lease.variable());
  f.attempts = static_cast<unsigned>(attempts_.size() + 1);
  return "HTTP/1.1 200 OK\r\nServer: keypool\r\nContent-Type: text/event-stream\r\nCache-Control: "
         "no-cache\r\nTransfer-Encoding: chunked\r\n" +
         keypool_header_lines(f) + "\r\n";
}

}  // namespace keypool::serve::detail
