// End to end through the mock fleet over loopback HTTP: throughput and
// p50/p99 latency of keypool's failover client (acquire, encode, keep-alive
// transport, classify, decode, report) at 1..32 concurrent requests, and in
// the same run the floor: a raw Boost.Beast keep-alive client sending the
// same pre-encoded request on one connection per concurrent request.
//
// Counters: items_per_second (requests/s), p50_us, p99_us. The ratio of the
// two families at the same concurrency is keypool's overhead over raw HTTP.
// Built as its own binary (keypool_e2e_bench, links keypool::http).

#include <keypool/chain/chain.hpp>
#include <keypool/core/pool.hpp>
#include <keypool/http/client.hpp>
#include <keypool/mock/fleet.hpp>

#include <benchmark/benchmark.h>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

namespace {

namespace http = keypool::http;
namespace mock = keypool::mock;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using clock_type = std::chrono::steady_clock;

/// One fleet for the whole run: Groq with 8 unlimited keys, no latency.
mock::fleet& shared_fleet() {
  static mock::fleet f([] {
    mock::fleet_config c;
    mock::provider_behavior p;
    p.id = "groq";
    p.keys = mock::sample_keys("groq", 8);
    c.providers.push_back(std::move(p));
    c.threads = 1;
    return c;
  }());
  return f;
}

keypool::wire::chat_request request() {
  keypool::wire::chat_request r;
  r.prompt = "Describe this image in one short sentence.";
  r.images.push_back({std::string(1024, '\x5a'), "image/png"});
  r.max_tokens = 64;
  r.model = "qwen/qwen3.6-27b";
  return r;
}

void set_latency_counters(benchmark::State& state, std::vector<double>& us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

void BM_keypool_client(benchmark::State& state) {
  auto& f = shared_fleet();
  const int concurrency = static_cast<int>(state.range(0));
  keypool::dynamic_pool pool(f.descriptor("groq").info(), f.key_specs("groq"));
  auto chain = keypool::make_chain(pool);
  http::transport_options to;
  to.proxy = http::proxy_options{};
  http::transport t(to);
  http::client c(chain, t, {{f.descriptor("groq"), {"qwen/qwen3.6-27b"}}});
  const auto req = request();
  std::vector<double> us;
  us.reserve(4096);
  std::mutex mu;
  std::condition_variable cv;
  std::int64_t failures = 0;
  for (auto _ : state) {
    int left = concurrency;
    for (int i = 0; i < concurrency; ++i) {
      const auto start = clock_type::now();
      c.async_chat(req, [&, start](http::chat_outcome r) {
        const double d = std::chrono::duration<double, std::micro>(clock_type::now() - start).count();
        std::lock_guard g(mu);
        us.push_back(d);
        failures += !r;
        if (--left == 0) cv.notify_one();
      });
    }
    std::unique_lock lk(mu);
    cv.wait(lk, [&] { return left == 0; });
  }
  state.SetItemsProcessed(state.iterations() * concurrency);
  state.counters["failures"] = static_cast<double>(failures);
  set_latency_counters(state, us);
}

/// The floor: one kept-alive Beast connection per concurrent request, the
/// request encoded once, the response read but not parsed.
void BM_raw_beast(benchmark::State& state) {
  auto& f = shared_fleet();
  const int concurrency = static_cast<int>(state.range(0));
  const auto d = f.descriptor("groq");
  auto base = http::parse_url(d.base_url);
  keypool::wire::openai_chat::options o;
  o.base_path = base->target;
  auto enc = keypool::wire::openai_chat::encode(request(), f.key_specs("groq")[0].secret, o);
  bhttp::request<bhttp::string_body> proto{bhttp::verb::post, enc->path, 11};
  for (const auto& h : enc->headers) proto.set(h.name, h.value);
  proto.set(bhttp::field::host, base->host_header());
  proto.body() = enc->body;
  proto.keep_alive(true);
  proto.prepare_payload();

  asio::io_context ioc;
  std::vector<std::unique_ptr<beast::tcp_stream>> conns;
  std::vector<beast::flat_buffer> bufs(static_cast<std::size_t>(concurrency));
  const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), f.port());
  for (int i = 0; i < concurrency; ++i) {
    conns.push_back(std::make_unique<beast::tcp_stream>(ioc));
    conns.back()->connect(ep);
  }
  std::vector<double> us;
  std::int64_t failures = 0;
  for (auto _ : state) {
    for (int i = 0; i < concurrency; ++i) {
      asio::co_spawn(
          ioc,
          [&, i]() -> asio::awaitable<void> {
            const auto start = clock_type::now();
            auto req = proto;
            boost::system::error_code ec;
            co_await bhttp::async_write(*conns[static_cast<std::size_t>(i)], req,
                                        asio::redirect_error(asio::use_awaitable, ec));
            bhttp::response<bhttp::string_body> res;
            if (!ec)
              co_await bhttp::async_read(*conns[static_cast<std::size_t>(i)], bufs[static_cast<std::size_t>(i)], res,
                                         asio::redirect_error(asio::use_awaitable, ec));
            failures += ec || res.result_int() != 200;
            us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - start).count());
          },
          asio::detached);
    }
    ioc.run();
    ioc.restart();
  }
  state.SetItemsProcessed(state.iterations() * concurrency);
  state.counters["failures"] = static_cast<double>(failures);
  set_latency_counters(state, us);
}

}  // namespace

BENCHMARK(BM_keypool_client)->RangeMultiplier(2)->Range(1, 32)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_raw_beast)->RangeMultiplier(2)->Range(1, 32)->UseRealTime()->Unit(benchmark::kMicrosecond);
