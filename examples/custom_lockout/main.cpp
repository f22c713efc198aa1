// A lockout policy of your own: lock a key for as many minutes as it has
// failed in a row, never less than the provider's hint.
#include <keypool/keypool.hpp>

#include <algorithm>
#include <cstdio>

struct minutes_per_failure {
  std::chrono::milliseconds lockout_for(const keypool::outcome& o, const keypool::lockout_context& c) const noexcept {
    std::chrono::milliseconds d = std::chrono::minutes(c.consecutive_failures);
    return o.retry_after ? std::max(d, *o.retry_after) : d;
  }
};

struct anthropic {
  static keypool::provider_info info() { return {"anthropic", "ANTHROPIC"}; }
};

int main() {
  keypool::basic_pool<anthropic, keypool::policy::lockout<minutes_per_failure>> pool(
      {{"ANTHROPIC_API_KEY_1", "sk-ant-example-1"}});
  auto l = pool.acquire_or_throw();
  pool.report(l, keypool::outcome::rate_limited());
  auto again = pool.acquire();
  std::printf("%s\n", again ? "available" : again.error().message().c_str());
}
