// Uses only what keypool::keypool propagates: include dir, C++20, Hana, threads.
#include <boost/hana.hpp>
#include <keypool/keypool.hpp>

#include <thread>

static_assert(__cplusplus >= 202002L, "keypool::keypool must propagate C++20");

int main() {
  int value = 0;
  std::thread worker{[&value] { value = boost::hana::size(boost::hana::make_tuple(1, 2)); }};
  worker.join();
  return value == 2 ? 0 : 1;
}
