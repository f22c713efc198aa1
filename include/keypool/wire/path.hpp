#pragma once
/// Request paths as the codecs build them: a provider's base path plus the
/// format's endpoint.

#include <string>
#include <string_view>

namespace keypool::wire {

/// Joins a base URL's path and a relative endpoint path with exactly one '/'.
inline std::string join_path(std::string_view base, std::string_view suffix) {
  std::string out(base);
  while (!out.empty() && out.back() == '/') out.pop_back();
  while (!suffix.empty() && suffix.front() == '/') suffix.remove_prefix(1);
  out += '/';
  out.append(suffix);
  return out;
}

}  // namespace keypool::wire
