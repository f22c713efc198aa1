// expect: is not a keypool::clock_source
#include <keypool/keypool.hpp>
struct p {
  static keypool::provider_info info() { return {"groq", "GROQ"}; }
};
struct sundial {
  long now() const { return 0; }
};
int main() { keypool::basic_pool<p, keypool::policy::clock<sundial>> pool({}); }
