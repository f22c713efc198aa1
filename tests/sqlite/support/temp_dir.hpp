#pragma once
// A fresh directory per test under $TMPDIR (or /tmp), removed with everything
// in it when the test ends, and small helpers the SQLite tests share.

#include <keypool/keypool.hpp>
#include <keypool/state/sqlite.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace keypool_test {

class temp_dir {
 public:
  temp_dir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/keypool_sqlite_XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const noexcept { return path_; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

/// Every byte of a file, empty when it does not exist.
inline std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Calls `f` until it is true, for at most `limit`; whether it became true.
/// Only bounds waits for another thread or process; asserts no timing.
template <class F>
bool eventually(F f, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!f()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

/// The key with that variable in a snapshot of `p`.
template <class Pool>
keypool::key_snapshot key_of(const Pool& p, std::string_view variable) {
  for (auto& k : p.snapshot().keys)
    if (k.variable == variable) return k;
  throw std::runtime_error("no key " + std::string(variable));
}

/// A lease of the key with that variable (others are reported as successes).
template <class Pool>
keypool::lease lease_of(Pool& p, std::string_view variable) {
  for (int i = 0; i < 64; ++i) {
    auto l = p.acquire_or_throw();
    if (l.variable() == variable) return l;
    p.report(l, keypool::outcome::success());
  }
  throw std::runtime_error("key not handed out: " + std::string(variable));
}

}  // namespace keypool_test
