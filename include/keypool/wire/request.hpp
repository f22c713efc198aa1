#pragma once
/// The provider-neutral shape of one chat call: what the application asks
/// (a prompt, optional images, model, limits) and what it gets back (text,
/// model, token usage, finish reason). The codecs translate these to and
/// from each provider's JSON.

#include <keypool/core/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::wire {

/// An image sent inline: raw bytes (not base64) and their MIME type.
struct image {
  std::string bytes;                     ///< binary file content
  std::string mime_type = "image/jpeg";  ///< image/jpeg, image/png, image/webp, image/gif
};

struct chat_request {
  std::string model;
  std::string prompt;
  std::vector<image> images{};
  std::string system{};             ///< optional system instruction; empty: none
  std::uint32_t max_tokens = 1024;  ///< output token limit (required by Anthropic)
  std::optional<double> temperature{};
};

struct usage {
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;  ///< billed output (Gemini: candidates + thoughts)
  friend bool operator==(const usage&, const usage&) = default;
};

struct chat_response {
  std::string text;   ///< all text parts, concatenated in order
  std::string model;  ///< as reported by the provider (may be more specific than asked)
  wire::usage usage{};
  std::string finish_reason;  ///< the provider's own word: "stop", "end_turn", "STOP", "length", ...
};

/// One request header. `sensitive` marks credentials so that anything
/// printing headers can redact them.
struct header {
  std::string name;
  std::string value;
  bool sensitive = false;
};

/// A request ready to send: the path (joined to the provider's base path),
/// headers (content type, auth) and JSON body.
struct encoded_request {
  std::string path;
  std::vector<header> headers;
  std::string body;
};

enum class encode_errc : std::uint8_t {
  empty_model,
  invalid_model,
  invalid_mime_type,
  empty_secret,
  invalid_secret,
  empty_request,  ///< no prompt and no image: nothing to ask
  invalid_text,   ///< the prompt, system prompt or model is not valid UTF-8
};

struct encode_error {
  encode_errc code;
  std::string message;
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

using encode_result = ::keypool::result<encoded_request, encode_error>;
using decode_result = ::keypool::result<chat_response, decode_error>;

}  // namespace keypool::wire
