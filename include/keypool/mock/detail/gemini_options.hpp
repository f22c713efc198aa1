#pragma once
/// What a Gemini generateContent request asks for beyond its contents, as
/// the API checks it: `tools[].functionDeclarations[]` (a name; parameters,
/// or parametersJsonSchema, an object; other tools such as googleSearch are
/// passed over), `toolConfig.functionCallingConfig` (mode AUTO, ANY, NONE or
/// VALIDATED; allowedFunctionNames among the declarations) and JSON output
/// (`generationConfig.responseMimeType` application/json, with
/// `responseSchema` or `responseJsonSchema`). Streaming is the path's
/// business (streamGenerateContent), set by the fleet.

#include <keypool/mock/detail/conversation.hpp>
#include <keypool/mock/detail/gemini_conversation.hpp>
#include <keypool/mock/detail/request_shape.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::mock::detail {

/// One function declaration, checked, added to `out`.
inline std::optional<shape_error> gemini_declaration(const boost::json::value& d, const std::string& at,
                                                     std::vector<tool_offer>& out) {
  if (!d.is_object()) return shape_error{"Invalid JSON payload received. Invalid value at '" + at + "'"};
  const auto* name = d.get_object().if_contains("name");
  if (!name || !name->is_string() || name->get_string().empty())
    return shape_error{"* GenerateContentRequest." + at + ".name: Name cannot be empty."};
  const auto* params = gemini_field(d.get_object(), "parameters", "parameters");
  if (!params) params = gemini_field(d.get_object(), "parametersJsonSchema", "parameters_json_schema");
  if (params && !params->is_object())
    return shape_error{"Invalid JSON payload received. Invalid value at '" + at +
                       ".parameters' (type.googleapis.com/google.ai.generativelanguage.v1beta.Schema)"};
  out.push_back({std::string(name->get_string()), params ? params->get_object() : boost::json::object{}});
  return std::nullopt;
}

inline std::optional<shape_error> gemini_declarations(const boost::json::object& o, std::vector<tool_offer>& out) {
  const auto* tools = o.if_contains("tools");
  if (!tools) return std::nullopt;
  if (!tools->is_array()) return shape_error{"Invalid JSON payload received. Invalid value at 'tools'"};
  for (std::size_t i = 0; i < tools->get_array().size(); ++i) {
    const auto& t = tools->get_array()[i];
    if (!t.is_object()) return shape_error{"Invalid JSON payload received. Invalid value at 'tools'"};
    const auto* decls = gemini_field(t.get_object(), "functionDeclarations", "function_declarations");
    if (!decls) continue;  // googleSearch, codeExecution, ...
    if (!decls->is_array()) return shape_error{"Invalid JSON payload received. Invalid value at 'tools'"};
    for (std::size_t j = 0; j < decls->get_array().size(); ++j)
      if (auto e = gemini_declaration(
              decls->get_array()[j],
              "tools[" + std::to_string(i) + "].function_declarations[" + std::to_string(j) + "]", out))
        return e;
  }
  return std::nullopt;
}

/// toolConfig.functionCallingConfig: which declaration the mock calls, if any.
inline std::optional<shape_error> gemini_tool_config(const boost::json::object& o, std::vector<tool_offer>& decls,
                                                     conversation& c) {
  const auto* tc = gemini_field(o, "toolConfig", "tool_config");
  const auto* fcc = tc && tc->is_object()
                        ? gemini_field(tc->get_object(), "functionCallingConfig", "function_calling_config")
                        : nullptr;
  std::string_view mode = "AUTO";
  const boost::json::value* allowed = nullptr;
  if (fcc && fcc->is_object()) {
    if (const auto* m = fcc->get_object().if_contains("mode"); m && m->is_string()) mode = m->get_string();
    allowed = gemini_field(fcc->get_object(), "allowedFunctionNames", "allowed_function_names");
  }
  if (mode != "AUTO" && mode != "ANY" && mode != "NONE" && mode != "VALIDATED" && mode != "MODE_UNSPECIFIED")
    return shape_error{
        "Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/"
        "google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), \"" +
        std::string(mode.substr(0, 20)) + "\""};
  if (decls.empty() || mode == "NONE") return std::nullopt;
  c.tool = std::move(decls.front());
  if (!allowed || !allowed->is_array() || allowed->get_array().empty()) return std::nullopt;
  const auto& first = allowed->get_array()[0];
  for (auto& d : decls)
    if (first.is_string() && first.get_string() == d.name) {
      c.tool = std::move(d);
      return std::nullopt;
    }
  return shape_error{
      "* GenerateContentRequest.tool_config.function_calling_config.allowed_function_names: "
      "function names must be among the function declarations."};
}

/// generationConfig.responseMimeType / responseSchema / responseJsonSchema.
inline std::optional<shape_error> gemini_json_output(const boost::json::object& o, conversation& c) {
  const auto* gc = gemini_field(o, "generationConfig", "generation_config");
  if (!gc || !gc->is_object()) return std::nullopt;
  const auto& g = gc->get_object();
  const auto* mime = gemini_field(g, "responseMimeType", "response_mime_type");
  const auto* schema = gemini_field(g, "responseSchema", "response_schema");
  if (!schema) schema = gemini_field(g, "responseJsonSchema", "response_json_schema");
  if (schema && !schema->is_object())
    return shape_error{"Invalid JSON payload received. Invalid value at 'generation_config.response_schema'"};
  const bool json = mime && *mime == "application/json";
  if (schema && !json)
    return shape_error{
        "* GenerateContentRequest.generation_config.response_mime_type: response_mime_type must be "
        "application/json when a response schema is set."};
  if (schema) c.schema = schema->get_object();
  c.json_object = json && !schema;
  return std::nullopt;
}

/// The turns, then everything above: the whole conversation.
inline std::optional<shape_error> gemini_conversation(const boost::json::object& o, const boost::json::array& contents,
                                                      bool check_signatures, conversation& c) {
  if (auto e = gemini_turns(contents, check_signatures, c)) return e;
  std::vector<tool_offer> decls;
  if (auto e = gemini_declarations(o, decls)) return e;
  if (auto e = gemini_tool_config(o, decls, c)) return e;
  return gemini_json_output(o, c);
}

}  // namespace keypool::mock::detail
