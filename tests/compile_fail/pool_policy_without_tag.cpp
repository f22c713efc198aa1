// expect: every policy must be wrapped in a tag
#include <keypool/keypool.hpp>
struct p {
  static keypool::provider_info info() { return {"groq", "GROQ"}; }
};
int main() { keypool::basic_pool<p, keypool::lockout::fixed> pool({}); }
