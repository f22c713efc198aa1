#pragma once
/// The provider-neutral shape of one chat call: what the application asks
/// (a prompt, optional images, model, limits) and what it gets back (text,
/// model, token usage, finish reason). The codecs translate these to and
/// from each provider's JSON.

#include <keypool/core/result.hpp>
#include <keypool/wire/response.hpp>

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

using encode_result = ::keypool::result<encoded_request, encode_error>;

}  // namespace keypool::wire
