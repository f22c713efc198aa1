#pragma once
/// The request-shape check of the OpenAI chat-completions format (OpenAI,
/// Groq, Mistral, NVIDIA, Z.AI), with each provider's variants: Mistral's
/// string image_url, Z.AI's raw base64 images, NVIDIA's inline <img> tags,
/// Groq's and Mistral's image counts. The messages are theirs. The
/// conversation as a whole (tool calls and results, tools, structured
/// output, streaming) is checked in openai_options.hpp.

#include <keypool/mock/detail/openai_options.hpp>
#include <keypool/mock/detail/request_shape.hpp>
#include <keypool/providers/descriptor.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace keypool::mock::detail {

/// NVIDIA's older VLMs: images inline in the text as <img src="data:..." />.
inline std::optional<shape_error> openai_inline_images(std::string_view text, parsed_request& r) {
  for (auto pos = text.find("<img src=\""); pos != std::string_view::npos; pos = text.find("<img src=\"", pos + 1)) {
    const auto start = pos + 10, end = text.find('"', start);
    if (end == std::string_view::npos) return shape_error{"unterminated <img> tag", 422};
    if (auto e = check_data_url(text.substr(start, end - start), r.image_bytes)) return shape_error{*e, 422};
    ++r.images;
  }
  return std::nullopt;
}

inline std::optional<shape_error> openai_image_part(const boost::json::object& part, std::string_view provider,
                                                    parsed_request& r) {
  const auto* iu = part.if_contains("image_url");
  std::string_view url;
  if (iu && iu->is_object()) {
    const auto* u = iu->get_object().if_contains("url");
    if (!u || !u->is_string()) return shape_error{"image_url.url must be a string"};
    url = u->get_string();
  } else if (iu && iu->is_string() && provider == "mistral") {
    url = iu->get_string();  // Mistral's documented form
  } else {
    return shape_error{"image_url must be an object with a 'url'"};
  }
  if (url.substr(0, 8) == "https://" || url.substr(0, 7) == "http://") {
    // a remote image: accepted, not fetched
  } else if (provider == "zai" && url.substr(0, 5) != "data:") {
    const auto n = base64_size(url);  // some GLM models take raw base64
    if (!n) return shape_error{"image data is not valid base64"};
    r.image_bytes += *n;
  } else if (auto e = check_data_url(url, r.image_bytes)) {
    return shape_error{*e};
  }
  ++r.images;
  return std::nullopt;
}

inline std::optional<shape_error> openai_part(const boost::json::value& p, std::string_view provider,
                                              parsed_request& r) {
  if (!p.is_object()) return shape_error{"each content part must be an object"};
  const auto& po = p.get_object();
  const auto* type = po.if_contains("type");
  if (!type || !type->is_string()) return shape_error{"each content part needs a 'type'"};
  if (type->get_string() == "text") {
    const auto* t = po.if_contains("text");
    if (!t || !t->is_string()) return shape_error{"a text part needs 'text'"};
    r.prompt += std::string(t->get_string());
    return std::nullopt;
  }
  if (type->get_string() == "image_url") return openai_image_part(po, provider, r);
  return shape_error{"unsupported content part type '" +
                     std::string(std::string_view(type->get_string()).substr(0, 20)) + "'"};
}

inline std::optional<shape_error> openai_message(const boost::json::value& m, std::string_view provider,
                                                 parsed_request& r) {
  if (!m.is_object()) return shape_error{"each message must be an object"};
  const auto& mo = m.get_object();
  const auto* role = mo.if_contains("role");
  if (!role || !role->is_string()) return shape_error{"each message needs a 'role'"};
  const std::string_view rs = role->get_string();
  if (rs != "system" && rs != "developer" && rs != "user" && rs != "assistant" && rs != "tool")
    return shape_error{"invalid role '" + std::string(rs.substr(0, 20)) + "'"};
  const auto* content = mo.if_contains("content");
  if ((!content || content->is_null()) && rs == "assistant" && mo.contains("tool_calls"))
    return std::nullopt;  // a tool-calling turn needs no text
  if (!content) return shape_error{"each message needs 'content'"};
  if (content->is_string()) {
    const std::string_view text = content->get_string();
    if (rs == "user") r.prompt += std::string(text);
    if (provider == "nvidia") return openai_inline_images(text, r);
    return std::nullopt;
  }
  if (!content->is_array()) return shape_error{"'content' must be a string or an array of parts"};
  for (const auto& p : content->get_array())
    if (auto e = openai_part(p, provider, r)) return e;
  return std::nullopt;
}

inline check_result openai_shape(std::string_view body, const providers::provider_descriptor& d) {
  parsed_request r;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object())
    return {shape_error{"We could not parse the JSON body of your request. The request body must be a JSON object."},
            r};
  const auto& o = v.get_object();
  const auto* model = o.if_contains("model");
  if (!model || !model->is_string() || model->get_string().empty())
    return {shape_error{"you must provide a model parameter"}, r};
  r.model = std::string(model->get_string());
  const auto* messages = o.if_contains("messages");
  if (!messages || !messages->is_array() || messages->get_array().empty())
    return {shape_error{"'messages' must be a non-empty array"}, r};
  if (const auto* mt = o.if_contains("max_tokens"); mt && !(mt->is_int64() && mt->get_int64() > 0) && !mt->is_uint64())
    return {shape_error{"'max_tokens' must be a positive integer"}, r};
  for (const auto& m : messages->get_array())
    if (auto e = openai_message(m, d.id, r)) return {std::move(e), r};
  if (d.id == "groq" && r.images > 5)
    return {shape_error{"Too many images provided. This model supports up to 5 images"}, r};
  if (d.id == "mistral" && r.images > 8) return {shape_error{"Too many images in request. Max is 8.", 422}, r};
  if (auto e = openai_conversation(o, messages->get_array(), d.id, r.chat)) return {std::move(e), r};
  return {std::nullopt, r};
}

}  // namespace keypool::mock::detail
