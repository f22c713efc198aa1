#pragma once
/// Reads a provider answer fixture from tests/wire/answers/.

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace keypool::test {

inline std::string answer(std::string_view file) {
  const std::string path = std::string(KEYPOOL_TEST_DIR) + "/answers/" + std::string(file);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace keypool::test
