// expect: is not a keypool::lockout_policy
#include <keypool/keypool.hpp>
struct p {
  static keypool::provider_info info() { return {"groq", "GROQ"}; }
};
struct wrong_signature {
  int lockout_for(int) const { return 0; }
};
int main() { keypool::basic_pool<p, keypool::policy::lockout<wrong_signature>> pool({}); }
