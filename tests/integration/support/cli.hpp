#pragma once
/// What the CLI tests share: the command run in process (keypool::cli::run)
/// with its exit code and both outputs, and the check that no key of a mock
/// fleet reached either output.

#include "../../../tools/keypool/cli.hpp"

#include <keypool/mock/fleet.hpp>

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace keypool::test::cli {

struct run_result {
  int code;
  std::string out, err;
};

inline run_result run(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = keypool::cli::run(args, out, err);
  return {code, out.str(), err.str()};
}

inline void expect_no_secret(const mock::fleet& f, const run_result& r) {
  for (const auto& id : f.providers().provider_ids())
    for (const auto& k : f.key_specs(id)) {
      EXPECT_EQ(r.out.find(k.secret), std::string::npos) << k.variable << " leaked to stdout";
      EXPECT_EQ(r.err.find(k.secret), std::string::npos) << k.variable << " leaked to stderr";
    }
}

}  // namespace keypool::test::cli
