#pragma once
/// The request-shape check of Anthropic's Messages format. Its messages name
/// the field's path ("messages.0.content.1.source.type: ..."), as the API's do.
/// The conversation as a whole (turn order, tool_use / tool_result pairs,
/// tools, structured output, streaming) is checked in
/// anthropic_conversation.hpp and anthropic_options.hpp.

#include <keypool/mock/detail/anthropic_options.hpp>
#include <keypool/mock/detail/request_shape.hpp>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace keypool::mock::detail {

inline std::optional<shape_error> anthropic_image(const boost::json::object& block, const std::string& at,
                                                  parsed_request& r) {
  const auto* src = block.if_contains("source");
  if (!src || !src->is_object()) return shape_error{at + ".source: Field required"};
  const auto& so = src->get_object();
  const auto* st = so.if_contains("type");
  if (st && st->is_string() && st->get_string() == "url") {
    ++r.images;
    return std::nullopt;
  }
  if (!st || !st->is_string() || st->get_string() != "base64")
    return shape_error{at + ".source.type: Input should be 'base64' or 'url'"};
  const auto* media = so.if_contains("media_type");
  if (!media || !media->is_string() || !image_mime(media->get_string()))
    return shape_error{at +
                       ".source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'"};
  const auto* data = so.if_contains("data");
  const auto n = data && data->is_string() ? base64_size(data->get_string()) : std::nullopt;
  if (!n) return shape_error{at + ".source.data: invalid base64 data"};
  r.image_bytes += *n;
  ++r.images;
  return std::nullopt;
}

/// A tool_use block (id, name, an input object) or a tool_result block
/// (tool_use_id, content a string or a list of blocks); which turn may hold
/// which is checked in anthropic_conversation.hpp.
inline std::optional<shape_error> anthropic_tool_block(const boost::json::object& block, const std::string& at) {
  if (block.at("type").get_string() == "tool_use") {
    const auto* id = block.if_contains("id");
    const auto* name = block.if_contains("name");
    const auto* input = block.if_contains("input");
    if (!id || !id->is_string()) return shape_error{at + ".id: Field required"};
    if (!name || !name->is_string()) return shape_error{at + ".name: Field required"};
    if (!input || !input->is_object()) return shape_error{at + ".input: Input should be a valid dictionary"};
    return std::nullopt;
  }
  const auto* id = block.if_contains("tool_use_id");
  if (!id || !id->is_string()) return shape_error{at + ".tool_use_id: Field required"};
  const auto* content = block.if_contains("content");
  if (content && !content->is_string() && !content->is_array())
    return shape_error{at + ".content: Input should be a valid list"};
  return std::nullopt;
}

inline std::optional<shape_error> anthropic_block(const boost::json::value& b, const std::string& at,
                                                  parsed_request& r) {
  if (!b.is_object()) return shape_error{at + ": Input should be a valid dictionary"};
  const auto& bo = b.get_object();
  const auto* type = bo.if_contains("type");
  if (!type || !type->is_string()) return shape_error{at + ".type: Field required"};
  if (type->get_string() == "text") {
    const auto* t = bo.if_contains("text");
    if (!t || !t->is_string()) return shape_error{at + ".text: Field required"};
    r.prompt += std::string(t->get_string());
    return std::nullopt;
  }
  if (type->get_string() == "image") return anthropic_image(bo, at, r);
  if (type->get_string() == "tool_use" || type->get_string() == "tool_result") return anthropic_tool_block(bo, at);
  return shape_error{at + ".type: unsupported content block type"};
}

inline std::optional<shape_error> anthropic_message(const boost::json::value& m, const std::string& at,
                                                    parsed_request& r) {
  if (!m.is_object()) return shape_error{at + ": Input should be a valid dictionary"};
  const auto* role = m.get_object().if_contains("role");
  if (!role || !role->is_string() || (role->get_string() != "user" && role->get_string() != "assistant"))
    return shape_error{at + ".role: Input should be 'user' or 'assistant'"};
  const auto* content = m.get_object().if_contains("content");
  if (!content) return shape_error{at + ".content: Field required"};
  if (content->is_string()) {
    r.prompt += std::string(content->get_string());
    return std::nullopt;
  }
  if (!content->is_array()) return shape_error{at + ".content: Input should be a valid list"};
  std::size_t j = 0;
  for (const auto& b : content->get_array())
    if (auto e = anthropic_block(b, at + ".content." + std::to_string(j++), r)) return e;
  return std::nullopt;
}

inline check_result anthropic_shape(std::string_view body) {
  parsed_request r;
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return {shape_error{"Invalid JSON in request body"}, r};
  const auto& o = v.get_object();
  const auto* model = o.if_contains("model");
  if (!model || !model->is_string() || model->get_string().empty()) return {shape_error{"model: Field required"}, r};
  r.model = std::string(model->get_string());
  const auto* mt = o.if_contains("max_tokens");
  if (!mt) return {shape_error{"max_tokens: Field required"}, r};
  if (!(mt->is_int64() && mt->get_int64() > 0) && !mt->is_uint64())
    return {shape_error{"max_tokens: Input should be a valid positive integer"}, r};
  const auto* messages = o.if_contains("messages");
  if (!messages || !messages->is_array() || messages->get_array().empty())
    return {shape_error{"messages: at least one message is required"}, r};
  std::size_t i = 0;
  for (const auto& m : messages->get_array())
    if (auto e = anthropic_message(m, "messages." + std::to_string(i++), r)) return {std::move(e), r};
  if (auto e = anthropic_conversation(o, messages->get_array(), r.chat)) return {std::move(e), r};
  return {std::nullopt, r};
}

}  // namespace keypool::mock::detail
