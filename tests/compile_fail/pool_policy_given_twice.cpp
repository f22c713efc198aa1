// expect: policy::selection<> given more than once
#include <keypool/keypool.hpp>
struct p {
  static keypool::provider_info info() { return {"groq", "GROQ"}; }
};
using twice = keypool::basic_pool<p, keypool::policy::selection<keypool::selection::random>,
                                  keypool::policy::selection<keypool::selection::weighted>>;
int main() { twice pool({}); }
