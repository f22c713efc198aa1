#pragma once
/// The provider-neutral shape of one chat answer: text, tool calls, why the
/// model stopped, token usage; and why a body could not be decoded. The
/// codecs translate each provider's JSON to it.

#include <keypool/core/result.hpp>
#include <keypool/wire/tool_call.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::wire {

/// Why the model stopped, in words every format shares. The provider's own
/// word stays in chat_response::finish_reason.
enum class finish_kind : std::uint8_t {
  none,            ///< not reported (a stream still running, a provider that omits it)
  stop,            ///< a natural end or a stop sequence
  length,          ///< the output token limit (or the context window) was reached
  tool_calls,      ///< the model asks for the answer's tool_calls to be run
  content_filter,  ///< a safety filter or a refusal cut the answer
  other,           ///< anything else (Gemini MALFORMED_FUNCTION_CALL, Anthropic pause_turn ...)
};

constexpr std::string_view to_string(finish_kind f) noexcept {
  switch (f) {
    case finish_kind::none: return "none";
    case finish_kind::stop: return "stop";
    case finish_kind::length: return "length";
    case finish_kind::tool_calls: return "tool_calls";
    case finish_kind::content_filter: return "content_filter";
    case finish_kind::other: return "other";
  }
  return "unknown";
}

/// Token counts, the same meaning in every format: input_tokens is the whole
/// prompt, the cached and cache-written tokens included (Anthropic reports
/// those apart: the decoder adds them); output_tokens is everything billed
/// as output, reasoning included.
struct usage {
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;                ///< billed output (Gemini: candidates + thoughts)
  std::uint64_t cached_input_tokens = 0;          ///< of input_tokens, read from the provider's prompt cache
  std::uint64_t reasoning_tokens = 0;             ///< of output_tokens, spent thinking (0: not reported)
  std::uint64_t cache_creation_input_tokens = 0;  ///< of input_tokens, written to the cache (Anthropic)
  friend bool operator==(const usage&, const usage&) = default;
};

struct chat_response {
  std::string text;   ///< all text parts, concatenated in order
  std::string model;  ///< as reported by the provider (may be more specific than asked)
  wire::usage usage{};
  std::string finish_reason;  ///< the provider's own word: "stop", "end_turn", "STOP", "length", ...
  /// The tool calls the model asks for, in the order it wrote them.
  std::vector<tool_call> tool_calls{};
  /// finish_reason normalised; tool_calls whenever the answer carries tool
  /// calls and the provider reports a normal stop (Gemini says STOP then).
  finish_kind finish = finish_kind::none;
};

enum class decode_errc : std::uint8_t {
  empty_body,        ///< nothing to parse
  truncated_json,    ///< valid so far but ends in the middle (cut connection, proxy limit)
  invalid_json,      ///< not JSON
  unexpected_shape,  ///< JSON, but not the format's response (missing or mistyped field)
  provider_error,    ///< the body is an error object ({"error": ...}) despite the status
  no_output,         ///< a well-formed answer with nothing in it (no choices, prompt blocked)
  internal,          ///< an unexpected exception (out of memory)
  truncated_stream,  ///< a streamed answer ended before its final event
};

constexpr std::string_view to_string(decode_errc e) noexcept {
  switch (e) {
    case decode_errc::empty_body: return "empty_body";
    case decode_errc::truncated_json: return "truncated_json";
    case decode_errc::invalid_json: return "invalid_json";
    case decode_errc::unexpected_shape: return "unexpected_shape";
    case decode_errc::provider_error: return "provider_error";
    case decode_errc::no_output: return "no_output";
    case decode_errc::internal: return "internal";
    case decode_errc::truncated_stream: return "truncated_stream";
  }
  return "unknown";
}

/// Why a response body could not be decoded; `message` names the format and
/// the JSON path ("openai_chat: choices[0].message.content is not a string").
struct decode_error {
  decode_errc code;
  std::string message;
};

using decode_result = ::keypool::result<chat_response, decode_error>;

}  // namespace keypool::wire
