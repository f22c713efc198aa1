#pragma once
/// Google Gemini generateContent: POST {base}/models/{model}:generateContent
/// with x-goog-api-key (the header, not the legacy ?key= query, so the key
/// never lands in a URL or an access log). Sends and reads camelCase.

#include <keypool/wire/base64.hpp>
#include <keypool/wire/detail/encode_gemini.hpp>
#include <keypool/wire/detail/gemini_decode.hpp>
#include <keypool/wire/detail/json.hpp>
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
    /// How tool parameters and response schemas are sent: as JSON Schema
    /// (parametersJsonSchema, responseJsonSchema) or as the OpenAPI subset
    /// (parameters, responseSchema), which older models and Vertex take.
    gemini_schema_fields schema_fields = gemini_schema_fields::json_schema;
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
    if (auto e = detail::gemini_support(r, name)) return ::keypool::unexpected<encode_error>{*e};
    encoded_request out;
    out.path = join_path(o.base_path, ep);
    out.headers = {{"Content-Type", "application/json", false}, {"x-goog-api-key", std::string(secret), true}};
    out.body = detail::gemini_body_of(r, o.schema_fields);
    return out;
  }
  /// What generateContent cannot express in `r`, if anything.
  static std::optional<encode_error> unsupported(const chat_request& r, const options&) {
    return detail::gemini_support(r, name);
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
