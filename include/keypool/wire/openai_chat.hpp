#pragma once
/// OpenAI Chat Completions, the format OpenAI, Groq, Mistral, NVIDIA NIM and
/// Z.AI (GLM) share: POST {base}/chat/completions, Authorization: Bearer.
/// They differ in how an image may be attached; `image_form` picks one.

#include <keypool/wire/base64.hpp>
#include <keypool/wire/detail/json.hpp>
#include <keypool/wire/detail/json_writer.hpp>
#include <keypool/wire/detail/openai_answer.hpp>
#include <keypool/wire/detail/openai_decode.hpp>
#include <keypool/wire/path.hpp>
#include <keypool/wire/request.hpp>
#include <keypool/wire/sse.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace keypool::wire {

struct openai_chat {
  static constexpr std::string_view name = "openai_chat";
  static constexpr std::string_view endpoint = "chat/completions";

  enum class image_form : std::uint8_t {
    /// {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,..."}}: OpenAI, Groq, Z.AI,
    /// NVIDIA list content, Mistral.
    data_url_object,
    /// {"type":"image_url","image_url":"data:..."}: Mistral's documented form.
    data_url_string,
    /// {"type":"image_url","image_url":{"url":"<base64>"}} without the data: prefix: what some
    /// Z.AI models are reported to accept only.
    raw_base64_object,
    /// Content as one string with <img src="data:..." /> appended: older NVIDIA VLMs.
    inline_img_tag,
  };

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
  };

  static encode_result encode(const chat_request& r, std::string_view secret, const options& o) {
    if (auto e = detail::check_request(r, secret, name)) return ::keypool::unexpected<encode_error>{*e};
    std::string body;
    body.reserve(detail::size_hint(r));
    detail::json_writer w(body);
    w.begin_object().key("model").value(r.model).key("messages").begin_array();
    if (!r.system.empty()) w.begin_object().key("role").value("system").key("content").value(r.system).end_object();
    w.begin_object().key("role").value("user").key("content");
    auto data_url = [&w](const image& img, bool prefix) -> detail::json_writer& {
      w.begin_string();
      if (prefix) w.text("data:").text(img.mime_type).text(";base64,");
      return w.base64(img.bytes).end_string();
    };
    if (r.images.empty()) {
      w.value(r.prompt);
    } else if (o.images == image_form::inline_img_tag) {
      w.begin_string().text(r.prompt);
      std::string_view sep = r.prompt.empty() ? "" : " ";
      for (const auto& img : r.images) {
        w.text(sep).text("<img src=\"data:").text(img.mime_type).text(";base64,").base64(img.bytes).text("\" />");
        sep = " ";
      }
      w.end_string();
    } else {
      w.begin_array();
      if (!r.prompt.empty()) w.begin_object().key("type").value("text").key("text").value(r.prompt).end_object();
      for (const auto& img : r.images) {
        w.begin_object().key("type").value("image_url").key("image_url");
        if (o.images == image_form::data_url_string) {
          data_url(img, true);
        } else {
          w.begin_object().key("url");
          data_url(img, o.images == image_form::data_url_object).end_object();
        }
        w.end_object();
      }
      w.end_array();
    }
    w.end_object().end_array();
    w.key(o.max_tokens_field).value(r.max_tokens);
    if (r.temperature) w.key("temperature").value(*r.temperature);
    if (o.stream) {
      w.key("stream").value(true);
      if (o.stream_include_usage) w.key("stream_options").begin_object().key("include_usage").value(true).end_object();
    }
    w.end_object();
    encoded_request out;
    out.path = join_path(o.base_path, endpoint);
    out.headers = {{"Content-Type", "application/json", false},
                   {"Authorization", "Bearer " + std::string(secret), true}};
    out.body = std::move(body);
    return out;
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
