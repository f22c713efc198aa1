#pragma once
/// An id for a tool call whose provider gave none (Gemini's functionCall
/// usually has no id). Derived from the call itself, so a whole answer and
/// the same answer streamed get the same id, and two calls of one answer
/// never share one.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace keypool::wire::detail {

/// "call_" + 16 hex digits of FNV-1a over (index, name, arguments).
inline std::string synthesized_call_id(std::size_t index, std::string_view name, std::string_view arguments) {
  std::uint64_t h = 0xcbf29ce484222325u;
  const auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3u;
    h = (h ^ 0xffu) * 0x100000001b3u;  // a separator no UTF-8 text contains
  };
  mix(std::to_string(index));
  mix(name);
  mix(arguments);
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = "call_";
  for (int shift = 60; shift >= 0; shift -= 4) id += hex[(h >> shift) & 15];
  return id;
}

}  // namespace keypool::wire::detail
