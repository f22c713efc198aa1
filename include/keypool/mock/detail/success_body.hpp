#pragma once
/// What a mock provider answers a well-formed request: a deterministic text
/// that names the provider and model and quotes the prompt, with token
/// counts for the spend, in the provider's wire format.

#include <keypool/mock/detail/request_shape.hpp>
#include <keypool/mock/detail/text.hpp>
#include <keypool/providers/descriptor.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
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

inline std::string openai_success(const parsed_request& p, const std::string& text, usage u, std::uint64_t id,
                                  std::chrono::system_clock::time_point wall) {
  namespace json = boost::json;
  return to_text(json::object{
      {"id", "chatcmpl-mock-" + std::to_string(id)},
      {"object", "chat.completion"},
      {"created", std::chrono::duration_cast<std::chrono::seconds>(wall.time_since_epoch()).count()},
      {"model", p.model},
      {"choices", json::array{json::object{{"index", 0},
                                           {"message", json::object{{"role", "assistant"}, {"content", text}}},
                                           {"finish_reason", "stop"}}}},
      {"usage", json::object{{"prompt_tokens", u.in}, {"completion_tokens", u.out}, {"total_tokens", u.in + u.out}}}});
}

inline std::string anthropic_success(const parsed_request& p, const std::string& text, usage u, std::uint64_t id) {
  namespace json = boost::json;
  return to_text(json::object{{"id", "msg_mock_" + std::to_string(id)},
                              {"type", "message"},
                              {"role", "assistant"},
                              {"model", p.model},
                              {"content", json::array{json::object{{"type", "text"}, {"text", text}}}},
                              {"stop_reason", "end_turn"},
                              {"stop_sequence", nullptr},
                              {"usage", json::object{{"input_tokens", u.in}, {"output_tokens", u.out}}}});
}

inline std::string gemini_success(const parsed_request& p, const std::string& text, usage u, std::uint64_t id) {
  namespace json = boost::json;
  return to_text(json::object{
      {"candidates",
       json::array{json::object{
           {"content", json::object{{"parts", json::array{json::object{{"text", text}}}}, {"role", "model"}}},
           {"finishReason", "STOP"},
           {"index", 0}}}},
      {"usageMetadata",
       json::object{{"promptTokenCount", u.in}, {"candidatesTokenCount", u.out}, {"totalTokenCount", u.in + u.out}}},
      {"modelVersion", p.model},
      {"responseId", "mock-" + std::to_string(id)}});
}

inline std::string success_body(const providers::provider_descriptor& d, const parsed_request& p, std::uint64_t id,
                                std::chrono::system_clock::time_point wall) {
  const std::string text = answer_text(d, p);
  const usage u{input_tokens(p), output_tokens(text)};
  switch (d.wire) {
    case providers::wire_format::openai_chat: return openai_success(p, text, u, id, wall);
    case providers::wire_format::anthropic_messages: return anthropic_success(p, text, u, id);
    case providers::wire_format::gemini_generate_content: return gemini_success(p, text, u, id);
  }
  return "{}";
}

}  // namespace keypool::mock::detail
