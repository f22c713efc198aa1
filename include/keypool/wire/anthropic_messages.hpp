#pragma once
/// Anthropic Messages: POST {base}/messages with x-api-key and
/// anthropic-version. The body is written by detail/encode_anthropic.hpp.

#include <keypool/wire/base64.hpp>
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

  /// Streamed events: message_start (model, input usage), content_block_delta
  /// (text_delta), message_delta (stop_reason, output usage), message_stop;
  /// an "error" event mid-stream is a provider_error.
  class stream_decoder {
   public:
    template <class OnText>
    std::optional<decode_error> on_event(const sse_event& e, OnText& on_text) {
      detail::scratch<> arena;  // the event's tree, freed as one
      auto parsed = detail::parse(e.data, name, arena.get());
      if (!parsed) return parsed.error();
      const auto* root = parsed->if_object();
      if (!root)
        return decode_error{decode_errc::unexpected_shape, std::string(name) + ": stream event is not an object"};
      const std::string type(detail::string_field(*root, "type").value_or(e.event));
      if (type == "error") {
        if (auto err = detail::error_object(*root, name)) return err;
        return decode_error{decode_errc::provider_error, std::string(name) + ": error event"};
      }
      if (type == "message_start") {
        if (const auto* m = detail::object_field(*root, "message")) {
          if (auto model = detail::string_field(*m, "model")) r_.model = *model;
          const auto* u = detail::object_field(*m, "usage");
          r_.usage.input_tokens = detail::count_field(u, "input_tokens");
          r_.usage.output_tokens = detail::count_field(u, "output_tokens");
        }
      } else if (type == "content_block_delta") {
        if (const auto* d = detail::object_field(*root, "delta"))
          if (detail::string_field(*d, "type") == std::optional<std::string_view>("text_delta"))
            if (auto t = detail::string_field(*d, "text"); t && !t->empty()) {
              r_.text += *t;
              on_text(*t);
            }
      } else if (type == "message_delta") {
        if (const auto* d = detail::object_field(*root, "delta"))
          if (auto f = detail::string_field(*d, "stop_reason")) r_.finish_reason = *f;
        if (const auto* u = detail::object_field(*root, "usage")) {
          if (const auto n = detail::count_field(u, "output_tokens")) r_.usage.output_tokens = n;
          if (const auto n = detail::count_field(u, "input_tokens")) r_.usage.input_tokens = n;
        }
      } else if (type == "message_stop") {
        done_ = true;
      }
      return std::nullopt;
    }
    decode_result finish() {
      if (!done_)
        return detail::decode_fail(name, decode_errc::truncated_stream, "the stream ended before message_stop");
      return r_;
    }
    const chat_response& partial() const noexcept { return r_; }

   private:
    chat_response r_;
    bool done_ = false;
  };

 private:
  static decode_result decode_impl(std::string_view body) {
    using detail::decode_fail;
    detail::scratch<> arena;  // the answer's tree, freed as one
    auto parsed = detail::parse(body, name, arena.get());
    if (!parsed) return ::keypool::unexpected<decode_error>{parsed.error()};
    const auto* root = parsed->if_object();
    if (!root) return decode_fail(name, decode_errc::unexpected_shape, "the body is not a JSON object");
    if (auto e = detail::error_object(*root, name)) return ::keypool::unexpected<decode_error>{*e};
    const auto* content = detail::array_field(*root, "content");
    if (!content) return decode_fail(name, decode_errc::unexpected_shape, "no \"content\" array");
    chat_response out;
    for (std::size_t i = 0; i < content->size(); ++i) {
      const auto* block = (*content)[i].if_object();
      if (!block)
        return decode_fail(name, decode_errc::unexpected_shape, "content[" + std::to_string(i) + "] is not an object");
      if (detail::string_field(*block, "type") != std::optional<std::string_view>("text")) continue;
      auto t = detail::string_field(*block, "text");
      if (!t)
        return decode_fail(name, decode_errc::unexpected_shape,
                           "content[" + std::to_string(i) + "].text is not a string");
      out.text += *t;
    }
    if (auto f = detail::string_field(*root, "stop_reason")) out.finish_reason = *f;
    if (auto m = detail::string_field(*root, "model")) out.model = *m;
    const auto* u = detail::object_field(*root, "usage");
    out.usage.input_tokens = detail::count_field(u, "input_tokens");
    out.usage.output_tokens = detail::count_field(u, "output_tokens");
    return out;
  }
};

}  // namespace keypool::wire
