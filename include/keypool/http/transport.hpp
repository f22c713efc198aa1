#pragma once
/// Sends one HTTP/1.1 request and reads its response: keep-alive connection
/// pool, TLS verified by default, connect / read / total deadlines, a
/// response size limit, plain http only to loopback, HTTPS proxies through
/// CONNECT. Asynchronous with any Asio completion token (callback,
/// use_future, use_awaitable) plus a blocking send().
///
/// Thread safety: a transport may be shared by any number of threads;
/// async_send, send and stats are safe to call concurrently. All I/O of one
/// transport runs on one strand of its executor, so the io_context may run on
/// several threads. Where the executor is already serial (a strand, the
/// transport's own thread, or transport_options::implicit_strand) it is used
/// as is: a strand of a strand only costs.

#include <keypool/http/connection_pool.hpp>
#include <keypool/http/detail/deadline_watch.hpp>
#include <keypool/http/detail/request_head.hpp>
#include <keypool/http/error.hpp>
#include <keypool/http/proxy.hpp>
#include <keypool/http/tls.hpp>
#include <keypool/http/url.hpp>
#include <keypool/wire/base64.hpp>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <boost/assert.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace keypool::http {

namespace bhttp = boost::beast::http;

struct transport_options {
  /// DNS + TCP connect (+ proxy CONNECT) + TLS handshake of a new connection.
  std::chrono::milliseconds connect_timeout{10'000};
  /// From sending the request to the last byte of the response. Vision
  /// models can think for a while before answering; tighten for chat.
  std::chrono::milliseconds read_timeout{120'000};
  /// Everything, including waiting for a pooled connection; a request's own
  /// `deadline` can only shorten it.
  std::chrono::milliseconds total_timeout{180'000};
  /// Largest response body accepted; a larger one fails with body_too_large
  /// (a broken or hostile server cannot exhaust memory).
  std::size_t max_response_bytes = 8u << 20;
  /// Largest response header block accepted.
  std::size_t max_header_bytes = 64u << 10;
  /// Allow plain http:// to hosts other than loopback. The API key would
  /// cross the network in clear text: only for trusted test networks.
  bool allow_insecure_http = false;
  tls_options tls{};
  pool_options pool{};
  /// Read HTTPS_PROXY / NO_PROXY at construction (ignored when `proxy` has a
  /// value).
  bool proxy_from_environment = true;
  std::optional<proxy_options> proxy{};
  /// Sent unless the request has a User-Agent of its own; empty: none.
  std::string user_agent = "keypool/0.1";
  /// Set when exactly one thread runs the given executor's io_context
  /// (Asio's "implicit strand"): the transport then uses the executor as it
  /// is instead of a strand of its own, about 8 % fewer instructions per
  /// chat (docs/benchmarks.md). Wrong, and a data race, when several threads
  /// run it. Not needed with a strand or a transport that owns its thread:
  /// those never get a second strand.
  bool implicit_strand = false;
};

/// Receives a 2xx response body piece by piece as it arrives (server-sent
/// events); runs on the transport's strand. Return false to abandon the
/// response (errc::cancelled; the connection is closed).
using body_sink = std::function<bool(std::string_view)>;

struct request {
  bhttp::verb method = bhttp::verb::post;
  http::url url;
  /// Sent as given (Authorization included); never logged or put in errors.
  bhttp::fields headers{};
  std::string body{};
  /// An absolute deadline for this request (e.g. the failover engine's
  /// overall deadline); the earlier of it and total_timeout applies.
  std::optional<std::chrono::steady_clock::time_point> deadline{};
  /// When set, a 2xx body goes to the sink as it arrives instead of into
  /// response::body (other statuses are still collected, for classifying),
  /// and read_timeout becomes an inactivity timeout.
  body_sink on_body{};
};

struct response {
  unsigned status = 0;
  bhttp::fields headers{};
  std::string body{};
  bool reused_connection = false;        ///< served on a kept-alive connection
  std::chrono::microseconds elapsed{0};  ///< from send to the last byte

  /// Case-insensitive header lookup (the classifier's name/value view).
  std::optional<std::string_view> header(std::string_view name) const {
    const auto it = headers.find(boost::beast::string_view(name.data(), name.size()));
    if (it == headers.end()) return std::nullopt;
    const auto v = it->value();
    return std::string_view(v.data(), v.size());
  }
};

namespace detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;
using ::keypool::unexpected;

/// The serial executor the transport's I/O objects and coroutines use: `ex`
/// itself when it already runs one handler at a time (a strand, or
/// `one_thread`: only one thread runs it), else a strand of it. Over an
/// io_context's own executor the strand is 24 bytes and fits in
/// any_io_executor's small buffer; a strand over any_io_executor does not,
/// and Asio allocates it anew on every prefer() it makes per operation
/// (about 45 allocations per request).
inline asio::any_io_executor make_serial(const asio::any_io_executor& ex, bool one_thread) {
  if (one_thread || ex.target<asio::strand<asio::io_context::executor_type>>() ||
      ex.target<asio::strand<asio::any_io_executor>>())
    return ex;
  if (const auto* ioc = ex.target<asio::io_context::executor_type>()) return asio::make_strand(*ioc);
  return asio::make_strand(ex);
}

/// True on a thread running `serial` (one make_serial made). For an
/// executor type other than those below it cannot tell, and says false.
inline bool running_in(const asio::any_io_executor& serial) noexcept {
  if (const auto* s = serial.target<asio::strand<asio::io_context::executor_type>>())
    return s->running_in_this_thread();
  if (const auto* s = serial.target<asio::strand<asio::any_io_executor>>()) return s->running_in_this_thread();
  if (const auto* e = serial.target<asio::io_context::executor_type>()) return e->running_in_this_thread();
  if (const auto* e = serial.target<asio::thread_pool::executor_type>()) return e->running_in_this_thread();
  return false;
}

struct transport_state {
  /// `one_thread`: only one thread runs `ex` (the transport's own).
  transport_state(const asio::any_io_executor& ex, transport_options o, bool one_thread = false)
      : strand(make_serial(ex, one_thread || o.implicit_strand)),
        opts(std::move(o)),
        pool(opts.pool),
        tls(make_tls_context(opts.tls)),
        proxy(opts.proxy ? *opts.proxy
                         : (opts.proxy_from_environment ? proxy_options::from_environment() : proxy_options{})),
        watch(strand) {}
  asio::any_io_executor strand;  ///< serial: a strand, or an executor one thread runs (make_serial)
  transport_options opts;
  connection_pool pool;
  std::shared_ptr<ssl::context> tls;
  proxy_options proxy;
  deadline_watch watch;  ///< read deadlines of the requests in flight

  static std::shared_ptr<transport_state> make(const asio::any_io_executor& ex, transport_options o,
                                               bool one_thread = false) {
    auto s = std::make_shared<transport_state>(ex, std::move(o), one_thread);
    s->watch.set_owner(s);
    return s;
  }
};

inline unexpected<error> fail(errc c, std::string msg, boost::system::error_code cause = {}) {
  return {{c, std::string(to_string(c)) + ": " + std::move(msg), cause}};
}

inline std::string ms(std::chrono::milliseconds d) { return std::to_string(d.count()) + " ms"; }

/// `from + d`, saturated: a "no limit" duration (milliseconds::max()) gives
/// time_point::max() instead of overflowing into the past. Every deadline is
/// computed with it.
template <class Rep, class Period>
clock::time_point deadline_after(clock::time_point from, std::chrono::duration<Rep, Period> d) {
  using dur = std::chrono::duration<Rep, Period>;
  if (d <= dur::zero()) return from;  // already due
  // Compared in d's unit: converting d to nanoseconds could overflow itself.
  if (d >= std::chrono::duration_cast<dur>(clock::time_point::max() - from)) return clock::time_point::max();
  return from + std::chrono::duration_cast<clock::duration>(d);
}

/// Server gone or connection dropped: on a reused connection with no
/// response bytes this is the keep-alive race, safe to retry once.
inline bool is_disconnect(const boost::system::error_code& ec) {
  return ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::connection_aborted ||
         ec == asio::ssl::error::stream_truncated;
}

/// Runs DNS resolution against a deadline. getaddrinfo cannot be cancelled,
/// so a late answer is simply dropped.
struct resolve_race {
  explicit resolve_race(const asio::any_io_executor& ex) : resolver(ex), timer(ex) {}
  tcp::resolver resolver;
  asio::steady_timer timer;
  bool done = false;
  boost::system::error_code ec;
  tcp::resolver::results_type results;
};

/// What the phases of opening a connection share: the hop as errors name it
/// and which deadline applies, for the timeout's message.
struct connect_phases {
  const transport_options& o;
  std::string hop;
  bool total_bound = false;

  unexpected<error> timed_out(std::string_view phase) const {
    return fail(errc::timeout, std::string(phase) + " " + hop +
                                   (total_bound ? " passed the total deadline of " + ms(o.total_timeout)
                                                : " took longer than the connect timeout of " + ms(o.connect_timeout)));
  }
};

/// Resolves `host` (the proxy's when there is one) before `deadline`. A
/// localhost name is not asked of DNS (a resolver may answer anything for
/// "foo.localhost"): it is 127.0.0.1 and ::1, as in curl, so the plain-http
/// loopback test made on its text holds for where the request goes.
inline asio::awaitable<result<std::vector<tcp::endpoint>>> resolve(const asio::any_io_executor& ex,
                                                                   const std::string& host, std::uint16_t port,
                                                                   clock::time_point deadline,
                                                                   const connect_phases& ph) {
  if (is_localhost_name(host))
    co_return std::vector<tcp::endpoint>{{asio::ip::address_v4::loopback(), port},
                                         {asio::ip::address_v6::loopback(), port}};
  auto rr = std::make_shared<resolve_race>(ex);
  rr->timer.expires_at(deadline);
  rr->resolver.async_resolve(host, std::to_string(port), tcp::resolver::numeric_service,
                             [rr](const boost::system::error_code& ec, tcp::resolver::results_type res) {
                               if (rr->done) return;
                               rr->done = true;
                               rr->ec = ec;
                               rr->results = std::move(res);
                               rr->timer.cancel();
                             });
  boost::system::error_code ec;
  co_await rr->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  if (!rr->done) {
    rr->done = true;
    rr->resolver.cancel();
    co_return ph.timed_out("resolving");
  }
  if (rr->ec) co_return fail(errc::resolve_failed, "cannot resolve " + ph.hop + ": " + rr->ec.message(), rr->ec);
  std::vector<tcp::endpoint> out;
  for (const auto& entry : rr->results) out.push_back(entry.endpoint());
  co_return out;
}

/// Opens a tunnel to `peer` through the proxy `c` is connected to (CONNECT).
inline asio::awaitable<std::optional<unexpected<error>>> open_tunnel(connection& c, const proxy_endpoint& proxy,
                                                                     const std::string& peer,
                                                                     const connect_phases& ph) {
  auto& stream = c.tcp();
  boost::system::error_code ec;
  bhttp::request<bhttp::empty_body> creq{bhttp::verb::connect, peer, 11};
  creq.set(bhttp::field::host, peer);
  if (!proxy.userinfo.empty())
    creq.set(bhttp::field::proxy_authorization, "Basic " + wire::base64::encode(proxy.userinfo));
  co_await bhttp::async_write(stream, creq, asio::redirect_error(asio::use_awaitable, ec));
  bhttp::response_parser<bhttp::empty_body> p;
  p.skip(true);  // a CONNECT answer has no body, whatever its headers say
  if (!ec) co_await bhttp::async_read_header(stream, c.buffer(), p, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == boost::beast::error::timeout) co_return ph.timed_out("CONNECT through");
  if (ec) co_return fail(errc::proxy_failed, "CONNECT through " + ph.hop + " failed: " + ec.message(), ec);
  if (p.get().result_int() != 200)
    co_return fail(errc::proxy_failed, "proxy " + proxy.authority() + " answered " +
                                           std::to_string(p.get().result_int()) + " to CONNECT " + peer);
  if (c.buffer().size() != 0)
    co_return fail(errc::proxy_failed, "proxy " + proxy.authority() + " sent data before the TLS handshake");
  co_return std::nullopt;
}

/// The TLS handshake on `t`, verifying the certificate for `host`.
inline asio::awaitable<std::optional<unexpected<error>>> handshake(connection::tls_stream& t, const std::string& host,
                                                                   const std::string& peer, const connect_phases& ph) {
  if (auto e = set_peer_identity(t.native_handle(), host))
    co_return fail(errc::tls_failed, "cannot set up TLS for " + peer + ": " + e.message(), e);
  boost::system::error_code ec;
  co_await t.async_handshake(ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == boost::beast::error::timeout) co_return ph.timed_out("TLS handshake with");
  if (ec)
    co_return fail(errc::tls_failed,
                   "TLS handshake with " + peer + " failed: " + describe_tls_failure(t.native_handle(), ec), ec);
  co_return std::nullopt;
}

inline asio::awaitable<result<connection_ptr>> open_connection(std::shared_ptr<transport_state> s, host_key key,
                                                               clock::time_point total_deadline) {
  const auto& o = s->opts;
  std::optional<proxy_endpoint> proxy;
  if (key.scheme == scheme::https) {
    auto sel = select_proxy(s->proxy, key.host);
    if (!sel) co_return fail(errc::proxy_failed, sel.error().message);
    proxy = std::move(*sel);
  }
  const std::string peer = key.to_string();
  const auto connect_deadline = deadline_after(clock::now(), o.connect_timeout);
  const connect_phases ph{o, proxy ? "proxy " + proxy->authority() + " (for " + peer + ")" : peer,
                          total_deadline <= connect_deadline};
  const auto deadline = ph.total_bound ? total_deadline : connect_deadline;
  const asio::any_io_executor& ex = s->strand;

  auto resolved = co_await resolve(ex, proxy ? proxy->host : key.host, proxy ? proxy->port : key.port, deadline, ph);
  if (!resolved) co_return unexpected<error>{std::move(resolved.error())};

  auto c =
      std::make_unique<connection>(key, ex, key.scheme == scheme::https ? s->tls.get() : nullptr, s->pool.next_id());
  auto& stream = c->tcp();
  stream.expires_at(deadline);
  boost::system::error_code ec;
  co_await stream.async_connect(*resolved, asio::redirect_error(asio::use_awaitable, ec));
  if (ec == boost::beast::error::timeout) co_return ph.timed_out("connecting to");
  if (ec) co_return fail(errc::connect_failed, "cannot connect to " + ph.hop + ": " + ec.message(), ec);
  // Requests are written whole: Nagle's algorithm would only hold back a
  // request's tail (or a TLS record) for the peer's delayed ACK. curl does
  // the same.
  stream.socket().set_option(tcp::no_delay(true), ec);

  if (proxy)
    if (auto failed = co_await open_tunnel(*c, *proxy, peer, ph)) co_return std::move(*failed);
  if (auto* t = c->tls())
    if (auto failed = co_await handshake(*t, key.host, peer, ph)) co_return std::move(*failed);
  stream.expires_never();
  s->pool.note_opened();
  co_return std::move(c);
}

/// What one exchange on a connection gave: the response or the error, and
/// what it says about the connection.
struct exchanged {
  result<response> answer;
  bool reusable = false;  ///< the connection may serve another request
  bool stale = false;     ///< it failed before any response byte (the keep-alive race)
};

/// The reading side of one exchange: the read deadline (which of the read
/// timeout and the total deadline applies), the parser (a new one after each
/// 1xx), and the error each failure becomes.
class response_reader {
  // Declared first: the deadline's initializer reads them.
  const transport_options& o_;
  connection& c_;
  bhttp::verb method_;
  clock::time_point total_deadline_;
  bool total_bound_ = false;
  bool got_interim_ = false;

 public:
  using parser_type = bhttp::response_parser<bhttp::string_body>;

  response_reader(transport_state& s, connection& c, bhttp::verb method, clock::time_point total_deadline,
                  clock::time_point start)
      : o_(s.opts), c_(c), method_(method), total_deadline_(total_deadline), deadline(s.watch, c, due(start)) {
    fresh_parser();
  }

  /// The read deadline from `from`; remembers which deadline applies, for
  /// the message.
  clock::time_point due(clock::time_point from) {
    const auto read_deadline = deadline_after(from, o_.read_timeout);
    total_bound_ = total_deadline_ <= read_deadline;
    return total_bound_ ? total_deadline_ : read_deadline;
  }

  /// A parser for the next response: 1xx interim responses come before the
  /// final one.
  void fresh_parser() {
    parser.emplace();
    parser->body_limit(o_.max_response_bytes);
    parser->header_limit(static_cast<std::uint32_t>(o_.max_header_bytes));
    if (method_ == bhttp::verb::head) parser->skip(true);
  }
  void interim() {
    got_interim_ = true;
    fresh_parser();
  }

  exchanged write_failed(const boost::system::error_code& e) {
    if (deadline.expired()) return {timed_out()};
    return {fail(errc::write_failed, "sending the request to " + peer() + " failed: " + e.message(), e), false,
            is_disconnect(e)};
  }
  exchanged read_failed(const boost::system::error_code& e);
  exchanged cancelled() { return {fail(errc::cancelled, "the body consumer stopped the response from " + peer())}; }

  std::optional<parser_type> parser;
  deadline_watch::entry deadline;  ///< one timer for all requests (deadline_watch), not Beast's per operation

 private:
  // Only an error names the peer: no string per request.
  std::string peer() const { return c_.key().to_string(); }
  unexpected<error> timed_out() const {
    return fail(errc::timeout, "no complete response from " + peer() +
                                   (total_bound_ ? " before the total deadline of " + ms(o_.total_timeout)
                                                 : " within the read timeout of " + ms(o_.read_timeout)));
  }
};

inline exchanged response_reader::read_failed(const boost::system::error_code& e) {
  if (deadline.expired()) return {timed_out()};
  if (e == bhttp::error::body_limit)
    return {fail(
        errc::body_too_large,
        "response from " + peer() + " is larger than the limit of " + std::to_string(o_.max_response_bytes) + " bytes",
        e)};
  if (e == bhttp::error::header_limit)
    return {fail(errc::malformed_response,
                 "response headers from " + peer() + " exceed " + std::to_string(o_.max_header_bytes) + " bytes", e)};
  if (is_disconnect(e) || e == bhttp::error::partial_message) {
    const bool got_some = got_interim_ || parser->got_some();
    return {fail(errc::connection_closed,
                 peer() + (got_some ? " closed the connection in the middle of the response"
                                    : " closed the connection without responding"),
                 e),
            false, !got_some && e != bhttp::error::partial_message};
  }
  if (e.category() == bhttp::make_error_code(bhttp::error::bad_version).category())
    return {fail(errc::malformed_response, "invalid HTTP response from " + peer() + ": " + e.message(), e)};
  return {fail(errc::connection_closed, "reading the response from " + peer() + " failed: " + e.message(), e)};
}

/// Writes the request and reads the response on `c`.
inline asio::awaitable<exchanged> exchange(transport_state& s, connection& c, bhttp::verb method,
                                           const std::string& head, const std::string& body,
                                           clock::time_point total_deadline, const body_sink& sink) {
  const auto start = clock::now();
  response_reader rd(s, c, method, total_deadline, start);
  boost::system::error_code ec;
  // Head and body in one gathered write (one sendmsg on plain TCP).
  const std::array<asio::const_buffer, 2> out{asio::buffer(head), asio::buffer(body)};
  co_await c.visit_io(
      [&](auto& st) { return asio::async_write(st, out, asio::redirect_error(asio::use_awaitable, ec)); });
  if (ec) co_return rd.write_failed(ec);
  auto& parser = rd.parser;
  for (;;) {
    // Whole bodies in one read (a 1xx has no body, so that read ends after
    // its header); streamed ones header first.
    co_await c.visit_io([&](auto& st) {
      if (!sink) return bhttp::async_read(st, c.buffer(), *parser, asio::redirect_error(asio::use_awaitable, ec));
      return bhttp::async_read_header(st, c.buffer(), *parser, asio::redirect_error(asio::use_awaitable, ec));
    });
    if (ec) co_return rd.read_failed(ec);
    const unsigned status = parser->get().result_int();
    // 103 Early Hints and the like: skip to the final response (101 is
    // final: it ends HTTP on this connection).
    if (status >= 200 || status == 101) break;
    rd.interim();
  }
  const unsigned status = parser->get().result_int();
  if (sink) {
    const bool stream = status >= 200 && status < 300;
    // A streamed body reaches the sink piece by piece and is never held
    // whole, so max_response_bytes (a memory bound) does not cap it; the
    // inactivity and total deadlines do. With a Content-Length, string_body
    // reserves that much up front: there the limit stays.
    if (stream && !parser->content_length()) parser->body_limit(boost::none);
    while (!parser->is_done()) {
      // Streaming: the read timeout is an inactivity timeout, reset by
      // every piece that arrives.
      rd.deadline.reset(rd.due(clock::now()));
      co_await c.visit_io([&](auto& st) {
        return bhttp::async_read_some(st, c.buffer(), *parser, asio::redirect_error(asio::use_awaitable, ec));
      });
      if (ec) co_return rd.read_failed(ec);
      auto& piece = parser->get().body();
      if (stream && !piece.empty()) {
        if (!sink(std::string_view(piece))) co_return rd.cancelled();
        piece.clear();
      }
    }
  }
  c.count_request();
  // Reused only when both sides keep it alive, the body did not end at EOF
  // (keep_alive() is false then) and nothing is left over: the client never
  // pipelines, so extra bytes could only be mistaken for the next answer.
  const bool reusable = parser->keep_alive() && c.buffer().size() == 0 && status != 101 && !rd.deadline.expired();
  auto msg = parser->release();
  response r;
  r.status = msg.result_int();
  r.body = std::move(msg.body());
  r.headers = std::move(static_cast<bhttp::fields&>(msg));
  r.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start);
  co_return exchanged{std::move(r), reusable, false};
}

/// Holds a request's place in the pool's per-host cap: returns the connection
/// (closed) or forfeits the reserved slot unless handed back explicitly, so an
/// exception (a throwing body sink, out of memory) cannot leak the slot.
struct pool_slot {
  pool_slot(connection_pool& p, const host_key& k) : pool(p), key(k) {}
  pool_slot(const pool_slot&) = delete;
  pool_slot& operator=(const pool_slot&) = delete;
  ~pool_slot() {
    if (!held) return;
    if (conn)
      pool.release(std::move(conn), false);
    else
      pool.forfeit(key);
  }
  void release(bool reusable) {
    held = false;
    pool.release(std::move(conn), reusable);
  }
  void forfeit() {
    held = false;
    pool.forfeit(key);
  }
  connection_pool& pool;
  const host_key& key;
  connection_ptr conn;
  bool held = true;
};

inline asio::awaitable<result<response>> run(std::shared_ptr<transport_state> s, request req) {
  const auto& o = s->opts;
  const auto start = clock::now();
  auto deadline = deadline_after(start, o.total_timeout);
  if (req.deadline && *req.deadline < deadline) deadline = *req.deadline;
  const url& u = req.url;
  if (u.host.empty() || u.target.empty() || u.target.front() != '/' || has_cr_lf_nul(u.target) ||
      has_cr_lf_nul(u.host) || u.target.find(' ') != std::string::npos)
    co_return fail(errc::invalid_url, "request has no valid URL (use parse_url)");
  const host_key key{u.scheme, u.host, u.port};
  if (u.scheme == scheme::http && !o.allow_insecure_http && !is_loopback_host(u.host))
    co_return fail(errc::insecure_http_refused,
                   "plain http:// to " + key.to_string() +
                       " refused: the API key would cross the network unencrypted (use https, or set "
                       "allow_insecure_http)");
  // Header fields go out verbatim: refuse a name that is not a token and a
  // value holding CR, LF or NUL (header injection) before anything is sent.
  // The message never quotes a value, nor a name that is not a token.
  for (const auto& f : req.headers) {
    const std::string_view name(f.name_string().data(), f.name_string().size());
    if (!is_field_name(name))
      co_return fail(errc::invalid_request,
                     "request to " + key.to_string() +
                         ": a header name is empty or holds a character field names cannot (not an RFC 9110 "
                         "token); refused");
    if (has_cr_lf_nul(std::string_view(f.value().data(), f.value().size())))
      co_return fail(errc::invalid_request, "request to " + key.to_string() + ": header '" + std::string(name) +
                                                "' contains CR, LF or NUL; refused");
  }
  // Serialized once, also for the keep-alive retries below. The body moves
  // in: no copy of a (base64 image) body.
  const std::string body = std::move(req.body);
  const std::string head = request_head(req.method, u.target, u.host_header(), o.user_agent, req.headers, body.size());

  // A kept-alive connection may have been closed by the server while idle;
  // that shows as a disconnect before any response byte: retry on another.
  for (int attempt = 0;; ++attempt) {
    auto acquired = co_await s->pool.acquire(key, deadline);
    if (!acquired) co_return unexpected<error>{std::move(acquired.error())};
    pool_slot slot(s->pool, key);
    slot.conn = std::move(*acquired);
    const bool reused = slot.conn != nullptr;
    if (!slot.conn) {
      auto made = co_await open_connection(s, key, deadline);
      if (!made) {
        slot.forfeit();
        co_return unexpected<error>{std::move(made.error())};
      }
      slot.conn = std::move(*made);
    }
    auto x = co_await exchange(*s, *slot.conn, req.method, head, body, deadline, req.on_body);
    auto& r = x.answer;
    slot.release(r.has_value() && x.reusable);
    if (!r && x.stale && reused && attempt < 3) continue;
    if (r) {
      r->reused_connection = reused;
      r->elapsed = std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - start);
    }
    co_return std::move(r);
  }
}

/// run(), with an exception (out of memory) turned into errc::internal.
inline asio::awaitable<result<response>> run_guarded(std::shared_ptr<transport_state> s, request req) {
  try {
    co_return co_await run(std::move(s), std::move(req));
  } catch (const std::exception& e) {
    co_return fail(errc::internal, e.what());
  }
}

template <class Handler>
asio::awaitable<void> run_and_complete(std::shared_ptr<transport_state> s, request req, Handler handler) {
  auto out = co_await run_guarded(s, std::move(req));
  auto ex = asio::get_associated_executor(handler, s->strand);
  asio::dispatch(ex, [h = std::move(handler), r = std::move(out)]() mutable { std::move(h)(std::move(r)); });
}

/// The I/O thread of a transport constructed without an executor: an
/// io_context with concurrency hint 1, since only this thread runs it (no
/// scheduler locking, unlike asio::thread_pool).
struct owned_io {
  owned_io() : thread([this] { ioc.run(); }) {}
  owned_io(const owned_io&) = delete;
  owned_io& operator=(const owned_io&) = delete;
  ~owned_io() { stop(); }
  void stop() {
    ioc.stop();
    if (thread.joinable()) thread.join();
  }
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::thread thread;
};

}  // namespace detail

class transport {
 public:
  /// The executor given at construction, made serial (make_serial).
  using executor_type = boost::asio::any_io_executor;
  /// Completion signature of async_send.
  using signature = void(result<response>);

  /// Runs I/O on `ex` (its io_context must be run by the application and
  /// outlive the transport). Throws tls_config_error for a bad TLS setup.
  explicit transport(const boost::asio::any_io_executor& ex, transport_options opts = {})
      : state_(detail::transport_state::make(ex, std::move(opts))) {}

  /// Owns one I/O thread: the simplest way to use send().
  explicit transport(transport_options opts = {})
      : own_(std::make_unique<detail::owned_io>()),
        state_(detail::transport_state::make(own_->ioc.get_executor(), std::move(opts), true)) {}

  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;

  /// With an owned thread, in-flight requests are abandoned (their handlers
  /// are destroyed, a use_future future reports broken_promise).
  ~transport() {
    if (own_) own_->stop();  // no handler runs while the state goes
    state_.reset();
  }

  /// Starts a request; completes with result<response> through `token`:
  /// a callback `void(result<response>)`, asio::use_future, or
  /// asio::use_awaitable.
  template <class CompletionToken>
  auto async_send(request req, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, signature>(
        [](auto handler, std::shared_ptr<detail::transport_state> s, request r) {
          auto strand = s->strand;
          boost::asio::co_spawn(strand, detail::run_and_complete(std::move(s), std::move(r), std::move(handler)),
                                boost::asio::detached);
        },
        token, state_, std::move(req));
  }

  /// The request as an awaitable for a coroutine that already runs on
  /// get_executor(), as the failover client's do: no co_spawn of its own and
  /// no hop to the strand and back (async_send with use_awaitable costs
  /// both). Same result as async_send.
  boost::asio::awaitable<result<response>> co_send(request req) {
    BOOST_ASSERT(running_in_this_thread());
    return detail::run_guarded(state_, std::move(req));
  }

  /// Blocks until the response or an error. Must not be called from a thread
  /// running this transport's executor (it would wait on itself).
  result<response> send(request req) {
    if (running_in_this_thread())
      return detail::fail(errc::internal, "send() called from the transport's own executor; use async_send");
    return async_send(std::move(req), boost::asio::use_future).get();
  }

  /// Parses `u` and sends; URL errors come back as errc::invalid_url.
  result<response> send(bhttp::verb method, std::string_view u, bhttp::fields headers = {}, std::string body = {}) {
    auto parsed = parse_url(u);
    if (!parsed) return detail::fail(errc::invalid_url, parsed.error().message);
    return send(request{method, std::move(*parsed), std::move(headers), std::move(body), std::nullopt, {}});
  }

  pool_stats stats() const { return state_->pool.stats(); }
  const transport_options& options() const noexcept { return state_->opts; }
  executor_type get_executor() const noexcept { return state_->strand; }
  /// True on a thread that is running the transport's strand (where the
  /// blocking calls must not be made).
  bool running_in_this_thread() const noexcept { return detail::running_in(state_->strand); }
  /// Closes idle keep-alive connections.
  void close_idle() { state_->pool.close_idle(); }

 private:
  std::unique_ptr<detail::owned_io> own_;  // declared first: destroyed last
  std::shared_ptr<detail::transport_state> state_;
};

}  // namespace keypool::http
