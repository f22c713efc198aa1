#pragma once
/// OpenAI Chat Completions, the format OpenAI, Groq, Mistral, NVIDIA NIM and
/// Z.AI (GLM) share: POST {base}/chat/completions, Authorization: Bearer.
/// They differ in how an image may be attached (`image_form`) and in a few
/// request fields (`dialect`); the body is written by detail/encode_openai.hpp.

#include <keypool/wire/base64.hpp>
#include <keypool/wire/detail/encode_openai.hpp>
#include <keypool/wire/detail/json.hpp>
#include <keypool/wire/detail/openai_answer.hpp>
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

  /// Streamed chunks: {"choices":[{"delta":{"content":..},"finish_reason":..}]},
  /// an optional usage chunk, then "data: [DONE]".
  class stream_decoder {
   public:
    template <class OnText>
    std::optional<decode_error> on_event(const sse_event& e, OnText& on_text) {
      if (e.data == "[DONE]") {
        done_ = true;
        return std::nullopt;
      }
      detail::scratch<> arena;  // the event's tree, freed as one
      auto parsed = detail::parse(e.data, name, arena.get());
      if (!parsed) return parsed.error();
      const auto* root = parsed->if_object();
      if (!root)
        return decode_error{decode_errc::unexpected_shape, std::string(name) + ": stream chunk is not an object"};
      if (auto err = detail::error_object(*root, name)) return err;
      if (auto m = detail::string_field(*root, "model")) r_.model = *m;
      if (const auto* choices = detail::array_field(*root, "choices"); choices && !choices->empty()) {
        if (const auto* choice = (*choices)[0].if_object()) {
          if (const auto* delta = detail::object_field(*choice, "delta"))
            if (auto t = detail::string_field(*delta, "content"); t && !t->empty()) {
              r_.text += *t;
              on_text(*t);
            }
          if (auto f = detail::string_field(*choice, "finish_reason")) r_.finish_reason = *f;
        }
      }
      const json_usage_source sources[] = {detail::object_field(*root, "usage"), groq_usage(*root)};
      for (const auto* u : sources)
        if (u) {
          r_.usage.input_tokens = detail::count_field(u, "prompt_tokens");
          r_.usage.output_tokens = detail::count_field(u, "completion_tokens");
        }
      return std::nullopt;
    }
    decode_result finish() {
      if (!done_ && r_.finish_reason.empty())
        return detail::decode_fail(name, decode_errc::truncated_stream,
                                   "the stream ended before a finish_reason or [DONE]");
      return r_;
    }
    const chat_response& partial() const noexcept { return r_; }

   private:
    using json_usage_source = const boost::json::object*;
    /// Groq reports streamed usage under "x_groq".
    static json_usage_source groq_usage(const boost::json::object& root) {
      const auto* x = detail::object_field(root, "x_groq");
      return x ? detail::object_field(*x, "usage") : nullptr;
    }
    chat_response r_;
    bool done_ = false;
  };

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
    if (auto common = detail::scan_openai_answer(body)) return std::move(*common);
    return decode_tree_impl(body);
  }

  static decode_result decode_tree_impl(std::string_view body) {
    using detail::decode_fail;
    detail::scratch<> arena;  // the answer's tree, freed as one
    auto parsed = detail::parse(body, name, arena.get());
    if (!parsed) return ::keypool::unexpected<decode_error>{parsed.error()};
    const auto* root = parsed->if_object();
    if (!root) return decode_fail(name, decode_errc::unexpected_shape, "the body is not a JSON object");
    if (auto e = detail::error_object(*root, name)) return ::keypool::unexpected<decode_error>{*e};
    const auto* choices = detail::array_field(*root, "choices");
    if (!choices) return decode_fail(name, decode_errc::unexpected_shape, "no \"choices\" array");
    if (choices->empty()) return decode_fail(name, decode_errc::no_output, "\"choices\" is empty");
    const auto* choice = (*choices)[0].if_object();
    if (!choice) return decode_fail(name, decode_errc::unexpected_shape, "choices[0] is not an object");
    const auto* message = detail::object_field(*choice, "message");
    if (!message) return decode_fail(name, decode_errc::unexpected_shape, "choices[0].message is missing");
    chat_response out;
    const auto* content = detail::field(*message, "content");
    if (!content || content->is_null()) {
      // no text (e.g. only tool calls): an empty answer, not a malformed one
    } else if (const auto* s = content->if_string()) {
      out.text.assign(s->data(), s->size());
    } else if (const auto* parts = content->if_array()) {
      for (const auto& p : *parts)
        if (const auto* po = p.if_object())
          if (auto t = detail::string_field(*po, "text")) out.text += *t;
    } else {
      return decode_fail(name, decode_errc::unexpected_shape, "choices[0].message.content is not a string");
    }
    if (auto f = detail::string_field(*choice, "finish_reason")) out.finish_reason = *f;
    if (auto m = detail::string_field(*root, "model")) out.model = *m;
    const auto* u = detail::object_field(*root, "usage");
    out.usage.input_tokens = detail::count_field(u, "prompt_tokens");
    out.usage.output_tokens = detail::count_field(u, "completion_tokens");
    return out;
  }
};

}  // namespace keypool::wire
