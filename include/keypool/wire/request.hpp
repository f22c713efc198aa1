#pragma once
/// The provider-neutral shape of one chat call: what the application asks
/// (a conversation or a prompt with images, tools, output format, limits) and what it gets back (text,
/// model, token usage, finish reason). The codecs translate these to and
/// from each provider's JSON.

#include <keypool/core/result.hpp>
#include <keypool/wire/message.hpp>
#include <keypool/wire/response.hpp>
#include <keypool/wire/tool.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::wire {

/// One chat call. Either a conversation (`messages`) or the short form: a
/// `prompt` with optional `images`, sent as one user turn. `system`, when
/// set, goes before either as a system turn.
struct chat_request {
  std::string model;
  std::string prompt{};
  std::vector<image> images{};
  std::string system{};             ///< optional system instruction; empty: none
  std::uint32_t max_tokens = 1024;  ///< output token limit (required by Anthropic)
  std::optional<double> temperature{};

  std::vector<message> messages{};  ///< the conversation; with it, prompt and images stay empty
  std::vector<tool> tools{};
  std::optional<wire::tool_choice> tool_choice{};
  std::optional<bool> parallel_tool_calls{};
  std::optional<wire::response_format> response_format{};
  std::vector<std::string> stop{};  ///< stop sequences
  std::optional<double> top_p{};
  std::optional<std::int64_t> seed{};
  std::string user{};  ///< the end user's id, for the provider's abuse monitoring
  /// A JSON object whose members are appended verbatim to openai_chat bodies
  /// (parameters keypool does not model); a member that a modelled field
  /// writes is an encode error. The other formats do not send it.
  std::string extra{};
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
  empty_request,    ///< no prompt and no image: nothing to ask
  invalid_text,     ///< the prompt, system prompt or model is not valid UTF-8
  invalid_message,  ///< a turn is malformed: its role, content or tool_call_id
  invalid_json,     ///< a tool schema, call arguments, response schema or extra is not a JSON object
  invalid_url,      ///< an image URL is not https://
  invalid_tool,     ///< a tool without a name, or a tool_choice naming no offered tool
  unsupported,      ///< the format or provider cannot express a feature the request uses
};

constexpr std::string_view to_string(encode_errc e) noexcept {
  switch (e) {
    case encode_errc::empty_model: return "empty_model";
    case encode_errc::invalid_model: return "invalid_model";
    case encode_errc::invalid_mime_type: return "invalid_mime_type";
    case encode_errc::empty_secret: return "empty_secret";
    case encode_errc::invalid_secret: return "invalid_secret";
    case encode_errc::empty_request: return "empty_request";
    case encode_errc::invalid_text: return "invalid_text";
    case encode_errc::invalid_message: return "invalid_message";
    case encode_errc::invalid_json: return "invalid_json";
    case encode_errc::invalid_url: return "invalid_url";
    case encode_errc::invalid_tool: return "invalid_tool";
    case encode_errc::unsupported: return "unsupported";
  }
  return "unknown";
}

/// Why a request could not be encoded; `message` names the format (or
/// provider) and the place: "anthropic_messages: messages[3].tool_call_id …".
struct encode_error {
  encode_errc code;
  std::string message;
};

using encode_result = ::keypool::result<encoded_request, encode_error>;

}  // namespace keypool::wire
