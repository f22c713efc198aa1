// The seed guide's "Best Practices": free providers first, paid as fallback.
// Prints the free-first model order from the built-in catalog, then builds a
// chain in that spirit (Groq, NVIDIA free; OpenAI paid) and shows it failing
// over from free providers whose daily quota ran out to the paid one.
#include <keypool/chain/chain.hpp>
#include <keypool/keypool.hpp>
#include <keypool/providers/builtin.hpp>
#include <keypool/providers/catalog.hpp>

#include <cstdio>

namespace kp = keypool;
namespace pv = keypool::providers;

int main() {
  const auto cat = pv::catalog::builtin();
  std::puts("Free-first model order:");
  for (const auto& m : cat.free_first())
    std::printf("  %-10s %-28s %s\n", m.provider.c_str(), m.api_id.c_str(),
                m.price_per_mtok == 0 ? "FREE" : "paid/trial");

  // One pool per provider, in free-first provider order (fake keys).
  kp::pool<pv::groq> groq({{"GROQ_API_KEY_1", "gsk_example_free_1"}});
  kp::pool<pv::nvidia> nvidia({{"NVIDIA_API_KEY_1", "nvapi-example-free-1"}});
  kp::pool<pv::openai> openai({{"OPENAI_API_KEY_1", "sk-example-paid-1"}});
  kp::chain chain(groq, nvidia, openai);

  for (int i = 1; i <= 4; ++i) {
    auto l = chain.acquire();
    if (!l) {
      std::printf("Request %d -> %s\n", i, l.error().message().c_str());
      continue;
    }
    std::printf("Request %d -> %.*s\n", i, static_cast<int>(l->lease.variable().size()), l->lease.variable().data());
    // The free providers' daily quotas run out; the paid key serves.
    chain.report(
        *l, l->provider == "OPENAI" ? kp::outcome::success() : kp::outcome::quota_exhausted(std::chrono::hours(8)));
  }
  std::fputs(kp::report::text(chain.snapshot()).c_str(), stdout);
}
