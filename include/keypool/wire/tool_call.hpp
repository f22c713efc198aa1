#pragma once
/// One call of a tool by the model: in an assistant turn of a conversation
/// (what the model asked earlier) and in an answer (what it asks now).

#include <string>

namespace keypool::wire {

struct tool_call {
  std::string id;         ///< the provider's id; a tool turn answers it by this id
  std::string name;       ///< the tool's name, as declared in the request's tools
  std::string arguments;  ///< the arguments as JSON text, byte for byte as the model wrote them
  /// Gemini's thoughtSignature of the call (opaque base64), empty when the
  /// model gave none. Gemini 3 refuses the next turn of a conversation whose
  /// function calls come back without it, so a conversation keeps it as is.
  std::string signature{};
  friend bool operator==(const tool_call&, const tool_call&) = default;
};

}  // namespace keypool::wire
