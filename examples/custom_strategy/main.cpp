// A selection strategy of your own: prefer the key used least by this
// thread. Any type with a `thread_state` and a `next()` works.
#include <keypool/keypool.hpp>

#include <array>
#include <cstdio>

struct least_used_by_me {
  struct thread_state {
    std::array<std::uint64_t, 64> uses{};
  };
  std::uint32_t next(thread_state& ts, const keypool::candidates& c) noexcept {
    std::uint32_t best = 0;
    for (std::uint32_t i = 1; i < c.size() && i < ts.uses.size(); ++i)
      if (ts.uses[i] < ts.uses[best]) best = i;
    ++ts.uses[best];
    return best;
  }
};

struct mistral {
  static keypool::provider_info info() { return {"mistral", "MISTRAL"}; }
};

int main() {
  keypool::basic_pool<mistral, keypool::policy::selection<least_used_by_me>> pool(
      {{"MISTRAL_API_KEY_1", "mistral-example-1"}, {"MISTRAL_API_KEY_2", "mistral-example-2"}});
  for (int i = 0; i < 4; ++i) {
    auto l = pool.acquire_or_throw();
    std::printf("%.*s\n", static_cast<int>(l.variable().size()), l.variable().data());
    pool.report(l, keypool::outcome::success());
  }
}
