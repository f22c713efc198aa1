#pragma once
/// What an OpenAI chat-completions request asks for beyond its messages, as
/// the API checks it: `tools` (function tools, parameters an object),
/// `tool_choice` (none, auto, required, Mistral's any, or a named function
/// that is offered), `response_format` (text, json_object, json_schema with
/// a name and an object schema), `stream` and `stream_options`. Only looked
/// at when present, so a plain request pays one lookup per field.

#include <keypool/mock/detail/conversation.hpp>
#include <keypool/mock/detail/openai_conversation.hpp>
#include <keypool/mock/detail/request_shape.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace keypool::mock::detail {

/// One function tool, checked; the first one is remembered.
inline std::optional<shape_error> openai_tool(const boost::json::value& t, std::size_t i,
                                              std::optional<tool_offer>& first) {
  const std::string at = "tools[" + std::to_string(i) + "]";
  if (!t.is_object()) return openai_bad_type(at, "an object", t);
  const auto* fn = t.get_object().if_contains("function");
  if (!fn || !fn->is_object()) return openai_missing(at + ".function");
  const auto* name = fn->get_object().if_contains("name");
  if (!name || !name->is_string() || name->get_string().empty()) return openai_missing(at + ".function.name");
  const auto* params = fn->get_object().if_contains("parameters");
  if (params && !params->is_object()) return openai_bad_type(at + ".function.parameters", "an object", *params);
  if (!first)
    first = tool_offer{std::string(name->get_string()), params ? params->get_object() : boost::json::object{}};
  return std::nullopt;
}

/// The named function of a tool_choice object, among the offered tools.
inline std::optional<shape_error> openai_named_choice(const boost::json::array& tools, const boost::json::value& choice,
                                                      std::optional<tool_offer>& pick) {
  const auto* fn = choice.is_object() ? choice.get_object().if_contains("function") : nullptr;
  const auto* name = fn && fn->is_object() ? fn->get_object().if_contains("name") : nullptr;
  if (!name || !name->is_string()) return openai_missing("tool_choice.function.name");
  for (const auto& t : tools) {
    const auto& f = t.get_object().at("function").get_object();
    if (f.at("name").get_string() != name->get_string()) continue;
    const auto* params = f.if_contains("parameters");
    pick = tool_offer{std::string(name->get_string()), params ? params->get_object() : boost::json::object{}};
    return std::nullopt;
  }
  return shape_error{
      "Invalid value for 'tool_choice': function '" + std::string(name->get_string()) + "' is not among the 'tools'.",
      400, "tool_choice"};
}

inline std::optional<shape_error> openai_tools(const boost::json::object& o, std::string_view provider,
                                               conversation& c) {
  const auto* tools = o.if_contains("tools");
  const auto* choice = o.if_contains("tool_choice");
  if (!tools || tools->is_null()) {
    if (choice && !choice->is_null())
      return shape_error{"Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
                         400, "tool_choice"};
    return std::nullopt;
  }
  if (!tools->is_array()) return openai_bad_type("tools", "an array of objects", *tools);
  if (tools->get_array().empty())
    return shape_error{
        "Invalid 'tools': empty array. Expected an array with minimum length 1, but got an empty array "
        "instead.",
        400, "tools"};
  for (std::size_t i = 0; i < tools->get_array().size(); ++i)
    if (auto e = openai_tool(tools->get_array()[i], i, c.tool)) return e;
  if (!choice || choice->is_null()) return std::nullopt;
  if (choice->is_object()) return openai_named_choice(tools->get_array(), *choice, c.tool);
  const std::string_view mode = choice->is_string() ? std::string_view(choice->get_string()) : std::string_view();
  if (mode == "none") c.tool.reset();
  if (mode == "none" || mode == "auto" || mode == "required" || (mode == "any" && provider == "mistral"))
    return std::nullopt;
  return shape_error{"Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or a named function.", 400,
                     "tool_choice"};
}

inline std::optional<shape_error> openai_response_format(const boost::json::object& o, conversation& c) {
  const auto* rf = o.if_contains("response_format");
  if (!rf || rf->is_null()) return std::nullopt;
  if (!rf->is_object()) return openai_bad_type("response_format", "an object", *rf);
  const auto* type = rf->get_object().if_contains("type");
  if (!type || !type->is_string()) return openai_missing("response_format.type");
  const std::string_view t = type->get_string();
  if (t == "text") return std::nullopt;
  if (t == "json_object") {
    c.json_object = true;
    return std::nullopt;
  }
  if (t != "json_schema")
    return shape_error{"Invalid value: '" + std::string(t.substr(0, 20)) +
                           "'. Supported values are: 'text', 'json_object', and 'json_schema'.",
                       400, "response_format.type"};
  const auto* js = rf->get_object().if_contains("json_schema");
  if (!js || !js->is_object()) return openai_missing("response_format.json_schema");
  const auto* name = js->get_object().if_contains("name");
  if (!name || !name->is_string()) return openai_missing("response_format.json_schema.name");
  const auto* schema = js->get_object().if_contains("schema");
  if (schema && !schema->is_object())
    return openai_bad_type("response_format.json_schema.schema", "an object", *schema);
  c.schema = schema ? schema->get_object() : boost::json::object{};
  return std::nullopt;
}

inline std::optional<shape_error> openai_stream_options(const boost::json::object& o, conversation& c) {
  const auto* stream = o.if_contains("stream");
  if (stream && stream->is_bool() && stream->get_bool()) c.stream = stream_mode::sse;
  const auto* so = o.if_contains("stream_options");
  if (!so || so->is_null()) return std::nullopt;
  if (c.stream == stream_mode::none)
    return shape_error{"The 'stream_options' parameter is only allowed when 'stream' is enabled.", 400,
                       "stream_options"};
  if (!so->is_object()) return openai_bad_type("stream_options", "an object", *so);
  const auto* iu = so->get_object().if_contains("include_usage");
  c.include_usage = iu && iu->is_bool() && iu->get_bool();
  return std::nullopt;
}

/// Everything above plus the role sequence: the whole conversation.
inline std::optional<shape_error> openai_conversation(const boost::json::object& o, const boost::json::array& messages,
                                                      std::string_view provider, conversation& c) {
  if (auto e = openai_turns(messages, provider, c)) return e;
  if (auto e = openai_tools(o, provider, c)) return e;
  if (auto e = openai_response_format(o, c)) return e;
  return openai_stream_options(o, c);
}

}  // namespace keypool::mock::detail
