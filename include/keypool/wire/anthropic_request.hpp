#pragma once
/// Decodes an Anthropic Messages request body (what the Anthropic SDKs and
/// Claude Code send) into the provider-neutral chat request: system (a
/// string or text blocks), text and image blocks (base64 or url),
/// tool_use and tool_result blocks (a user turn's tool results become tool
/// turns before the rest of it), tools, tool_choice (with
/// disable_parallel_tool_use), stop_sequences, max_tokens, temperature,
/// top_p, metadata.user_id, output_config.format json_schema and stream.
/// thinking blocks and the thinking, top_k and service_tier parameters are
/// dropped (no other format takes them back). Errors name the field.

#include <keypool/wire/decoded_request.hpp>
#include <keypool/wire/detail/request_reader.hpp>
#include <keypool/wire/detail/tool_call_id.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::wire {
namespace detail {

using anthropic_check = std::optional<request_error>;

inline request_error anthropic_error_of(std::string field, std::string_view what) {
  return request_fail(std::move(field), what).error;
}

/// An image block's source: {type: base64, media_type, data} or {type: url, url}.
inline anthropic_check anthropic_image(const boost::json::object& b, const std::string& here,
                                       std::vector<content_part>& to) {
  const auto* src = b.if_contains("source");
  const auto* so = src ? src->if_object() : nullptr;
  const auto* type = so ? so->if_contains("type") : nullptr;
  const std::string field = at(here, "source");
  if (!type || !type->is_string()) return anthropic_error_of(field, "expected {\"type\": \"base64\" or \"url\", …}");
  if (*type == "base64") {
    const auto* mime = so->if_contains("media_type");
    const auto* data = so->if_contains("data");
    if (!mime || !mime->is_string() || !data || !data->is_string())
      return anthropic_error_of(field, "a base64 source needs media_type and data");
    auto part = base64_image(data->get_string(), mime->get_string(), at(field, "data"));
    if (!part) return std::move(part).error();
    to.push_back(std::move(*part));
    return std::nullopt;
  }
  const auto* url = so->if_contains("url");
  if (*type != "url" || !url || !url->is_string())
    return anthropic_error_of(field, "expected a base64 or url image source");
  auto part = image_from_url(url->get_string(), at(field, "url"));
  if (!part) return std::move(part).error();
  to.push_back(std::move(*part));
  return std::nullopt;
}

/// Text and image blocks (a message's, or a tool_result's content).
inline anthropic_check anthropic_plain_block(const boost::json::object& b, std::string_view type,
                                             const std::string& here, std::vector<content_part>& to) {
  if (type == "text") {
    const auto* t = b.if_contains("text");
    if (!t || !t->is_string()) return anthropic_error_of(at(here, "text"), "expected a string");
    to.push_back(content_part::of_text(std::string(t->get_string())));
    return std::nullopt;
  }
  if (type == "image") return anthropic_image(b, here, to);
  return anthropic_error_of(at(here, "type"), "the block type '" + std::string(type) + "' cannot be translated");
}

/// A content value: a string or an array of text/image blocks.
inline anthropic_check anthropic_plain_content(const boost::json::value* c, const std::string& here,
                                               std::vector<content_part>& to) {
  if (!c || c->is_null()) return std::nullopt;
  if (c->is_string()) {
    if (!c->get_string().empty()) to.push_back(content_part::of_text(std::string(c->get_string())));
    return std::nullopt;
  }
  if (!c->is_array()) return wrong_type(here, "a string or an array of blocks", *c).error;
  for (std::size_t j = 0; j < c->get_array().size(); ++j) {
    const auto& b = c->get_array()[j];
    const auto* type = b.is_object() ? b.get_object().if_contains("type") : nullptr;
    if (!type || !type->is_string()) return anthropic_error_of(at(at(here, j), "type"), "expected a block type");
    if (auto e = anthropic_plain_block(b.get_object(), type->get_string(), at(here, j), to)) return e;
  }
  return std::nullopt;
}

/// A tool_use block of an assistant turn.
inline anthropic_check anthropic_tool_use(const boost::json::object& b, const std::string& here, message& m) {
  std::optional<std::string> id, name;
  if (auto e = read_into(opt_string(b, "id", here), id)) return e;
  if (auto e = read_into(opt_string(b, "name", here), name)) return e;
  if (!id || !name) return anthropic_error_of(here, "a tool_use block needs an id and a name");
  const auto* input = b.if_contains("input");
  if (input && !input->is_object()) return wrong_type(at(here, "input"), "an object", *input).error;
  auto [plain, signature] = detail::split_signature(*id);
  m.tool_calls.push_back(tool_call{std::move(plain), std::move(*name), input ? json_text(*input) : std::string("{}"),
                                   std::move(signature)});
  return std::nullopt;
}

/// A tool_result block of a user turn: a tool turn of its own.
inline anthropic_check anthropic_tool_result(const boost::json::object& b, const std::string& here,
                                             std::vector<message>& out) {
  message t;
  t.role = role::tool;
  std::optional<std::string> id;
  if (auto e = read_into(opt_string(b, "tool_use_id", here), id)) return e;
  if (!id) return anthropic_error_of(at(here, "tool_use_id"), "a tool_result block needs the tool_use id");
  t.tool_call_id = detail::split_signature(*id).id;
  if (auto e = anthropic_plain_content(b.if_contains("content"), at(here, "content"), t.content)) return e;
  if (const auto* err = b.if_contains("is_error"); err && err->is_bool() && err->get_bool())
    t.content.insert(t.content.begin(), content_part::of_text("Error: "));
  out.push_back(std::move(t));
  return std::nullopt;
}

/// One message: its blocks, with tool results split out before the rest.
inline anthropic_check anthropic_message(const boost::json::value& v, std::size_t i, chat_request& r) {
  const std::string here = at("messages", i);
  const auto* mo = v.if_object();
  const auto* rv = mo ? mo->if_contains("role") : nullptr;
  if (!rv || !rv->is_string() || (*rv != "user" && *rv != "assistant"))
    return anthropic_error_of(at(here, "role"), "expected user or assistant");
  message m;
  m.role = *rv == "user" ? role::user : role::assistant;
  std::vector<message> results;
  const auto* c = mo->if_contains("content");
  if (!c || !(c->is_string() || c->is_array()))
    return anthropic_error_of(at(here, "content"), "expected a string or an array of blocks");
  if (c->is_string()) {
    if (auto e = anthropic_plain_content(c, at(here, "content"), m.content)) return e;
  } else {
    for (std::size_t j = 0; j < c->get_array().size(); ++j) {
      const std::string bh = at(at(here, "content"), j);
      const auto* bo = c->get_array()[j].if_object();
      const auto* type = bo ? bo->if_contains("type") : nullptr;
      if (!type || !type->is_string()) return anthropic_error_of(at(bh, "type"), "expected a block type");
      const std::string_view ty = type->get_string();
      anthropic_check e;
      if (ty == "tool_use" && m.role == role::assistant)
        e = anthropic_tool_use(*bo, bh, m);
      else if (ty == "tool_result" && m.role == role::user)
        e = anthropic_tool_result(*bo, bh, results);
      else if (ty == "thinking" || ty == "redacted_thinking")
        continue;
      else
        e = anthropic_plain_block(*bo, ty, bh, m.content);
      if (e) return e;
    }
  }
  for (auto& t : results) r.messages.push_back(std::move(t));
  if (!m.content.empty() || !m.tool_calls.empty() || results.empty()) r.messages.push_back(std::move(m));
  return std::nullopt;
}

/// system: a string or an array of text blocks.
inline anthropic_check anthropic_system(const boost::json::object& o, chat_request& r) {
  std::vector<content_part> parts;
  if (auto e = anthropic_plain_content(o.if_contains("system"), "system", parts)) return e;
  for (const auto& p : parts) {
    if (p.kind != content_part::kind_t::text)
      return anthropic_error_of("system", "only text blocks can be a system prompt");
    r.system += (r.system.empty() ? "" : "\n\n") + p.text;
  }
  return std::nullopt;
}

/// tools: [{name, description, input_schema, strict}]; server tools are refused.
inline anthropic_check anthropic_tools(const boost::json::object& o, chat_request& r) {
  const auto* v = o.if_contains("tools");
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_array()) return wrong_type("tools", "an array", *v).error;
  for (std::size_t i = 0; i < v->get_array().size(); ++i) {
    const std::string here = at("tools", i);
    const auto* to = v->get_array()[i].if_object();
    if (!to) return wrong_type(here, "an object", v->get_array()[i]).error;
    if (const auto* ty = to->if_contains("type"); ty && *ty != "custom")
      return anthropic_error_of(at(here, "type"), "a server tool cannot be translated");
    tool t;
    std::optional<std::string> name, desc;
    if (auto e = read_into(opt_string(*to, "name", here), name)) return e;
    if (!name) return anthropic_error_of(at(here, "name"), "a tool needs a name");
    if (auto e = read_into(opt_string(*to, "description", here), desc)) return e;
    if (auto e = read_into(opt_bool(*to, "strict", here), t.strict)) return e;
    if (const auto* s = to->if_contains("input_schema"); s && !s->is_null()) {
      if (!s->is_object()) return wrong_type(at(here, "input_schema"), "an object", *s).error;
      t.parameters = json_text(*s);
    }
    t.name = std::move(*name);
    t.description = desc.value_or("");
    r.tools.push_back(std::move(t));
  }
  return std::nullopt;
}

/// tool_choice: {type: auto | any | tool | none, name, disable_parallel_tool_use}.
inline anthropic_check anthropic_tool_choice(const boost::json::object& o, chat_request& r) {
  const auto* v = o.if_contains("tool_choice");
  if (!v || v->is_null()) return std::nullopt;
  const auto* co = v->if_object();
  const auto* type = co ? co->if_contains("type") : nullptr;
  if (!type || !type->is_string()) return anthropic_error_of("tool_choice.type", "expected auto, any, tool or none");
  if (*type == "auto")
    r.tool_choice = tool_choice{};
  else if (*type == "any")
    r.tool_choice = tool_choice{tool_choice_mode::required, {}};
  else if (*type == "none")
    r.tool_choice = tool_choice{tool_choice_mode::none, {}};
  else if (*type == "tool") {
    const auto* name = co->if_contains("name");
    if (!name || !name->is_string()) return anthropic_error_of("tool_choice.name", "expected the tool's name");
    r.tool_choice = tool_choice::of(std::string(name->get_string()));
  } else {
    return anthropic_error_of("tool_choice.type", "expected auto, any, tool or none");
  }
  if (const auto* d = co->if_contains("disable_parallel_tool_use"); d && d->is_bool() && d->get_bool())
    r.parallel_tool_calls = false;
  return std::nullopt;
}

/// output_config.format (or the beta output_format): {type: json_schema, schema}.
inline anthropic_check anthropic_output_format(const boost::json::object& o, chat_request& r) {
  const boost::json::value* f = nullptr;
  std::string field = "output_format";
  if (const auto* oc = o.if_contains("output_config"); oc && oc->is_object()) {
    f = oc->get_object().if_contains("format");
    field = "output_config.format";
  }
  if (!f) f = o.if_contains("output_format");
  if (!f || f->is_null()) return std::nullopt;
  const auto* fo = f->if_object();
  const auto* schema = fo ? fo->if_contains("schema") : nullptr;
  if (!fo || fo->if_contains("type") == nullptr || fo->at("type") != "json_schema" || !schema || !schema->is_object())
    return anthropic_error_of(field, "expected {\"type\": \"json_schema\", \"schema\": {…}}");
  r.response_format = response_format::json_schema("output", json_text(*schema));
  return std::nullopt;
}

inline anthropic_check anthropic_scalars(const boost::json::object& o, decoded_request& d) {
  chat_request& r = d.chat;
  std::optional<std::string> model;
  std::optional<std::uint32_t> max_tokens;
  std::optional<bool> stream;
  if (auto e = read_into(opt_string(o, "model", ""), model)) return e;
  if (auto e = read_into(opt_count(o, "max_tokens", ""), max_tokens)) return e;
  if (auto e = read_into(opt_number(o, "temperature", ""), r.temperature)) return e;
  if (auto e = read_into(opt_number(o, "top_p", ""), r.top_p)) return e;
  if (auto e = read_into(opt_bool(o, "stream", ""), stream)) return e;
  if (const auto* s = o.if_contains("stop_sequences"); s && !s->is_null()) {
    if (!s->is_array()) return wrong_type("stop_sequences", "an array of strings", *s).error;
    for (std::size_t i = 0; i < s->get_array().size(); ++i) {
      const auto& x = s->get_array()[i];
      if (!x.is_string()) return wrong_type(at("stop_sequences", i), "a string", x).error;
      r.stop.emplace_back(x.get_string());
    }
  }
  if (const auto* md = o.if_contains("metadata"); md && md->is_object())
    if (const auto* u = md->get_object().if_contains("user_id"); u && u->is_string()) r.user = u->get_string();
  r.model = model.value_or("");
  if (max_tokens) r.max_tokens = *max_tokens;
  d.stream = stream.value_or(false);
  return std::nullopt;
}

inline anthropic_check anthropic_messages_of(const boost::json::object& o, chat_request& r) {
  const auto* v = o.if_contains("messages");
  if (!v || !v->is_array() || v->get_array().empty())
    return anthropic_error_of("messages", "expected a non-empty array");
  for (std::size_t i = 0; i < v->get_array().size(); ++i)
    if (auto e = anthropic_message(v->get_array()[i], i, r)) return e;
  return std::nullopt;
}

}  // namespace detail

/// Decodes an Anthropic Messages request body. Never throws.
inline request_decode_result decode_anthropic_request(std::string_view body) noexcept {
  try {
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec);
    if (ec) return detail::request_fail("", "the body is not JSON: " + ec.message());
    if (!v.is_object()) return detail::request_fail("", "the body is not a JSON object");
    const auto& o = v.get_object();
    decoded_request d;
    for (auto step : {detail::anthropic_system, detail::anthropic_messages_of, detail::anthropic_tools,
                      detail::anthropic_tool_choice, detail::anthropic_output_format})
      if (auto e = step(o, d.chat)) return ::keypool::unexpected<request_error>{std::move(*e)};
    if (auto e = detail::anthropic_scalars(o, d)) return ::keypool::unexpected<request_error>{std::move(*e)};
    return d;
  } catch (const std::exception& e) {
    return detail::request_fail("", e.what());
  }
}

}  // namespace keypool::wire
