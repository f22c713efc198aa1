#pragma once
/// Google Gemini generateContent: POST {base}/models/{model}:generateContent
/// with x-goog-api-key (the header, not the legacy ?key= query, so the key
/// never lands in a URL or an access log). Sends and reads camelCase.

#include <keypool/wire/base64.hpp>
#include <keypool/wire/detail/encode_gemini.hpp>
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
  /// piece of text; the last has finishReason and the final usageMetadata,
  /// or a chunk of usageMetadata alone (no candidates) follows it.
  class stream_decoder {
   public:
    template <class OnText>
    std::optional<decode_error> on_event(const sse_event& e, OnText& on_text) {
      detail::scratch<> arena;  // the event's tree, freed as one
      auto parsed = detail::parse(e.data, name, arena.get());
      if (!parsed) return parsed.error();
      const auto* root = parsed->if_object();
      if (!root)
        return decode_error{decode_errc::unexpected_shape, std::string(name) + ": stream chunk is not an object"};
      if (auto err = detail::error_object(*root, name)) return err;
      chat_response piece;
      if (usage_only(*root))
        read_meta(*root, piece);
      else if (auto bad = read_response(*root, piece))
        return bad;
      if (!piece.text.empty()) {
        r_.text += piece.text;
        on_text(std::string_view(piece.text));
      }
      if (!piece.model.empty()) r_.model = piece.model;
      if (!piece.finish_reason.empty()) r_.finish_reason = piece.finish_reason;
      if (detail::object_field(*root, "usageMetadata")) r_.usage = piece.usage;
      return std::nullopt;
    }
    decode_result finish() {
      if (r_.finish_reason.empty())
        return detail::decode_fail(name, decode_errc::truncated_stream, "the stream ended before a finishReason");
      return r_;
    }
    const chat_response& partial() const noexcept { return r_; }

   private:
    chat_response r_;
  };

 private:
  /// Reads one GenerateContentResponse object into `out`.
  static std::optional<decode_error> read_response(const boost::json::object& root, chat_response& out) {
    const auto* candidates = detail::array_field(root, "candidates");
    if (!candidates || candidates->empty()) {
      std::string why = "no candidates";
      if (const auto* fb = detail::object_field(root, "promptFeedback"))
        if (auto reason = detail::string_field(*fb, "blockReason"))
          why = "prompt blocked: " + detail::clip(*reason, 60);
      return decode_error{decode_errc::no_output, std::string(name) + ": " + why};
    }
    const auto* cand = (*candidates)[0].if_object();
    if (!cand)
      return decode_error{decode_errc::unexpected_shape, std::string(name) + ": candidates[0] is not an object"};
    if (const auto* content = detail::object_field(*cand, "content")) {
      if (const auto* parts = detail::array_field(*content, "parts")) {
        for (const auto& p : *parts) {
          const auto* po = p.if_object();
          if (!po) continue;
          const auto* thought = detail::field(*po, "thought");
          if (thought && thought->is_bool() && thought->get_bool()) continue;  // reasoning summary, not the answer
          if (auto t = detail::string_field(*po, "text")) out.text += *t;
        }
      }
    }
    if (auto f = detail::string_field(*cand, "finishReason")) out.finish_reason = *f;
    read_meta(root, out);
    return std::nullopt;
  }

  /// Reads modelVersion and usageMetadata into `out`.
  static void read_meta(const boost::json::object& root, chat_response& out) {
    if (auto m = detail::string_field(root, "modelVersion")) out.model = *m;
    const auto* u = detail::object_field(root, "usageMetadata");
    out.usage.input_tokens = detail::count_field(u, "promptTokenCount");
    out.usage.output_tokens =
        detail::count_field(u, "candidatesTokenCount") + detail::count_field(u, "thoughtsTokenCount");
  }

  /// A stream chunk with usageMetadata but no candidates: Google may send the
  /// totals alone. A blocked prompt carries usage too, so it is not one.
  static bool usage_only(const boost::json::object& root) {
    const auto* candidates = detail::array_field(root, "candidates");
    if ((candidates && !candidates->empty()) || !detail::object_field(root, "usageMetadata")) return false;
    const auto* fb = detail::object_field(root, "promptFeedback");
    return !(fb && detail::string_field(*fb, "blockReason"));
  }

  static decode_result decode_impl(std::string_view body) {
    using detail::decode_fail;
    detail::scratch<> arena;  // the answer's tree, freed as one
    auto parsed = detail::parse(body, name, arena.get());
    if (!parsed) return ::keypool::unexpected<decode_error>{parsed.error()};
    const auto* root = parsed->if_object();
    if (!root) return decode_fail(name, decode_errc::unexpected_shape, "the body is not a JSON object");
    if (auto e = detail::error_object(*root, name)) return ::keypool::unexpected<decode_error>{*e};
    chat_response out;
    if (auto bad = read_response(*root, out)) return ::keypool::unexpected<decode_error>{*bad};
    return out;
  }
};

}  // namespace keypool::wire
