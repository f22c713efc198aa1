#pragma once
/// What a mock provider answers a well-formed request, before any wire
/// format: a tool call when tools are offered and the user spoke last; a
/// JSON object when structured output is asked for; text quoting the tool
/// result when a tool answered last; otherwise a text that names the
/// provider and model and quotes the prompt. With token counts for the
/// spend. success_body.hpp and stream_body.hpp say it in each format.

#include <keypool/mock/detail/request_shape.hpp>
#include <keypool/mock/detail/schema_instance.hpp>
#include <keypool/mock/detail/text.hpp>
#include <keypool/providers/descriptor.hpp>

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace keypool::mock::detail {

/// A deterministic answer and a token count for the spend.
inline std::string answer_text(const providers::provider_descriptor& d, const parsed_request& p) {
  std::string prompt = p.prompt.substr(0, 60);
  if (p.prompt.size() > 60) prompt += "...";
  std::string s = "[mock " + d.display_name + " " + p.model + "] ";
  if (p.images)
    s += "I see " + std::to_string(p.images) + (p.images == 1 ? " image" : " images") + " (" +
         std::to_string(p.image_bytes) + " bytes): a small test pattern. ";
  return s + "You asked: \"" + prompt + "\"";
}

inline std::uint64_t input_tokens(const parsed_request& p) { return (p.prompt.size() + 3) / 4 + 258 * p.images + 8; }
inline std::uint64_t output_tokens(const std::string& text) { return (text.size() + 3) / 4; }

/// The token counts of one answer.
struct usage {
  std::uint64_t in = 0;
  std::uint64_t out = 0;
};

/// A tool call: its id (empty for Gemini, which names calls by function),
/// the function and its arguments as JSON text.
struct planned_call {
  std::string id;
  std::string name;
  std::string arguments;
};

struct answer_plan {
  std::string text;                  ///< the text answer (empty with a call)
  std::optional<planned_call> call;  ///< the tool call instead of text
  usage tokens;
};

/// The tool call of the conversation: arguments from the tool's schema and
/// the last user text; ids from both, so a retried request gets the same
/// (Mistral's are nine letters or digits, as its API requires).
inline planned_call plan_call(const providers::provider_descriptor& d, const conversation& c) {
  planned_call call;
  call.name = c.tool->name;
  call.arguments = to_text(schema_object(c.tool->parameters, c.last_user_text, 0));
  const auto h = stable_id(call.name, call.arguments + c.last_user_text, 0);
  if (d.wire == providers::wire_format::openai_chat) call.id = d.id == "mistral" ? h.substr(0, 9) : "call_mock" + h;
  if (d.wire == providers::wire_format::anthropic_messages) call.id = "toolu_mock" + h;
  return call;
}

/// The text quoting the tool's result (at most 200 bytes of it).
inline std::string tool_result_text(const providers::provider_descriptor& d, const parsed_request& p) {
  const std::string& r = p.chat.tool_result;
  std::string quoted(utf8_prefix(r, 200));
  if (quoted.size() < r.size()) quoted += "...";
  return "[mock " + d.display_name + " " + p.model + "] The tool returned: \"" + quoted + "\"";
}

inline answer_plan plan_answer(const providers::provider_descriptor& d, const parsed_request& p) {
  answer_plan a;
  const conversation& c = p.chat;
  if (c.tool && c.last == last_turn::user) {
    a.call = plan_call(d, c);
    a.tokens = {input_tokens(p), output_tokens(a.call->name + a.call->arguments)};
    return a;
  }
  const std::string& source = c.last == last_turn::tool_result ? c.tool_result : c.last_user_text;
  if (c.schema)
    a.text = to_text(schema_instance(*c.schema, source));
  else if (c.json_object)
    a.text = to_text(boost::json::object{{"answer", schema_string(source)}});
  else if (c.last == last_turn::tool_result)
    a.text = tool_result_text(d, p);
  else
    a.text = answer_text(d, p);
  a.tokens = {input_tokens(p), output_tokens(a.text)};
  return a;
}

}  // namespace keypool::mock::detail
