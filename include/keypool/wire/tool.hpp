#pragma once
/// What a request offers and asks beyond its turns: the tools the model may
/// call, whether and which it must call, and the shape of the answer
/// (free text, any JSON object, or JSON following a schema).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace keypool::wire {

/// A function the model may call. `parameters` is a JSON Schema as JSON text
/// (an object; checked when the request is encoded, then copied verbatim).
struct tool {
  std::string name;
  std::string description{};
  std::string parameters{};      ///< JSON Schema object text; empty: no parameters
  std::optional<bool> strict{};  ///< ask for schema-exact arguments (OpenAI, Anthropic)
};

enum class tool_choice_mode : std::uint8_t {
  automatic,  ///< the model decides ("auto")
  none,       ///< no tool call
  required,   ///< some tool call (Anthropic "any", Gemini ANY)
  named,      ///< the tool named in tool_choice::name
};

struct tool_choice {
  tool_choice_mode mode = tool_choice_mode::automatic;
  std::string name{};  ///< for named

  static tool_choice of(std::string tool_name) { return {tool_choice_mode::named, std::move(tool_name)}; }
};

enum class response_format_kind : std::uint8_t { text, json_object, json_schema };

struct response_format {
  response_format_kind kind = response_format_kind::text;
  std::string name{};            ///< json_schema: the schema's name (OpenAI requires one)
  std::string schema{};          ///< json_schema: JSON Schema object text
  std::optional<bool> strict{};  ///< json_schema: OpenAI's strict flag

  static response_format json() { return {response_format_kind::json_object, {}, {}, {}}; }
  static response_format json_schema(std::string name, std::string schema, std::optional<bool> strict = {}) {
    return {response_format_kind::json_schema, std::move(name), std::move(schema), strict};
  }
};

}  // namespace keypool::wire
