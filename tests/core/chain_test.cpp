// Provider chain: priority order, failover, the combined error.
#include <keypool/chain/chain.hpp>
#include <keypool/keypool.hpp>

#include <gtest/gtest.h>

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
using manual = kp::basic_pool<P, kp::policy::clock<kp::clock::manual>>;

std::vector<kp::key_spec> keys(const std::string& prefix, int n) {
  std::vector<kp::key_spec> out;
  for (int i = 1; i <= n; ++i)
    out.push_back({prefix + "_API_KEY_" + std::to_string(i), prefix + "-fake-" + std::to_string(i)});
  return out;
}

struct fixture : ::testing::Test {
  kp::clock::manual clock;  // shared by all three pools
  manual<groq> g{keys("GROQ", 2), {.clock = clock}};
  // A paid provider with its own policies: weighted, exponential.
  kp::basic_pool<nvidia, kp::policy::clock<kp::clock::manual>, kp::policy::lockout<kp::lockout::exponential>> n{
      keys("NVIDIA", 1), {.clock = clock}};
  manual<openai> o{keys("OPENAI", 1), {.clock = clock}};
  kp::chain<decltype(g), decltype(n), decltype(o)> c{g, n, o};
};

}  // namespace

TEST_F(fixture, FirstProviderFirstThenFailoverInOrder) {
  auto l = c.acquire();
  ASSERT_TRUE(l);
  EXPECT_EQ(l->provider, "GROQ");
  c.report(*l, kp::outcome::rate_limited());
  l = c.acquire();
  EXPECT_EQ(l->lease.variable(), "GROQ_API_KEY_2");
  c.report(*l, kp::outcome::rate_limited());
  l = c.acquire();  // all GROQ keys limited: next provider
  ASSERT_TRUE(l);
  EXPECT_EQ(l->provider, "NVIDIA");
  EXPECT_EQ(l->index, 1u);
  c.report(*l, kp::outcome::invalid_key());
  l = c.acquire();
  EXPECT_EQ(l->provider, "OPENAI");
  c.report(*l, kp::outcome::success());
  EXPECT_EQ(o.snapshot().successes(), 1u);  // report reached the right pool
  clock.advance(60s);
  EXPECT_EQ(c.acquire()->provider, "GROQ");  // back to the top of the chain
}

TEST_F(fixture, CombinedErrorListsEveryProvider) {
  for (int i = 0; i < 2; ++i) c.report(*c.acquire(), kp::outcome::rate_limited());
  c.report(*c.acquire(), kp::outcome::invalid_key());
  c.report(*c.acquire(), kp::outcome::rate_limited(30s));  // the default lockout follows the hint
  clock.advance(10s);
  auto r = c.acquire();
  ASSERT_FALSE(r);
  ASSERT_EQ(r.error().providers().size(), 3u);
  EXPECT_EQ(r.error().next_available(), 20s);
  EXPECT_EQ(r.error().message(),
            "No provider available: All GROQ API keys are rate limited; next available in 50 s. "
            "All NVIDIA API keys are invalid; next available in 14 min 50 s. "
            "All OPENAI API keys are rate limited; next available in 20 s");
}

TEST_F(fixture, SkipSetAndLookupByProvider) {
  decltype(c)::skip_set skip;
  skip.set(0);
  EXPECT_EQ(c.acquire(skip)->provider, "NVIDIA");
  EXPECT_EQ(c.find("openai"), 2u);
  EXPECT_FALSE(c.find("google"));
  EXPECT_EQ(c.provider_id(1), "nvidia");
  auto at = c.acquire_at(2);
  ASSERT_TRUE(at);
  EXPECT_EQ(at->lease.variable(), "OPENAI_API_KEY_1");
  EXPECT_THROW((void)c.acquire_at(3), std::out_of_range);  // past the end: an error, not undefined behaviour
  EXPECT_EQ(c.snapshot().size(), 3u);
  EXPECT_EQ(kp::make_chain(g, o).size, 2u);
}
