// expect: the first parameter must be a provider
#include <keypool/keypool.hpp>
int main() { keypool::basic_pool<int> pool(keypool::provider_info{}, {}); }
