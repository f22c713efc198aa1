#pragma once
/// A mock provider's non-streamed answer (answer_plan.hpp) in the provider's
/// wire format: OpenAI's chat.completion, Anthropic's message (both written
/// by the gateway's answer writers, wire/answer_encode.hpp), Gemini's
/// GenerateContentResponse; text or one tool call, with usage.

#include <keypool/mock/detail/answer_plan.hpp>
#include <keypool/mock/detail/gemini_signature.hpp>
#include <keypool/mock/detail/request_shape.hpp>
#include <keypool/mock/detail/text.hpp>
#include <keypool/providers/descriptor.hpp>
#include <keypool/wire/answer_encode.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace keypool::mock::detail {

/// A call's arguments as the JSON object Anthropic and Gemini carry.
inline boost::json::value call_input(const planned_call& c) { return boost::json::parse(c.arguments); }

/// The plan as the provider-neutral answer, which the gateway's answer
/// writers (wire/answer_encode.hpp) put in OpenAI's and Anthropic's form.
inline wire::chat_response as_response(const answer_plan& a) {
  wire::chat_response r;
  r.text = a.text;
  if (a.call) r.tool_calls.push_back({a.call->id, a.call->name, a.call->arguments});
  r.finish = a.call ? wire::finish_kind::tool_calls : wire::finish_kind::stop;
  r.usage.input_tokens = a.tokens.in;
  r.usage.output_tokens = a.tokens.out;
  return r;
}

inline std::string openai_success(const parsed_request& p, const answer_plan& a, std::uint64_t id,
                                  std::chrono::system_clock::time_point wall) {
  return wire::openai_answer_json(as_response(a),
                                  {"chatcmpl-mock-" + std::to_string(id), p.model,
                                   std::chrono::duration_cast<std::chrono::seconds>(wall.time_since_epoch()).count()});
}

inline std::string anthropic_success(const parsed_request& p, const answer_plan& a, std::uint64_t id) {
  return wire::anthropic_answer_json(as_response(a), {"msg_mock_" + std::to_string(id), p.model, 0});
}

/// One Gemini part: text, or a functionCall (Gemini names calls by function,
/// no id) with its thoughtSignature.
inline boost::json::object gemini_part(const answer_plan& a, std::string_view text) {
  if (!a.call) return boost::json::object{{"text", text}};
  return boost::json::object{
      {"functionCall", boost::json::object{{"name", a.call->name}, {"args", call_input(*a.call)}}},
      {"thoughtSignature", gemini_signature(a.call->name)}};
}

/// One GenerateContentResponse: the whole answer, or one chunk of a stream
/// (`finish` only on the last, usage on every chunk as Gemini sends it).
inline boost::json::object gemini_response(const parsed_request& p, boost::json::object part, bool finish, usage u,
                                           std::uint64_t id) {
  namespace json = boost::json;
  json::object candidate{{"content", json::object{{"parts", json::array{std::move(part)}}, {"role", "model"}}}};
  if (finish) candidate["finishReason"] = "STOP";
  candidate["index"] = 0;
  return json::object{
      {"candidates", json::array{std::move(candidate)}},
      {"usageMetadata",
       json::object{{"promptTokenCount", u.in}, {"candidatesTokenCount", u.out}, {"totalTokenCount", u.in + u.out}}},
      {"modelVersion", p.model},
      {"responseId", "mock-" + std::to_string(id)}};
}

inline std::string success_body(const providers::provider_descriptor& d, const parsed_request& p, const answer_plan& a,
                                std::uint64_t id, std::chrono::system_clock::time_point wall) {
  switch (d.wire) {
    case providers::wire_format::openai_chat: return openai_success(p, a, id, wall);
    case providers::wire_format::anthropic_messages: return anthropic_success(p, a, id);
    case providers::wire_format::gemini_generate_content:
      return to_text(gemini_response(p, gemini_part(a, a.text), true, a.tokens, id));
  }
  return "{}";
}

inline std::string success_body(const providers::provider_descriptor& d, const parsed_request& p, std::uint64_t id,
                                std::chrono::system_clock::time_point wall) {
  return success_body(d, p, plan_answer(d, p), id, wall);
}

}  // namespace keypool::mock::detail
