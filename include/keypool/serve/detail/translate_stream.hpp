#pragma once
/// A streamed answer translated as it arrives: the upstream provider's
/// server-sent events are decoded incrementally (wire::chat_stream of the
/// provider's codec) and each text delta or tool-call piece is re-encoded at
/// once in the caller's stream format (wire/stream_encode.hpp); the closing
/// events (finish reason, usage) are written when the upstream stream ends.
/// Nothing is buffered beyond the event being parsed.

#include <keypool/providers/descriptor.hpp>
#include <keypool/serve/detail/errors.hpp>
#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/gemini_generate_content.hpp>
#include <keypool/wire/openai_chat.hpp>
#include <keypool/wire/sse.hpp>
#include <keypool/wire/stream_encode.hpp>

#include <string>
#include <string_view>
#include <variant>

namespace keypool::serve::detail {

class stream_translator {
 public:
  stream_translator(providers::wire_format upstream, api_format caller, const wire::answer_meta& meta,
                    bool include_usage) {
    if (upstream == providers::wire_format::anthropic_messages)
      in_.emplace<wire::chat_stream<wire::anthropic_messages>>();
    else if (upstream == providers::wire_format::gemini_generate_content)
      in_.emplace<wire::chat_stream<wire::gemini_generate_content>>();
    if (caller == api_format::anthropic)
      out_.emplace<wire::anthropic_stream_encoder>(meta);
    else
      out_.emplace<wire::openai_stream_encoder>(meta, include_usage);
  }

  /// Feeds upstream bytes; appends the caller's events to `out`. False when
  /// the upstream stream is not a valid stream (error() says why).
  bool feed(std::string_view bytes, std::string& out) {
    const bool ok = std::visit(
        [&](auto& in) {
          return std::visit(
              [&](auto& enc) {
                return in.feed(
                    bytes, [&](std::string_view t) { enc.text(out, t); },
                    [&](const wire::tool_call_delta& d) { enc.tool_call(out, d); });
              },
              out_);
        },
        in_);
    if (!ok) {
      auto r = std::visit([](auto& in) { return in.finish(); }, in_);
      error_ = r ? std::string("the stream could not be decoded") : r.error().message;
    }
    return ok;
  }

  /// At the upstream stream's end: appends the closing events; false (and
  /// nothing appended) when the stream was cut or invalid.
  bool finish(std::string& out) {
    auto r = std::visit([](auto& in) { return in.finish(); }, in_);
    if (!r) {
      error_ = r.error().message;
      return false;
    }
    std::visit([&](auto& enc) { enc.finish(out, *r); }, out_);
    return true;
  }

  /// Why feed() or finish() failed.
  const std::string& error() const noexcept { return error_; }

 private:
  std::variant<wire::chat_stream<wire::openai_chat>, wire::chat_stream<wire::anthropic_messages>,
               wire::chat_stream<wire::gemini_generate_content>>
      in_;
  std::variant<wire::openai_stream_encoder, wire::anthropic_stream_encoder> out_{
      std::in_place_type<wire::openai_stream_encoder>, wire::answer_meta{}, false};
  std::string error_;
};

}  // namespace keypool::serve::detail
