// expect: is not a keypool::selection_strategy
#include <keypool/keypool.hpp>
struct p {
  static keypool::provider_info info() { return {"groq", "GROQ"}; }
};
struct no_next {
  struct thread_state {};
};
int main() { keypool::basic_pool<p, keypool::policy::selection<no_next>> pool({}); }
