// Uses only what keypool::json propagates: the core and Boost.JSON (compiled lib).
#include <boost/json.hpp>
#include <keypool/keypool.hpp>

int main() {
  auto const value = boost::json::parse(R"({"keys":2})");
  return value.at("keys").as_int64() == 2 ? 0 : 1;
}
