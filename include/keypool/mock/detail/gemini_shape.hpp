#pragma once
/// The request-shape check of Gemini's generateContent format (contents of
/// parts, text or inline image data, camelCase or snake_case field names).
/// The model is not in the body but in the path: the fleet sets it, and
/// streaming (streamGenerateContent). The conversation as a whole (roles,
/// functionCall / functionResponse turns, tools, toolConfig, JSON output) is
/// checked in gemini_conversation.hpp and gemini_options.hpp.

#include <keypool/mock/detail/gemini_options.hpp>
#include <keypool/mock/detail/gemini_signature.hpp>
#include <keypool/mock/detail/request_shape.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace keypool::mock::detail {

/// A functionCall part ({name, args object}) or a functionResponse part
/// ({name, response object}); which turn may hold which is checked in
/// gemini_conversation.hpp.
inline std::optional<shape_error> gemini_function_part(const boost::json::object& po) {
  const bool call = po.contains("functionCall") || po.contains("function_call");
  const auto* f =
      gemini_field(po, call ? "functionCall" : "functionResponse", call ? "function_call" : "function_response");
  const std::string at = call ? "contents.parts.function_call" : "contents.parts.function_response";
  if (!f->is_object())
    return shape_error{"Invalid value at '" + at +
                       "' (type.googleapis.com/google.ai.generativelanguage.v1beta.Function" +
                       (call ? "Call" : "Response") + ")"};
  const auto* name = f->get_object().if_contains("name");
  if (!name || !name->is_string() || name->get_string().empty())
    return shape_error{"* GenerateContentRequest." + at + ".name: Name cannot be empty."};
  const auto* value = f->get_object().if_contains(call ? "args" : "response");
  if (value && !value->is_object())
    return shape_error{"Invalid value at '" + at + (call ? ".args" : ".response") +
                       "' (type.googleapis.com/google.protobuf.Struct)"};
  return std::nullopt;
}

inline std::optional<shape_error> gemini_part(const boost::json::value& p, parsed_request& r) {
  if (!p.is_object()) return shape_error{"Invalid JSON payload received. Invalid value at 'contents.parts'"};
  const auto& po = p.get_object();
  if (const auto* t = po.if_contains("text")) {
    if (!t->is_string()) return shape_error{"Invalid value at 'contents.parts.text' (TYPE_STRING)"};
    r.prompt += std::string(t->get_string());
    return std::nullopt;
  }
  if (po.contains("functionCall") || po.contains("function_call") || po.contains("functionResponse") ||
      po.contains("function_response"))
    return gemini_function_part(po);
  const auto* inline_data = po.if_contains("inlineData");
  if (!inline_data) inline_data = po.if_contains("inline_data");
  if (!inline_data || !inline_data->is_object())
    return shape_error{"* GenerateContentRequest.contents.parts: a part must have text or inlineData"};
  const auto& io = inline_data->get_object();
  const auto* mime = io.if_contains("mimeType");
  if (!mime) mime = io.if_contains("mime_type");
  if (!mime || !mime->is_string() || !image_mime(mime->get_string()))
    return shape_error{"Unsupported MIME type in inlineData"};
  const auto* data = io.if_contains("data");
  const auto n = data && data->is_string() ? base64_size(data->get_string()) : std::nullopt;
  if (!n) return shape_error{"Invalid value at 'contents.parts.inline_data.data' (TYPE_BYTES), Base64 decoding failed"};
  r.image_bytes += *n;
  ++r.images;
  return std::nullopt;
}

/// `model` is the one the request's path names (Gemini's body has none).
inline check_result gemini_shape(std::string_view body, std::string_view model) {
  parsed_request r;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return {shape_error{"Invalid JSON payload received. Unexpected token."}, r};
  const auto* contents = v.get_object().if_contains("contents");
  if (!contents || !contents->is_array() || contents->get_array().empty())
    return {shape_error{"* GenerateContentRequest.contents: contents is not specified"}, r};
  for (const auto& c : contents->get_array()) {
    if (!c.is_object()) return {shape_error{"Invalid JSON payload received. Invalid value at 'contents'"}, r};
    const auto* parts = c.get_object().if_contains("parts");
    if (!parts || !parts->is_array() || parts->get_array().empty())
      return {shape_error{"* GenerateContentRequest.contents.parts: contents.parts must not be empty."}, r};
    for (const auto& p : parts->get_array())
      if (auto e = gemini_part(p, r)) return {std::move(e), r};
  }
  if (auto e = gemini_conversation(v.get_object(), contents->get_array(), gemini_checks_signatures(model), r.chat))
    return {std::move(e), r};
  return {std::nullopt, r};
}

}  // namespace keypool::mock::detail
