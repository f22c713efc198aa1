// The failover client's overhead over a raw Boost.Beast keep-alive client:
// both send the same chat request (1 KiB image, OpenAI wire format) to the
// same loopback server, in the same process and run. Every benchmark
// interleaves the two (raw batch, client batch, alternating which goes
// first) so both see the same machine load, and reports
//
//   raw_rps, client_rps   requests per second of each side
//   overhead_pct          (raw_rps / client_rps - 1) * 100; target <= 5
//   raw_cpu_us,           CPU time of the client I/O thread (user + kernel)
//   client_cpu_us         per request of each side (async benchmarks)
//
// BM_overhead_async/inflight:N/delay_us:D: N requests in flight on each
//   side (the server answers after D µs), both driven by coroutines on the
//   same client I/O thread (the transport runs on it; the server has its
//   own), one keep-alive connection per in-flight request.
//   With transport_only:1 the "client" side is transport::co_send of the
//   pre-encoded request: the keep-alive transport's share of the overhead.
//   With raw_json:1 the raw client does what an application writing it by
//   hand would: builds each request body with Boost.JSON (base64 through
//   OpenSSL's EVP_EncodeBlock) and parses each answer with boost::json::parse
//   into text and usage; with raw_json:0 it replays pre-encoded bytes and
//   never parses the body (the floor).
// BM_overhead_blocking/delay_us:D: one request at a time from the benchmark thread:
//   client.chat() (a hop to the transport's thread and back) against a
//   synchronous Beast client on the benchmark thread (no hop).
//
// The client does the full request path: chain acquire, encode, pooled
// keep-alive transport, classify, decode, report, spend ledger record.
// Built as its own binary keypool_http_bench (links keypool::http).

#include <keypool/chain/chain.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/client.hpp>
#include <keypool/providers/builtin.hpp>

#include <benchmark/benchmark.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <time.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace http = keypool::http;
namespace wire = keypool::wire;
namespace providers = keypool::providers;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using clock_type = std::chrono::steady_clock;

constexpr const char* answer_body =
    R"({"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[{"index":0,)"
    R"("message":{"role":"assistant","content":"A grey square on a white background."},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":812,"completion_tokens":9,"total_tokens":821}})";

/// A minimal keep-alive HTTP/1.1 server on 127.0.0.1 answering every request
/// with the same OpenAI-style body after `delay` (a provider's think time),
/// on one thread of its own.
class loopback_server {
 public:
  explicit loopback_server(std::chrono::microseconds delay)
      : delay_(delay), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    port_ = acceptor_.local_endpoint().port();
    asio::co_spawn(ioc_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  loopback_server(const loopback_server&) = delete;
  loopback_server& operator=(const loopback_server&) = delete;
  ~loopback_server() {
    ioc_.stop();
    thread_.join();
  }
  std::uint16_t port() const noexcept { return port_; }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      auto sock = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      sock.set_option(asio::ip::tcp::no_delay(true), ec);
      asio::co_spawn(ioc_, session(beast::tcp_stream(std::move(sock))), asio::detached);
    }
  }
  asio::awaitable<void> session(beast::tcp_stream s) {
    beast::flat_buffer buf;
    for (;;) {
      boost::system::error_code ec;
      bhttp::request<bhttp::string_body> req;
      co_await bhttp::async_read(s, buf, req, asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      if (delay_.count() > 0) {
        asio::steady_timer t(ioc_, delay_);
        co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
      res.set(bhttp::field::content_type, "application/json");
      res.body() = answer_body;
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      co_await bhttp::async_write(s, res, asio::redirect_error(asio::use_awaitable, ec));
      if (ec || !res.keep_alive()) co_return;
    }
  }

  std::chrono::microseconds delay_;
  asio::io_context ioc_{1};
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

wire::chat_request request() {
  wire::chat_request r;
  r.prompt = "Describe this image in one short sentence.";
  r.images.push_back({std::string(1024, '\x5a'), "image/png"});
  r.max_tokens = 64;
  r.model = "gpt-4o";
  return r;
}

std::vector<keypool::key_spec> fake_keys() {
  std::vector<keypool::key_spec> out;
  for (int i = 1; i <= 4; ++i)
    out.push_back({"OPENAI_API_KEY_" + std::to_string(i), "test-fake-openai-bench-" + std::to_string(i)});
  return out;
}

/// The client-side I/O thread, shared by both sides: which core a thread
/// wakes on (and whether it shares one with the server) moves a one-in-flight
/// round trip by 2x on a 2-vCPU VM, so the raw client and keypool must not
/// each have a thread of their own. (The transport's own I/O thread type.)
using client_io = http::detail::owned_io;

/// Everything both sides need, built once per benchmark.
struct fixture {
  explicit fixture(std::int64_t delay_us) : server(std::chrono::microseconds(delay_us)) {}
  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;
  ~fixture() { io.stop(); }  // no handler runs while the members go
  loopback_server server;
  client_io io;
  std::string base = "http://127.0.0.1:" + std::to_string(server.port()) + "/v1";
  keypool::basic_pool<providers::openai> pool{fake_keys()};
  keypool::chain<keypool::basic_pool<providers::openai>> chain{pool};
  http::transport transport{io.ioc.get_executor(), [] {
                              http::transport_options o;
                              o.proxy = http::proxy_options{};
                              o.implicit_strand = true;  // `io` is one thread, as the raw client assumes
                              return o;
                            }()};
  http::client<decltype(chain)> client{
      chain, transport, {{providers::openai::descriptor().with_base_url(base), {"gpt-4o"}}}};
  bhttp::request<bhttp::string_body> raw_request = [this] {
    auto u = http::parse_url(base);
    wire::openai_chat::options o;
    o.base_path = u->target;
    auto enc = wire::openai_chat::encode(request(), "test-fake-openai-bench-1", o);
    bhttp::request<bhttp::string_body> r{bhttp::verb::post, enc->path, 11};
    for (const auto& h : enc->headers) r.set(h.name, h.value);
    r.set(bhttp::field::host, u->host_header());
    r.body() = enc->body;
    r.keep_alive(true);
    r.prepare_payload();
    return r;
  }();
  asio::ip::tcp::endpoint endpoint{asio::ip::make_address("127.0.0.1"), server.port()};
  http::request transport_request = [this] {
    auto u = http::parse_url(base);
    wire::openai_chat::options o;
    o.base_path = u->target;
    return http::make_request(*u, *wire::openai_chat::encode(request(), "test-fake-openai-bench-1", o));
  }();
};

/// The request body as an application would build it by hand with
/// Boost.JSON, without keypool (OpenAI wire format, image as a data: URL).
std::string hand_written_body(const wire::chat_request& r) {
  namespace json = boost::json;
  const auto& img = r.images.front();
  std::string b64(4 * ((img.bytes.size() + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()),
                  reinterpret_cast<const unsigned char*>(img.bytes.data()), static_cast<int>(img.bytes.size()));
  json::object body{
      {"model", r.model},
      {"messages",
       json::array{json::object{
           {"role", "user"},
           {"content", json::array{json::object{{"type", "text"}, {"text", r.prompt}},
                                   json::object{{"type", "image_url"},
                                                {"image_url", json::object{{"url", "data:" + img.mime_type +
                                                                                       ";base64," + b64}}}}}}}}},
      {"max_tokens", r.max_tokens}};
  return json::serialize(body);
}

/// The answer as an application would read it by hand: text and usage.
bool hand_written_decode(const std::string& body, wire::chat_response& out) {
  boost::system::error_code ec;
  const auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return false;
  const auto* choices = v.get_object().if_contains("choices");
  if (!choices || !choices->is_array() || choices->get_array().empty()) return false;
  const auto* content = choices->get_array()[0].get_object().at("message").get_object().if_contains("content");
  if (!content || !content->is_string()) return false;
  out.text = std::string(content->get_string());
  const auto& u = v.get_object().at("usage").get_object();
  out.usage = {u.at("prompt_tokens").to_number<std::uint64_t>(), u.at("completion_tokens").to_number<std::uint64_t>()};
  return true;
}

/// Raw Beast: `n` keep-alive connections served by coroutines on the
/// fixture's client I/O thread (the one the transport runs on). With
/// `json`, each request is encoded and each answer decoded by hand.
class raw_async_client {
 public:
  raw_async_client(fixture& f, int n, bool json = false)
      : proto_(f.raw_request), ioc_(f.io.ioc), json_(json), chat_(request()) {
    for (int i = 0; i < n; ++i) {
      conns_.push_back(std::make_unique<beast::tcp_stream>(ioc_));
      conns_.back()->connect(f.endpoint);
      conns_.back()->socket().set_option(asio::ip::tcp::no_delay(true));
      bufs_.emplace_back();
    }
  }
  raw_async_client(const raw_async_client&) = delete;
  raw_async_client& operator=(const raw_async_client&) = delete;
  ~raw_async_client() {
    // Close on the I/O thread: the sockets belong to it.
    std::promise<void> closed;
    asio::post(ioc_, [&] {
      for (auto& c : conns_) c->close();
      closed.set_value();
    });
    closed.get_future().wait();
  }

  /// `per` sequential requests on every connection; returns failures.
  std::int64_t batch(int per) {
    std::promise<void> done;
    std::atomic<std::size_t> left{conns_.size()};
    std::atomic<std::int64_t> failures{0};
    for (std::size_t i = 0; i < conns_.size(); ++i)
      asio::co_spawn(
          ioc_,
          [&, i]() -> asio::awaitable<void> {
            for (int j = 0; j < per; ++j) {
              auto req = json_ ? bhttp::request<bhttp::string_body>(proto_.base()) : proto_;
              if (json_) {
                req.body() = hand_written_body(chat_);
                req.prepare_payload();
              }
              boost::system::error_code ec;
              co_await bhttp::async_write(*conns_[i], req, asio::redirect_error(asio::use_awaitable, ec));
              bhttp::response<bhttp::string_body> res;
              if (!ec)
                co_await bhttp::async_read(*conns_[i], bufs_[i], res, asio::redirect_error(asio::use_awaitable, ec));
              wire::chat_response answer;
              if (ec || res.result_int() != 200 || (json_ && !hand_written_decode(res.body(), answer))) ++failures;
            }
            if (--left == 0) done.set_value();
          },
          asio::detached);
    done.get_future().wait();
    return failures.load();
  }

 private:
  bhttp::request<bhttp::string_body> proto_;
  asio::io_context& ioc_;
  bool json_;
  wire::chat_request chat_;
  std::vector<std::unique_ptr<beast::tcp_stream>> conns_;
  std::vector<beast::flat_buffer> bufs_;
};

/// The failover client: `n` coroutines on the transport's executor, each
/// awaiting `per` chats in turn (co_chat, as the raw client awaits its own
/// reads and writes; async_chat with use_awaitable would spawn a coroutine
/// per chat); returns failures.
std::int64_t client_batch(fixture& f, int n, int per) {
  std::promise<void> done;
  std::atomic<int> left{n};
  std::atomic<std::int64_t> failures{0};
  const auto req = request();
  for (int i = 0; i < n; ++i)
    asio::co_spawn(
        f.transport.get_executor(),
        [&]() -> asio::awaitable<void> {
          for (int j = 0; j < per; ++j) {
            auto r = co_await f.client.co_chat(req);
            if (!r) ++failures;
          }
          if (--left == 0) done.set_value();
        },
        asio::detached);
  done.get_future().wait();
  return failures.load();
}

/// The transport alone (no chain, codec, classifier or ledger): the same
/// pre-encoded request through transport::co_send; returns failures.
std::int64_t transport_batch(fixture& f, int n, int per) {
  std::promise<void> done;
  std::atomic<int> left{n};
  std::atomic<std::int64_t> failures{0};
  for (int i = 0; i < n; ++i)
    asio::co_spawn(
        f.transport.get_executor(),
        [&]() -> asio::awaitable<void> {
          for (int j = 0; j < per; ++j) {
            auto r = co_await f.transport.co_send(f.transport_request);
            if (!r || r->status != 200) ++failures;
          }
          if (--left == 0) done.set_value();
        },
        asio::detached);
  done.get_future().wait();
  return failures.load();
}

void report(benchmark::State& state, double raw_s, double client_s, std::int64_t requests_each, std::int64_t failures) {
  const double raw_rps = static_cast<double>(requests_each) / raw_s;
  const double client_rps = static_cast<double>(requests_each) / client_s;
  state.counters["raw_rps"] = raw_rps;
  state.counters["client_rps"] = client_rps;
  state.counters["overhead_pct"] = (raw_rps / client_rps - 1.0) * 100.0;
  state.counters["failures"] = static_cast<double>(failures);
  state.SetItemsProcessed(2 * requests_each);
}

/// CPU time a thread has used so far (user + kernel), in µs.
double thread_cpu_us(std::thread& t) {
  clockid_t id;
  timespec ts{};
  if (pthread_getcpuclockid(t.native_handle(), &id) != 0 || clock_gettime(id, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

void BM_overhead_async(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  constexpr int per = 8;
  fixture f(state.range(1));
  raw_async_client raw(f, n, state.range(3) != 0);
  const bool transport_only = state.range(2) != 0;
  auto client_batch = [&](fixture& fx, int k, int p) {
    return transport_only ? transport_batch(fx, k, p) : ::client_batch(fx, k, p);
  };
  std::int64_t failures = raw.batch(1) + client_batch(f, n, 1);  // warm up: connect, pool
  failures = 0;
  double raw_s = 0, client_s = 0, raw_cpu = 0, client_cpu = 0;
  bool raw_first = true;
  for (auto _ : state) {
    for (int side = 0; side < 2; ++side) {
      const bool do_raw = (side == 0) == raw_first;
      const double cpu0 = thread_cpu_us(f.io.thread);
      const auto t0 = clock_type::now();
      failures += do_raw ? raw.batch(per) : client_batch(f, n, per);
      (do_raw ? raw_s : client_s) += std::chrono::duration<double>(clock_type::now() - t0).count();
      (do_raw ? raw_cpu : client_cpu) += thread_cpu_us(f.io.thread) - cpu0;
    }
    raw_first = !raw_first;
  }
  const auto requests = state.iterations() * n * per;
  report(state, raw_s, client_s, requests, failures);
  state.counters["raw_cpu_us"] = raw_cpu / static_cast<double>(requests);
  state.counters["client_cpu_us"] = client_cpu / static_cast<double>(requests);
}

void BM_overhead_blocking(benchmark::State& state) {
  fixture f(state.range(0));
  asio::io_context ioc;
  beast::tcp_stream conn(ioc);
  conn.connect(f.endpoint);
  conn.socket().set_option(asio::ip::tcp::no_delay(true));
  beast::flat_buffer buf;
  std::int64_t failures = 0;
  const auto req = request();
  auto raw_one = [&] {
    auto r = f.raw_request;
    boost::system::error_code ec;
    bhttp::write(conn, r, ec);
    bhttp::response<bhttp::string_body> res;
    if (!ec) bhttp::read(conn, buf, res, ec);
    return ec || res.result_int() != 200 ? 1 : 0;
  };
  failures += raw_one() + !f.client.chat(req);  // warm up
  failures = 0;
  double raw_s = 0, client_s = 0;
  for (auto _ : state) {
    auto t0 = clock_type::now();
    failures += raw_one();
    auto t1 = clock_type::now();
    failures += !f.client.chat(req);
    auto t2 = clock_type::now();
    raw_s += std::chrono::duration<double>(t1 - t0).count();
    client_s += std::chrono::duration<double>(t2 - t1).count();
  }
  report(state, raw_s, client_s, state.iterations(), failures);
}

/// Where the client's extra CPU goes, without the network: encoding the
/// request (JSON + base64 of the image) and decoding the answer, which the
/// raw client skips (it sends pre-encoded bytes and never parses the body).
void BM_codec_round_trip(benchmark::State& state) {
  const auto req = request();
  wire::openai_chat::options o;
  o.base_path = "/v1";
  for (auto _ : state) {
    auto enc = wire::openai_chat::encode(req, "test-fake-openai-bench-1", o);
    auto dec = wire::openai_chat::decode(answer_body);
    benchmark::DoNotOptimize(enc);
    benchmark::DoNotOptimize(dec);
  }
}

/// Encoding alone, by image size: a photo upload is hundreds of KiB, where
/// base64 and copying the payload are nearly all of the cost.
void BM_encode_image(benchmark::State& state) {
  auto req = request();
  req.images[0].bytes = std::string(static_cast<std::size_t>(state.range(0)), '\x5a');
  wire::openai_chat::options o;
  o.base_path = "/v1";
  for (auto _ : state) {
    auto enc = wire::openai_chat::encode(req, "test-fake-openai-bench-1", o);
    benchmark::DoNotOptimize(enc);
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}

/// What the spend accounting adds per successful chat: one record() (a short
/// mutex, a map lookup by provider/key/model).
void BM_spend_record(benchmark::State& state) {
  http::spend_ledger ledger;
  const auto h = ledger.provider("openai", "OPENAI");
  const wire::usage u{812, 9};
  for (auto _ : state) benchmark::DoNotOptimize(ledger.record(h, "OPENAI_API_KEY_1", "0123abcd", "gpt-4o", u));
}

/// What the cap check adds per attempt and provider (lock-free).
void BM_spend_cap_check(benchmark::State& state) {
  http::spend_ledger ledger;
  const auto h = ledger.provider("openai", "OPENAI");
  ledger.set_cap("openai", 5.0);
  for (auto _ : state) benchmark::DoNotOptimize(ledger.cap_reason(h));
}

}  // namespace

// Arguments: requests in flight per side, the server's delay per answer in µs
// (0: pure client cost; 2000: a very fast provider), 1 to measure the
// transport alone instead of the failover client (where the cost sits), and
// 1 for a raw client that encodes and decodes JSON by hand.
BENCHMARK(BM_overhead_async)
    ->Args({1, 0, 0, 0})
    ->Args({8, 0, 0, 0})
    ->Args({1, 2000, 0, 0})
    ->Args({8, 2000, 0, 0})
    ->Args({1, 0, 0, 1})
    ->Args({8, 0, 0, 1})
    ->Args({1, 2000, 0, 1})
    ->Args({8, 2000, 0, 1})
    ->Args({1, 0, 1, 0})
    ->Args({8, 0, 1, 0})
    ->ArgNames({"inflight", "delay_us", "transport_only", "raw_json"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->MinTime(2.0);
BENCHMARK(BM_overhead_blocking)
    ->Arg(0)
    ->Arg(2000)
    ->ArgNames({"delay_us"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond)
    ->MinTime(2.0);
BENCHMARK(BM_codec_round_trip)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_encode_image)->Arg(1024)->Arg(512 * 1024)->ArgNames({"image_bytes"})->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_spend_record);
BENCHMARK(BM_spend_cap_check);
