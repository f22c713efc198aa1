// keypool: the command-line tool (keys, probe, ask, mock). See docs/cli.md.
#include "cli.hpp"

#include <iostream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return keypool::cli::run(args, std::cout, std::cerr);
}
