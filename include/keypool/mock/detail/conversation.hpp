#pragma once
/// What the mock reads of a whole conversation beyond its prompt: the last
/// turn, the tool it will call, the structured output it must produce and
/// whether to stream. Filled by the wire formats' conversation checks
/// (openai_conversation.hpp, anthropic_conversation.hpp,
/// gemini_conversation.hpp); empty for a plain one-prompt request, so the
/// hot path of a simple request pays nothing for it.

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace keypool::mock::detail {

/// Who spoke last.
enum class last_turn : std::uint8_t {
  user,         ///< a user turn (text, images)
  tool_result,  ///< a tool result (OpenAI role tool, Anthropic tool_result, Gemini functionResponse)
  assistant,    ///< an assistant (model) turn: a prefill to continue
};

/// The tool the mock will call: the first offered one, or the named one.
struct tool_offer {
  std::string name;
  boost::json::object parameters;  ///< its JSON Schema (may be empty)
};

/// How the answer is delivered.
enum class stream_mode : std::uint8_t {
  none,        ///< one JSON body
  sse,         ///< server-sent events (all three formats)
  json_array,  ///< Gemini's streamGenerateContent without alt=sse: a JSON array of chunks
};

struct conversation {
  last_turn last = last_turn::user;
  std::string last_user_text;                 ///< the text of the last user turn
  std::string tool_result;                    ///< last_turn::tool_result: the result's text, as quoted
  std::optional<tool_offer> tool;             ///< set when tools are offered and tool_choice allows a call
  std::optional<boost::json::object> schema;  ///< json_schema structured output: the schema
  bool json_object = false;                   ///< JSON output without a schema
  stream_mode stream = stream_mode::none;
  bool include_usage = false;  ///< OpenAI stream_options.include_usage: a final usage chunk
};

}  // namespace keypool::mock::detail
