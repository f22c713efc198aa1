#pragma once
/// Google Gemini generateContent: POST {base}/models/{model}:generateContent
/// with x-goog-api-key (the header, not the legacy ?key= query, so the key
/// never lands in a URL or an access log). Sends and reads camelCase.

#include <keypool/wire/base64.hpp>
#include <keypool/wire/detail/gemini_decode.hpp>
#include <keypool/wire/detail/json.hpp>
#include <keypool/wire/detail/json_writer.hpp>
#include <keypool/wire/path.hpp>
#include <keypool/wire/request.hpp>
#include <keypool/wire/sse.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

namespace keypool::wire {

struct gemini_generate_content {
  static constexpr std::string_view name = "gemini_generate_content";

  struct options {
    std::string base_path = "/v1beta";
    /// Use :streamGenerateContent?alt=sse (decode with
    /// chat_stream<gemini_generate_content>).
    bool stream = false;
  };

  /// "models/{model}:generateContent"; a "models/" prefix on the model is
  /// accepted. Empty when the model name has characters unsafe in a path.
  static std::string endpoint(std::string_view model, bool stream = false) {
    if (model.substr(0, 7) == "models/") model.remove_prefix(7);
    if (model.empty()) return {};
    for (char c : model)
      if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
            c == '.'))
        return {};
    return "models/" + std::string(model) + (stream ? ":streamGenerateContent?alt=sse" : ":generateContent");
  }

  static encode_result encode(const chat_request& r, std::string_view secret, const options& o) {
    if (auto e = detail::check_request(r, secret, name)) return ::keypool::unexpected<encode_error>{*e};
    const auto ep = endpoint(r.model, o.stream);
    if (ep.empty())
      return ::keypool::unexpected<encode_error>{
          {encode_errc::invalid_model, std::string(name) + ": model '" + detail::clip(r.model, 60) +
                                           "' has characters not allowed in a model name"}};
    std::string body;
    body.reserve(detail::size_hint(r));
    detail::json_writer w(body);
    w.begin_object().key("contents").begin_array().begin_object().key("role").value("user");
    w.key("parts").begin_array();
    if (!r.prompt.empty()) w.begin_object().key("text").value(r.prompt).end_object();  // no empty part
    for (const auto& img : r.images) {
      w.begin_object().key("inlineData").begin_object().key("mimeType").value(img.mime_type);
      w.key("data").begin_string().base64(img.bytes).end_string().end_object().end_object();
    }
    w.end_array().end_object().end_array();
    w.key("generationConfig").begin_object().key("maxOutputTokens").value(r.max_tokens);
    if (r.temperature) w.key("temperature").value(*r.temperature);
    w.end_object();
    if (!r.system.empty()) {
      w.key("systemInstruction").begin_object().key("parts").begin_array();
      w.begin_object().key("text").value(r.system).end_object().end_array().end_object();
    }
    w.end_object();
    encoded_request out;
    out.path = join_path(o.base_path, ep);
    out.headers = {{"Content-Type", "application/json", false}, {"x-goog-api-key", std::string(secret), true}};
    out.body = std::move(body);
    return out;
  }
  static encode_result encode(const chat_request& r, std::string_view secret) { return encode(r, secret, options{}); }

  /// Decodes a 2xx body. Never throws. A prompt blocked by safety filters
  /// (no candidates, promptFeedback.blockReason) is decode_errc::no_output.
  static decode_result decode(std::string_view body) noexcept {
    try {
      return decode_impl(body);
    } catch (const std::exception& e) {
      return detail::decode_fail(name, decode_errc::internal, e.what());
    }
  }

  /// Streamed events: each is a GenerateContentResponse carrying the next
  /// piece of text or whole function calls; the last has finishReason and
  /// the final usageMetadata, or a chunk of usageMetadata alone follows it.
  using stream_decoder = detail::gemini_stream_decoder;

  /// The same as decode() (there is no fast path): tests and fuzzers call
  /// decode_tree on every codec.
  static decode_result decode_tree(std::string_view body) noexcept { return decode(body); }

 private:
  static decode_result decode_impl(std::string_view body) { return detail::decode_gemini_tree(body); }
};

}  // namespace keypool::wire
