#pragma once
/// A streamed response of any of the three wire formats, chosen at run time.

#include <keypool/core/result.hpp>
#include <keypool/providers/descriptor.hpp>
#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/format.hpp>
#include <keypool/wire/gemini_generate_content.hpp>
#include <keypool/wire/openai_chat.hpp>
#include <keypool/wire/request.hpp>
#include <keypool/wire/sse.hpp>
#include <keypool/wire/tool_call_delta.hpp>

#include <string_view>
#include <type_traits>
#include <variant>

namespace keypool::http::detail {

class any_chat_stream {
 public:
  explicit any_chat_stream(providers::wire_format f) {
    wire::visit_format(
        f, [this](auto codec) { s_.template emplace<wire::chat_stream<typename decltype(codec)::type>>(); }, [] {});
  }
  template <class OnText>
  bool feed(std::string_view bytes, OnText&& on_text) {
    return feed(bytes, on_text, [](const wire::tool_call_delta&) {});
  }
  /// `on_tool_call(const wire::tool_call_delta&)` receives tool-call pieces.
  template <class OnText, class OnToolCall>
  bool feed(std::string_view bytes, OnText&& on_text, OnToolCall&& on_tool_call) {
    return std::visit(
        [&](auto& s) {
          if constexpr (std::is_same_v<std::decay_t<decltype(s)>, std::monostate>)
            return false;
          else
            return s.feed(bytes, on_text, on_tool_call);
        },
        s_);
  }
  wire::decode_result finish() {
    return std::visit(
        [](auto& s) -> wire::decode_result {
          if constexpr (std::is_same_v<std::decay_t<decltype(s)>, std::monostate>)
            return ::keypool::unexpected<wire::decode_error>{{wire::decode_errc::internal, "no stream"}};
          else
            return s.finish();
        },
        s_);
  }

 private:
  std::variant<std::monostate, wire::chat_stream<wire::openai_chat>, wire::chat_stream<wire::anthropic_messages>,
               wire::chat_stream<wire::gemini_generate_content>>
      s_;
};

}  // namespace keypool::http::detail
