#pragma once
/// The body of a Gemini generateContent request
/// (https://ai.google.dev/api/generate-content): system and developer turns
/// become `systemInstruction`; roles are user and model; assistant tool calls
/// are `functionCall` parts and tool turns `functionResponse` parts (named
/// after the call they answer); tools are `functionDeclarations`, the choice
/// `toolConfig.functionCallingConfig`, JSON output `responseMimeType` with a
/// schema (https://ai.google.dev/gemini-api/docs/structured-output).

#include <keypool/wire/detail/json_check.hpp>
#include <keypool/wire/detail/json_writer.hpp>
#include <keypool/wire/detail/validate.hpp>
#include <keypool/wire/request.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace keypool::wire {

/// Which fields carry a JSON Schema in a Gemini request.
enum class gemini_schema_fields : std::uint8_t {
  json_schema,  ///< parametersJsonSchema / responseJsonSchema: JSON Schema as written
  openapi,      ///< parameters / responseSchema: Google's OpenAPI 3.0 subset
};

}  // namespace keypool::wire

namespace keypool::wire::detail {

/// A tool turn's result as functionResponse.response, which must be an
/// object: a result that is a JSON object goes as is, any other text as
/// {"result": "<text>"}.
inline void write_gemini_function_response(json_writer& w, const chat_request& r, std::size_t i) {
  const message& m = r.messages[i];
  std::string text;
  for (const auto& p : m.content)
    if (p.kind == content_part::kind_t::text) text += p.text;
  const tool_call* call = find_call(r, i, m.tool_call_id);
  const std::string_view name = !m.name.empty() ? std::string_view(m.name) : std::string_view(call->name);
  w.begin_object().key("functionResponse").begin_object().key("name").value(name).key("response");
  if (json_kind_of(text) == json_kind::object)
    w.raw(text);
  else
    w.begin_object().key("result").value(text).end_object();
  w.end_object().end_object();
}

/// One turn's parts: text, inline images, function calls or the response.
inline void write_gemini_parts(json_writer& w, const chat_request& r, std::size_t i) {
  const message& m = r.messages[i];
  if (m.role == role::tool) return write_gemini_function_response(w, r, i);
  for (const auto& p : m.content) {
    if (p.kind == content_part::kind_t::text) {
      if (!p.text.empty()) w.begin_object().key("text").value(p.text).end_object();  // no empty part
    } else {
      w.begin_object().key("inlineData").begin_object().key("mimeType").value(p.image.mime_type);
      w.key("data").begin_string().base64(p.image.bytes).end_string().end_object().end_object();
    }
  }
  for (const auto& c : m.tool_calls) {
    w.begin_object().key("functionCall").begin_object().key("name").value(c.name);
    w.key("args").raw(c.arguments.empty() ? std::string_view("{}") : std::string_view(c.arguments));
    w.end_object();
    if (!c.signature.empty()) w.key("thoughtSignature").value(c.signature);  // back in the part it came in
    w.end_object();
  }
}

/// contents: the short form's user turn, or the turns (system ones left for
/// systemInstruction), a run of one wire role merged into one content.
inline void write_gemini_contents(json_writer& w, const chat_request& r) {
  w.key("contents").begin_array();
  if (r.messages.empty()) {
    w.begin_object().key("role").value("user").key("parts").begin_array();
    if (!r.prompt.empty()) w.begin_object().key("text").value(r.prompt).end_object();
    for (const auto& img : r.images) {
      w.begin_object().key("inlineData").begin_object().key("mimeType").value(img.mime_type);
      w.key("data").begin_string().base64(img.bytes).end_string().end_object().end_object();
    }
    w.end_array().end_object();
  }
  std::string_view open;
  for (std::size_t i = 0; i < r.messages.size(); ++i) {
    const auto rl = r.messages[i].role;
    if (rl == role::system || rl == role::developer) continue;
    const std::string_view wire_role = rl == role::assistant ? "model" : "user";
    if (wire_role != open) {
      if (!open.empty()) w.end_array().end_object();
      w.begin_object().key("role").value(wire_role).key("parts").begin_array();
      open = wire_role;
    }
    write_gemini_parts(w, r, i);
  }
  if (!open.empty()) w.end_array().end_object();
  w.end_array();
}

/// systemInstruction: r.system, then the text of every system and developer turn.
inline void write_gemini_system(json_writer& w, const chat_request& r) {
  bool any = !r.system.empty();
  for (const auto& m : r.messages) any = any || m.role == role::system || m.role == role::developer;
  if (!any) return;
  w.key("systemInstruction").begin_object().key("parts").begin_array();
  if (!r.system.empty()) w.begin_object().key("text").value(r.system).end_object();
  for (const auto& m : r.messages)
    if (m.role == role::system || m.role == role::developer)
      for (const auto& p : m.content)
        if (!p.text.empty()) w.begin_object().key("text").value(p.text).end_object();
  w.end_array().end_object();
}

/// tools[0].functionDeclarations and toolConfig.functionCallingConfig
/// (mode AUTO / NONE / ANY, a named tool as ANY + allowedFunctionNames).
inline void write_gemini_tools(json_writer& w, const chat_request& r, gemini_schema_fields f) {
  if (!r.tools.empty()) {
    w.key("tools").begin_array().begin_object().key("functionDeclarations").begin_array();
    for (const auto& t : r.tools) {
      w.begin_object().key("name").value(t.name);
      if (!t.description.empty()) w.key("description").value(t.description);
      if (!t.parameters.empty())
        w.key(f == gemini_schema_fields::json_schema ? "parametersJsonSchema" : "parameters").raw(t.parameters);
      w.end_object();
    }
    w.end_array().end_object().end_array();
  }
  if (!r.tool_choice) return;
  static constexpr std::string_view mode_of[] = {"AUTO", "NONE", "ANY", "ANY"};
  const auto& c = *r.tool_choice;
  w.key("toolConfig").begin_object().key("functionCallingConfig").begin_object();
  w.key("mode").value(mode_of[static_cast<int>(c.mode)]);
  if (c.mode == tool_choice_mode::named) w.key("allowedFunctionNames").begin_array().value(c.name).end_array();
  w.end_object().end_object();
}

/// generationConfig: limits, sampling, stop sequences and the answer's form.
inline void write_gemini_generation(json_writer& w, const chat_request& r, gemini_schema_fields f) {
  w.key("generationConfig").begin_object().key("maxOutputTokens").value(r.max_tokens);
  if (r.temperature) w.key("temperature").value(*r.temperature);
  if (r.top_p) w.key("topP").value(*r.top_p);
  if (r.seed) w.key("seed").value(*r.seed);
  if (!r.stop.empty()) {
    w.key("stopSequences").begin_array();
    for (const auto& s : r.stop) w.value(s);
    w.end_array();
  }
  if (const auto& rf = r.response_format; rf && rf->kind != response_format_kind::text) {
    w.key("responseMimeType").value("application/json");
    if (rf->kind == response_format_kind::json_schema)
      w.key(f == gemini_schema_fields::json_schema ? "responseJsonSchema" : "responseSchema").raw(rf->schema);
  }
  w.end_object();
}

/// The whole body; check_request and gemini_support passed.
inline std::string gemini_body_of(const chat_request& r, gemini_schema_fields f) {
  std::string body;
  body.reserve(size_hint(r));
  json_writer w(body);
  w.begin_object();
  write_gemini_contents(w, r);
  write_gemini_generation(w, r, f);
  write_gemini_system(w, r);
  write_gemini_tools(w, r, f);
  w.end_object();
  return body;
}

/// What generateContent cannot express: an image by URL (it takes inline
/// bytes or its own Files API), a user id, parallel_tool_calls false, and
/// images in system turns. `extra` is openai_chat's only and is not sent.
inline check_result gemini_support(const chat_request& r, std::string_view format) {
  for (std::size_t i = 0; i < r.messages.size(); ++i)
    for (std::size_t j = 0; j < r.messages[i].content.size(); ++j) {
      const auto k = r.messages[i].content[j].kind;
      if (k == content_part::kind_t::image_url)
        return unsupported(format, "an image by URL (" + at_part(i, j) + "; Gemini takes inline bytes)");
      const auto rl = r.messages[i].role;
      if (k == content_part::kind_t::image && (rl == role::system || rl == role::developer || rl == role::tool))
        return unsupported(format, "an image in a " + std::string(to_string(rl)) + " turn (" + at_part(i, j) + ")");
    }
  if (!r.user.empty()) return unsupported(format, "user");
  if (r.parallel_tool_calls && !*r.parallel_tool_calls) return unsupported(format, "parallel_tool_calls false");
  return std::nullopt;
}

}  // namespace keypool::wire::detail
