#pragma once
/// Tool call ids: one for a call whose provider gave none, and the
/// thoughtSignature a call id carries through the gateway.
///
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

/// Gemini's thoughtSignature of a call (tool_call::signature) travels inside
/// the call's id through the formats that have no field for it (the
/// gateway's OpenAI and Anthropic answers, and the requests that come back):
/// the id, "__thought__", then the signature in base64url without padding
/// (letters, digits, '-' and '_': still a valid Anthropic tool_use id).
/// Clients send ids back unchanged, so the next turn hands Gemini its
/// signature again.
inline constexpr std::string_view signature_marker = "__thought__";

/// `id` carrying `signature` (standard base64, as Gemini writes it); `id`
/// itself when there is none.
inline std::string id_with_signature(std::string_view id, std::string_view signature) {
  std::string out(id);
  if (signature.empty()) return out;
  out += signature_marker;
  for (const char c : signature)
    if (c != '=') out += c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

/// A call id as a caller sent it back: the id, and the signature it carries
/// (standard base64 again; empty when it carries none).
struct carried_id {
  std::string id;
  std::string signature;
};

inline carried_id split_signature(std::string_view carried) {
  const auto at = carried.find(signature_marker);
  if (at == std::string_view::npos) return {std::string(carried), {}};
  std::string signature;
  for (const char c : carried.substr(at + signature_marker.size())) signature += c == '-' ? '+' : c == '_' ? '/' : c;
  while (signature.size() % 4 != 0) signature += '=';
  return {std::string(carried.substr(0, at)), std::move(signature)};
}

}  // namespace keypool::wire::detail
