#pragma once
/// One piece of a tool call in a streamed answer, as it arrives: what a
/// stream decoder hands to its caller's `on_tool_call`.

#include <cstddef>
#include <string_view>

namespace keypool::wire {

/// A call's first delta carries its id and name (and maybe the first
/// fragment of its arguments); later ones carry further fragments. The views
/// are valid during the callback only.
struct tool_call_delta {
  std::size_t index = 0;         ///< the call's position in chat_response::tool_calls (0, 1, ...)
  std::string_view id{};         ///< set on the call's first delta, empty after
  std::string_view name{};       ///< set on the call's first delta, empty after
  std::string_view arguments;    ///< the next fragment of the arguments' JSON text (may be empty)
  std::string_view signature{};  ///< Gemini's thoughtSignature, on the call's first delta (tool_call::signature)
};

}  // namespace keypool::wire
