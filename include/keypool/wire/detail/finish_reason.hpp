#pragma once
/// Each format's finish reasons mapped onto finish_kind, and the last touch
/// every decoder gives an answer (whole or streamed).

#include <keypool/wire/response.hpp>

#include <initializer_list>
#include <string_view>

namespace keypool::wire::detail {

inline bool one_of(std::string_view w, std::initializer_list<std::string_view> words) noexcept {
  for (auto x : words)
    if (w == x) return true;
  return false;
}

/// OpenAI's words, with Mistral's model_length and Z.AI's sensitive.
inline finish_kind openai_finish(std::string_view w) noexcept {
  if (w.empty()) return finish_kind::none;
  if (w == "stop") return finish_kind::stop;
  if (one_of(w, {"length", "model_length"})) return finish_kind::length;
  if (one_of(w, {"tool_calls", "function_call"})) return finish_kind::tool_calls;
  if (one_of(w, {"content_filter", "sensitive"})) return finish_kind::content_filter;
  return finish_kind::other;
}

/// Anthropic's stop_reason.
inline finish_kind anthropic_finish(std::string_view w) noexcept {
  if (w.empty()) return finish_kind::none;
  if (one_of(w, {"end_turn", "stop_sequence"})) return finish_kind::stop;
  if (one_of(w, {"max_tokens", "model_context_window_exceeded"})) return finish_kind::length;
  if (w == "tool_use") return finish_kind::tool_calls;
  if (w == "refusal") return finish_kind::content_filter;
  return finish_kind::other;
}

/// Gemini's Candidate.finishReason.
inline finish_kind gemini_finish(std::string_view w) noexcept {
  if (w.empty()) return finish_kind::none;
  if (w == "STOP") return finish_kind::stop;
  if (w == "MAX_TOKENS") return finish_kind::length;
  if (one_of(w, {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
                 "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}))
    return finish_kind::content_filter;
  return finish_kind::other;
}

/// Sets r.finish from r.finish_reason; a normal stop with tool calls is a
/// tool_calls stop (Gemini always says STOP, some OpenAI-compatible servers
/// say stop).
inline void settle_finish(chat_response& r, finish_kind (*map)(std::string_view) noexcept) noexcept {
  r.finish = map(r.finish_reason);
  if (r.finish == finish_kind::stop && !r.tool_calls.empty()) r.finish = finish_kind::tool_calls;
}

}  // namespace keypool::wire::detail
