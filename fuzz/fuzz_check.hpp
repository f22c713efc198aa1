#pragma once
/// Shared by the fuzz targets: an invariant check that stays on in release
/// builds (assert() would vanish under -DNDEBUG) and tells libFuzzer about
/// the failure by aborting, so the input is saved as a crash artifact.

#include <cstdio>
#include <cstdlib>
#include <string_view>

#define KEYPOOL_FUZZ_CHECK(cond, what)                                                                    \
  do {                                                                                                    \
    if (!(cond)) {                                                                                        \
      std::fprintf(stderr, "invariant violated at %s:%d: %s\n  (%s)\n", __FILE__, __LINE__, what, #cond); \
      std::abort();                                                                                       \
    }                                                                                                     \
  } while (0)

namespace keypool::fuzz {

/// True when `s` holds only printable ASCII (no CR/LF: log-line safe).
inline bool printable_ascii(std::string_view s) noexcept {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) return false;
  return true;
}

inline bool contains(std::string_view hay, std::string_view needle) noexcept {
  return hay.find(needle) != std::string_view::npos;
}

}  // namespace keypool::fuzz
