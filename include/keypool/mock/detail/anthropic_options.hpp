#pragma once
/// What an Anthropic Messages request asks for beyond its messages, as the
/// API checks it: `tools` (custom tools need a name and an object
/// input_schema; server tools, which carry a versioned `type`, are passed
/// over), `tool_choice` ({type: auto|any|tool|none}, a tool named among the
/// tools), structured output (`output_config.format` or the beta
/// `output_format`, {type: json_schema, schema}) and `stream`.

#include <keypool/mock/detail/anthropic_conversation.hpp>
#include <keypool/mock/detail/conversation.hpp>
#include <keypool/mock/detail/request_shape.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace keypool::mock::detail {

/// One tool; the first custom one is remembered.
inline std::optional<shape_error> anthropic_tool(const boost::json::value& t, std::size_t i,
                                                 std::optional<tool_offer>& first) {
  const std::string at = "tools." + std::to_string(i);
  if (!t.is_object()) return shape_error{at + ": Input should be a valid dictionary"};
  const auto& o = t.get_object();
  const auto* type = o.if_contains("type");
  if (type && type->is_string() && type->get_string() != "custom") return std::nullopt;  // a server tool
  const auto* name = o.if_contains("name");
  if (!name || !name->is_string() || name->get_string().empty()) return shape_error{at + ".name: Field required"};
  const auto* schema = o.if_contains("input_schema");
  if (!schema) return shape_error{at + ".input_schema: Field required"};
  if (!schema->is_object()) return shape_error{at + ".input_schema: Input should be a valid dictionary"};
  const auto* st = schema->get_object().if_contains("type");
  if (!st || *st != "object") return shape_error{at + ".input_schema.type: Input should be 'object'"};
  if (!first) first = tool_offer{std::string(name->get_string()), schema->get_object()};
  return std::nullopt;
}

/// tool_choice {type: tool, name}: the named tool among the tools.
inline std::optional<shape_error> anthropic_named_choice(const boost::json::array& tools, const boost::json::object& ch,
                                                         std::optional<tool_offer>& pick) {
  const auto* name = ch.if_contains("name");
  if (!name || !name->is_string()) return shape_error{"tool_choice.tool.name: Field required"};
  for (const auto& t : tools) {
    const auto* n = t.get_object().if_contains("name");
    const auto* schema = t.get_object().if_contains("input_schema");
    if (n && *n == name->get_string() && schema) {
      pick = tool_offer{std::string(name->get_string()), schema->get_object()};
      return std::nullopt;
    }
  }
  return shape_error{"tool_choice.tool.name: Tool '" + std::string(name->get_string()) + "' not found in tools"};
}

inline std::optional<shape_error> anthropic_tools(const boost::json::object& o, conversation& c) {
  const auto* tools = o.if_contains("tools");
  const auto* choice = o.if_contains("tool_choice");
  if (!tools) {
    if (choice) return shape_error{"tool_choice: tool_choice may only be specified while providing tools"};
    return std::nullopt;
  }
  if (!tools->is_array()) return shape_error{"tools: Input should be a valid list"};
  for (std::size_t i = 0; i < tools->get_array().size(); ++i)
    if (auto e = anthropic_tool(tools->get_array()[i], i, c.tool)) return e;
  if (!choice) return std::nullopt;
  const auto* type = choice->is_object() ? choice->get_object().if_contains("type") : nullptr;
  const std::string_view t = type && type->is_string() ? std::string_view(type->get_string()) : std::string_view();
  if (t == "tool") return anthropic_named_choice(tools->get_array(), choice->get_object(), c.tool);
  if (t == "none") c.tool.reset();
  if (t == "auto" || t == "any" || t == "none") return std::nullopt;
  return shape_error{"tool_choice: Input tag '" + std::string(t.substr(0, 20)) +
                     "' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"};
}

/// output_config.format (GA) or output_format (beta): {type: json_schema, schema}.
inline std::optional<shape_error> anthropic_output_format(const boost::json::object& o, conversation& c) {
  const boost::json::value* format = nullptr;
  std::string at = "output_format";
  if (const auto* oc = o.if_contains("output_config"); oc && oc->is_object()) {
    format = oc->get_object().if_contains("format");
    at = "output_config.format";
  }
  if (!format) format = o.if_contains("output_format");
  if (!format || format->is_null()) return std::nullopt;
  if (!format->is_object()) return shape_error{at + ": Input should be a valid dictionary"};
  const auto* type = format->get_object().if_contains("type");
  if (!type || *type != "json_schema") return shape_error{at + ".type: Input should be 'json_schema'"};
  const auto* schema = format->get_object().if_contains("schema");
  if (!schema) return shape_error{at + ".schema: Field required"};
  if (!schema->is_object()) return shape_error{at + ".schema: Input should be a valid dictionary"};
  c.schema = schema->get_object();
  return std::nullopt;
}

/// The turns, then everything above: the whole conversation.
inline std::optional<shape_error> anthropic_conversation(const boost::json::object& o,
                                                         const boost::json::array& messages, conversation& c) {
  if (auto e = anthropic_turns(messages, c)) return e;
  if (auto e = anthropic_tools(o, c)) return e;
  if (auto e = anthropic_output_format(o, c)) return e;
  if (const auto* s = o.if_contains("stream"); s && s->is_bool() && s->get_bool()) c.stream = stream_mode::sse;
  return std::nullopt;
}

}  // namespace keypool::mock::detail
