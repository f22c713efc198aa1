#pragma once
/// Anthropic Messages: POST {base}/messages with x-api-key and
/// anthropic-version. The body is written by detail/encode_anthropic.hpp.

#include <keypool/wire/base64.hpp>
#include <keypool/wire/detail/anthropic_decode.hpp>
#include <keypool/wire/detail/encode_anthropic.hpp>
#include <keypool/wire/detail/json.hpp>
#include <keypool/wire/path.hpp>
#include <keypool/wire/request.hpp>
#include <keypool/wire/sse.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace keypool::wire {

struct anthropic_messages {
  static constexpr std::string_view name = "anthropic_messages";
  static constexpr std::string_view endpoint = "messages";

  struct options {
    std::string base_path = "/v1";
    std::string version = "2023-06-01";  ///< anthropic-version header
    /// Ask for server-sent events (decode with chat_stream<anthropic_messages>).
    bool stream = false;
  };

  static encode_result encode(const chat_request& r, std::string_view secret, const options& o) {
    if (auto e = detail::check_request(r, secret, name)) return ::keypool::unexpected<encode_error>{*e};
    if (auto e = detail::anthropic_support(r, name)) return ::keypool::unexpected<encode_error>{*e};
    encoded_request out;
    out.path = join_path(o.base_path, endpoint);
    out.headers = {{"Content-Type", "application/json", false},
                   {"x-api-key", std::string(secret), true},
                   {"anthropic-version", o.version, false}};
    out.body = detail::anthropic_body_of(r, o.stream);
    return out;
  }
  /// What the Messages API cannot express in `r`, if anything.
  static std::optional<encode_error> unsupported(const chat_request& r, const options&) {
    return detail::anthropic_support(r, name);
  }
  static encode_result encode(const chat_request& r, std::string_view secret) { return encode(r, secret, options{}); }

  /// Decodes a 2xx body. Never throws.
  static decode_result decode(std::string_view body) noexcept {
    try {
      return decode_impl(body);
    } catch (const std::exception& e) {
      return detail::decode_fail(name, decode_errc::internal, e.what());
    }
  }

  /// Streamed events: message_start, content_block_start (tool_use),
  /// content_block_delta (text_delta, input_json_delta), message_delta,
  /// message_stop; an "error" event mid-stream is a provider_error.
  using stream_decoder = detail::anthropic_stream_decoder;

  /// The same as decode() (there is no fast path): tests and fuzzers call
  /// decode_tree on every codec.
  static decode_result decode_tree(std::string_view body) noexcept { return decode(body); }

 private:
  static decode_result decode_impl(std::string_view body) { return detail::decode_anthropic_tree(body); }
};

}  // namespace keypool::wire
