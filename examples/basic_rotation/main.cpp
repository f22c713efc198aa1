// The smallest useful program: three keys, round-robin, a rate limit.
#include <keypool/keypool.hpp>

#include <cstdio>

struct groq {
  static keypool::provider_info info() { return {"groq", "GROQ"}; }
};

int main() {
  keypool::pool<groq> pool(
      {{"GROQ_API_KEY_1", "gsk_example_1"}, {"GROQ_API_KEY_2", "gsk_example_2"}, {"GROQ_API_KEY_3", "gsk_example_3"}});
  for (int i = 1; i <= 4; ++i) {
    auto lease = pool.acquire();
    if (!lease) {
      std::printf("%s\n", lease.error().message().c_str());
      return 1;
    }
    std::printf("Request %d -> %.*s\n", i, static_cast<int>(lease->variable().size()), lease->variable().data());
    // ... send the request with lease->secret() ...
    pool.report(*lease,
                i == 4 ? keypool::outcome::rate_limited(std::chrono::seconds(20)) : keypool::outcome::success());
  }
  std::fputs(keypool::report::text(pool.snapshot()).c_str(), stdout);
}
