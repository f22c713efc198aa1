// make demo: the seed guide's behaviour end to end, over real HTTP.
//
// Starts the mock provider fleet on 127.0.0.1 (seven providers, sixteen fake
// keys with small per-minute limits, one revoked key, one out of credit, one
// retired model), sends a burst of concurrent image requests through the
// default chain with the failover client, and shows keys rotating, 429s
// locking keys out, failover across keys and providers, then jumps the
// clock one minute so the lockouts end and keys are probed back. Ends with
// the seed's statistics table, the spend and a one-line summary.
//
// KEYPOOL_ENV=path/to/.env sends the same flow to the real providers with
// your keys (a smaller burst, no clock jump; it costs money on paid
// providers). KEYPOOL_DEMO_REQUESTS / KEYPOOL_DEMO_CONCURRENCY change the burst.
#include <keypool/chain/chain.hpp>
#include <keypool/config/env_keys.hpp>
#include <keypool/http/client.hpp>
#include <keypool/keypool.hpp>
#include <keypool/mock/fleet.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/providers/catalog.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace kp = keypool;
namespace http = keypool::http;
using namespace std::chrono_literals;

namespace {

/// steady_clock plus an offset the demo can move forward: "one minute
/// later" without waiting a minute. Copies share the offset (the pools and
/// the mock fleet see the same time). Lock-free.
struct demo_clock {
  std::shared_ptr<std::atomic<long long>> offset = std::make_shared<std::atomic<long long>>(0);
  kp::clock_ms now() const noexcept {
    return std::chrono::duration_cast<kp::clock_ms>(std::chrono::steady_clock::now().time_since_epoch()) +
           kp::clock_ms(offset->load(std::memory_order_relaxed));
  }
  kp::clock_ms coarse_now() const noexcept { return now(); }
  kp::clock_ms coarse_lag() const noexcept { return kp::clock_ms(0); }
  std::chrono::system_clock::time_point wall_now() const noexcept {
    return std::chrono::system_clock::now() + std::chrono::milliseconds(offset->load(std::memory_order_relaxed));
  }
  void advance(std::chrono::milliseconds d) const noexcept { offset->fetch_add(d.count(), std::memory_order_relaxed); }
};
static_assert(kp::clock_source<demo_clock>);

using demo_pool = kp::basic_pool<kp::runtime_provider, kp::policy::clock<demo_clock>>;
using demo_chain = kp::chain<demo_pool, demo_pool, demo_pool, demo_pool, demo_pool, demo_pool, demo_pool>;

// ---- a small, valid PNG (a colour gradient), so real providers accept it too ----

void put32(std::string& s, std::uint32_t v) {
  for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint32_t crc32(std::string_view data) {
  std::uint32_t c = 0xffffffffu;
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return c ^ 0xffffffffu;
}

void chunk(std::string& png, std::string_view type, const std::string& data) {
  put32(png, static_cast<std::uint32_t>(data.size()));
  std::string body(type);
  body += data;
  png += body;
  put32(png, crc32(body));
}

/// 32x32 RGB, zlib with one stored (uncompressed) block.
std::string gradient_png() {
  constexpr int w = 32, h = 32;
  std::string raw;
  for (int y = 0; y < h; ++y) {
    raw += '\0';  // filter: none
    for (int x = 0; x < w; ++x) {
      raw += static_cast<char>(x * 8);
      raw += static_cast<char>(y * 8);
      raw += static_cast<char>(255 - x * 4 - y * 4);
    }
  }
  std::uint32_t a = 1, b = 0;
  for (unsigned char c : raw) {
    a = (a + c) % 65521;
    b = (b + a) % 65521;
  }
  std::string z = "\x78\x01";
  z += '\x01';  // final stored block
  const auto len = static_cast<std::uint16_t>(raw.size());
  z += static_cast<char>(len & 0xff);
  z += static_cast<char>(len >> 8);
  z += static_cast<char>(~len & 0xff);
  z += static_cast<char>((~len >> 8) & 0xff);
  z += raw;
  put32(z, (b << 16) | a);
  std::string png = "\x89PNG\r\n\x1a\n";
  std::string ihdr;
  put32(ihdr, w);
  put32(ihdr, h);
  ihdr += std::string("\x08\x02\x00\x00\x00", 5);  // 8-bit RGB
  chunk(png, "IHDR", ihdr);
  chunk(png, "IDAT", z);
  chunk(png, "IEND", "");
  return png;
}

// ---- output ----------------------------------------------------------------------

std::mutex print_mu;

std::string short_outcome(const http::attempt& a) {
  using kp::outcome_kind;
  switch (a.outcome.kind) {
    case outcome_kind::rate_limited: return std::to_string(a.status) + " rate limited -> locked";
    case outcome_kind::quota_exhausted: return "quota spent -> locked";
    case outcome_kind::out_of_credit: return "out of credit -> disabled";
    case outcome_kind::invalid_key: return "invalid key -> disabled";
    case outcome_kind::forbidden: return "forbidden -> disabled";
    case outcome_kind::model_unavailable: return "model gone -> next model";
    case outcome_kind::transient:
      return (a.status ? std::to_string(a.status) + " " : std::string()) + "provider trouble -> next provider";
    case outcome_kind::bad_request: return "bad request";
    case outcome_kind::success: return "ok";
  }
  return "?";
}

struct tally {
  std::mutex mu;
  int answered = 0, failed = 0;
  std::map<std::string, int> absorbed;  // outcome kind -> count of failed attempts
  std::size_t attempts = 0;
  std::map<std::string, double> spend;          // provider -> USD
  std::map<std::string, std::uint64_t> tokens;  // provider -> tokens
  std::vector<long long> latency_ms;
};

void print_result(int n, const http::chat_outcome& r, std::chrono::milliseconds took) {
  const auto& attempts = r ? r->attempts : r.error().attempts;
  std::string line;
  char head[64];
  std::snprintf(head, sizeof head, "#%02d %s %5lld ms  ", n, r ? "\xE2\x9C\x85" : "\xE2\x9D\x8C",
                static_cast<long long>(took.count()));
  line = head;
  if (r) {
    std::string who = r->provider + " " + r->model;
    who.resize(std::max<std::size_t>(who.size(), 44), ' ');
    line += who + " <- " + r->key_variable;
  } else {
    line += r.error().message;
  }
  std::lock_guard g(print_mu);
  std::printf("%s\n", line.c_str());
  for (const auto& a : attempts)
    if (a.outcome.kind != kp::outcome_kind::success)
      std::printf("                     %s %s: %s\n", a.key_variable.c_str(), a.reason.c_str(),
                  short_outcome(a).c_str());
}

}  // namespace

int main() {
  const char* env_path = std::getenv("KEYPOOL_ENV");
  const bool real = env_path != nullptr && *env_path != '\0';
  const auto env_int = [](const char* name, int fallback) {
    const char* v = std::getenv(name);
    const int n = v ? std::atoi(v) : 0;
    return n > 0 ? n : fallback;
  };
  const int requests = env_int("KEYPOOL_DEMO_REQUESTS", real ? 6 : 40);
  const int concurrency = env_int("KEYPOOL_DEMO_CONCURRENCY", real ? 3 : 8);

  demo_clock clock;
  std::unique_ptr<kp::mock::fleet> fleet;
  kp::config::key_config cfg;
  if (real) {
    try {
      cfg = kp::config::load_key_config(env_path);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "demo: %s\n", e.what());
      return 2;
    }
    for (const auto& d : cfg.diagnostics) std::fprintf(stderr, "%s\n", d.to_string().c_str());
    std::printf("== keypool demo: REAL providers, keys from %s (%zu keys) ==\n\n", env_path, cfg.key_count());
  } else {
    fleet = std::make_unique<kp::mock::fleet>(kp::mock::sample_fleet(), kp::mock::fleet_clock::from(clock));
    std::size_t keys = 0;
    for (const auto& d : kp::providers::builtin_descriptors()) {
      kp::config::provider_config pc;
      pc.provider = fleet->descriptor(d.id);
      for (auto& s : fleet->key_specs(d.id)) pc.keys.push_back({std::move(s), 0, {"<mock fleet>", 0}});
      keys += pc.keys.size();
      cfg.providers.push_back(std::move(pc));
    }
    std::printf("== keypool demo: mock fleet at %s, 7 providers, %zu fake keys ==\n", fleet->origin().c_str(), keys);
    std::printf(
        "   (small per-minute limits; GOOGLE_API_KEY_2 revoked, OPENAI_API_KEY_2 out of credit,\n"
        "    NVIDIA's Llama 3.2 11B retired; KEYPOOL_ENV=path/to/.env runs this against the real providers)\n\n");
  }

  // The default chain: the seed table's order, each provider's models in that order.
  const auto catalog = kp::providers::catalog::builtin();
  std::vector<std::string> order;
  for (const auto& m : catalog.priority_order())
    if (std::find(order.begin(), order.end(), m.provider) == order.end()) order.push_back(m.provider);
  std::vector<std::unique_ptr<demo_pool>> pools;
  std::vector<http::route> routes;
  for (const auto& id : order) {
    const auto* pc = cfg.find(id);
    const auto desc = pc ? pc->provider : *kp::providers::find_builtin(id);
    demo_pool::options po;
    po.clock = clock;
    pools.push_back(std::make_unique<demo_pool>(desc.info(), pc ? pc->key_specs() : std::vector<kp::key_spec>{}, po));
    std::vector<std::string> models;
    for (const auto& m : catalog.for_provider(id))
      if (std::find(models.begin(), models.end(), m.api_id) == models.end()) models.push_back(m.api_id);
    routes.push_back({desc, std::move(models)});
  }
  std::printf("chain: ");
  for (std::size_t i = 0; i < order.size(); ++i) std::printf("%s%s", i ? " -> " : "", order[i].c_str());
  std::printf("\n\n");

  demo_chain chain(*pools[0], *pools[1], *pools[2], *pools[3], *pools[4], *pools[5], *pools[6]);
  http::transport_options to;
  to.read_timeout = real ? 90s : 10s;
  http::transport transport(to);
  http::failover_options fo;
  fo.max_attempts = 12;
  fo.deadline = real ? 180s : 20s;
  http::client<demo_chain> client(chain, transport, routes, fo);

  kp::wire::chat_request req;
  req.prompt = "Describe this image in one short sentence.";
  req.images.push_back({gradient_png(), "image/png"});
  req.max_tokens = 64;

  tally t;
  auto record = [&](const http::chat_outcome& r, std::chrono::milliseconds took) {
    std::lock_guard g(t.mu);
    const auto& attempts = r ? r->attempts : r.error().attempts;
    t.attempts += attempts.size();
    for (const auto& a : attempts)
      if (a.outcome.kind != kp::outcome_kind::success) ++t.absorbed[std::string(kp::to_string(a.outcome.kind))];
    if (r) {
      ++t.answered;
      t.latency_ms.push_back(took.count());
      const auto tokens = r->response.usage.input_tokens + r->response.usage.output_tokens;
      t.tokens[r->provider] += tokens;
      if (const auto* m = catalog.find(r->provider, r->model))
        t.spend[r->provider] += static_cast<double>(tokens) / 1e6 * m->price_per_mtok;
    } else {
      ++t.failed;
    }
  };
  auto burst = [&](int first, int count, int threads) {
    std::atomic<int> next{first};
    std::vector<std::thread> workers;
    for (int w = 0; w < threads; ++w)
      workers.emplace_back([&] {
        for (int n = next++; n < first + count; n = next++) {
          const auto start = std::chrono::steady_clock::now();
          auto r = client.chat(req);
          const auto took =
              std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
          record(r, took);
          print_result(n, r, took);
        }
      });
    for (auto& w : workers) w.join();
  };

  const auto started = std::chrono::steady_clock::now();
  std::printf("-- a burst of %d image requests, %d at a time --\n", requests, concurrency);
  burst(1, requests, concurrency);

  std::printf("\n-- lockouts now --\n");
  for (const auto& s : chain.snapshot())
    for (const auto& k : s.keys)
      if (!k.available()) std::printf("   %s\n", kp::report::key_line(k).c_str());

  int total = requests;
  if (!real) {
    const int later = 8;
    std::printf("\n-- one minute later (the clock jumps 61 s): lockouts are over, each locked key gets one probe --\n");
    clock.advance(61s);
    burst(requests + 1, later, 1);
    total += later;
  }
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);

  std::vector<kp::pool_snapshot> snaps;
  for (auto& s : chain.snapshot())
    if (!s.keys.empty()) snaps.push_back(std::move(s));
  std::printf("\n%s", kp::report::text(snaps).c_str());

  double spend = 0;
  std::printf("\n\xF0\x9F\x92\xB0 Spend (token counts as reported, the seed table's list prices):\n");
  for (const auto& [provider, usd] : t.spend) {
    std::printf("   %-10s %8llu tokens  $%.6f\n", provider.c_str(), static_cast<unsigned long long>(t.tokens[provider]),
                usd);
    spend += usd;
  }
  std::printf("   %-10s %8s         $%.6f\n", "total", "", spend);

  std::sort(t.latency_ms.begin(), t.latency_ms.end());
  const auto p50 = t.latency_ms.empty() ? 0 : t.latency_ms[t.latency_ms.size() / 2];
  int absorbed = 0;
  std::string why;
  for (const auto& [kind, n] : t.absorbed) {
    absorbed += n;
    why += (why.empty() ? "" : ", ") + std::to_string(n) + " " + kind;
  }
  std::printf(
      "\nSummary: %d requests, %d answered, %d failed; %zu HTTP attempts, %d absorbed by failover (%s); "
      "%zu providers served; p50 %lld ms; $%.4f; %.1f s.\n",
      total, t.answered, t.failed, t.attempts, absorbed, why.empty() ? "none" : why.c_str(), t.spend.size(),
      static_cast<long long>(p50), spend, static_cast<double>(elapsed.count()) / 1000.0);
  return t.failed == 0 ? 0 : 1;
}
