#pragma once
/// A normalised finish (finish_kind) in the words of the format an answer is
/// re-encoded to: OpenAI's finish_reason and Anthropic's stop_reason.

#include <keypool/wire/response.hpp>

#include <string_view>

namespace keypool::wire::detail {

inline std::string_view openai_finish_word(finish_kind f) noexcept {
  switch (f) {
    case finish_kind::length: return "length";
    case finish_kind::tool_calls: return "tool_calls";
    case finish_kind::content_filter: return "content_filter";
    default: return "stop";
  }
}

inline std::string_view anthropic_stop_word(finish_kind f) noexcept {
  switch (f) {
    case finish_kind::length: return "max_tokens";
    case finish_kind::tool_calls: return "tool_use";
    case finish_kind::content_filter: return "refusal";
    default: return "end_turn";
  }
}

}  // namespace keypool::wire::detail
