#pragma once
/// OpenAI Chat Completions, the format OpenAI, Groq, Mistral, NVIDIA NIM and
/// Z.AI (GLM) share: POST {base}/chat/completions, Authorization: Bearer.
/// They differ in how an image may be attached (`image_form`) and in a few
/// request fields (`dialect`); the body is written by detail/encode_openai.hpp.

#include <keypool/wire/base64.hpp>
#include <keypool/wire/detail/encode_openai.hpp>
#include <keypool/wire/detail/json.hpp>
#include <keypool/wire/detail/openai_answer.hpp>
#include <keypool/wire/detail/openai_decode.hpp>
#include <keypool/wire/openai_dialect.hpp>
#include <keypool/wire/path.hpp>
#include <keypool/wire/request.hpp>
#include <keypool/wire/sse.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace keypool::wire {

struct openai_chat {
  static constexpr std::string_view name = "openai_chat";
  static constexpr std::string_view endpoint = "chat/completions";

  /// How an inline image is attached (openai_dialect.hpp lists the forms).
  using image_form = openai_image_form;
  /// Per-provider request differences (openai_dialect::of("mistral")).
  using dialect = openai_dialect;

  struct options {
    std::string base_path = "/v1";  ///< Groq: "/openai/v1", Z.AI: "/api/paas/v4"
    image_form images = image_form::data_url_object;
    /// OpenAI's reasoning models take "max_completion_tokens" instead.
    std::string max_tokens_field = "max_tokens";
    /// Ask for server-sent events (decode with chat_stream<openai_chat>).
    bool stream = false;
    /// With stream: ask for a final usage chunk (stream_options.include_usage;
    /// OpenAI, Groq, Mistral, vLLM-based servers accept it).
    bool stream_include_usage = true;
    /// Field names and features that differ per provider.
    openai_dialect dialect{};
  };

  static encode_result encode(const chat_request& r, std::string_view secret, const options& o) {
    if (auto e = detail::check_request(r, secret, name)) return ::keypool::unexpected<encode_error>{*e};
    const auto b = body_options(o);
    if (auto e = detail::openai_support(r, b, name)) return ::keypool::unexpected<encode_error>{*e};
    encoded_request out;
    out.path = join_path(o.base_path, endpoint);
    out.headers = {{"Content-Type", "application/json", false},
                   {"Authorization", "Bearer " + std::string(secret), true}};
    out.body = detail::openai_body_of(r, b);
    return out;
  }
  /// What this provider (o.dialect, o.images) cannot express in `r`, if
  /// anything: the failover client skips the provider for this request.
  static std::optional<encode_error> unsupported(const chat_request& r, const options& o) {
    return detail::openai_support(r, body_options(o), name);
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

  /// Streamed chunks: {"choices":[{"delta":{"content":..,"tool_calls":[..]},
  /// "finish_reason":..}]}, an optional usage chunk, then "data: [DONE]".
  using stream_decoder = detail::openai_stream_decoder;

  /// decode() without its fast path: the tree decoder it falls back to for
  /// anything but the common shape (tests and fuzzers compare the two).
  static decode_result decode_tree(std::string_view body) {
    try {
      return decode_tree_impl(body);
    } catch (const std::exception& e) {
      return detail::decode_fail(name, decode_errc::internal, e.what());
    }
  }

 private:
  static detail::openai_body body_options(const options& o) {
    return {o.images, o.max_tokens_field, o.stream, o.stream_include_usage, o.dialect};
  }

  static decode_result decode_impl(std::string_view body) {
    if (auto common = detail::scan_openai_answer(body)) {
      detail::settle_finish(*common, detail::openai_finish);
      return std::move(*common);
    }
    return detail::decode_openai_tree(body);
  }
  static decode_result decode_tree_impl(std::string_view body) { return detail::decode_openai_tree(body); }
};

}  // namespace keypool::wire
