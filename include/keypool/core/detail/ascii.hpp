#pragma once
/// ASCII case folding, the one helper for it: header names, URL schemes and
/// hosts, tiers and file extensions are ASCII tokens, and the C library's
/// tolower() depends on the locale.

#include <string>
#include <string_view>

namespace keypool::detail {

constexpr char ascii_lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr char ascii_upper(char c) noexcept { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c; }

/// ASCII case-insensitive equality.
constexpr bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

inline void to_lower_in_place(std::string& s) noexcept {
  for (auto& c : s) c = ascii_lower(c);
}
inline void to_upper_in_place(std::string& s) noexcept {
  for (auto& c : s) c = ascii_upper(c);
}
inline std::string to_lower(std::string_view s) {
  std::string out(s);
  to_lower_in_place(out);
  return out;
}

}  // namespace keypool::detail
