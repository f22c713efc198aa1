#pragma once
/// The body of an Anthropic Messages request
/// (https://docs.claude.com/en/api/messages): system and developer turns
/// become the top-level `system`; assistant tool calls are `tool_use`
/// blocks, tool turns `tool_result` blocks in a user turn; consecutive turns
/// of one role merge into one; JSON output is `output_config.format`
/// (https://docs.claude.com/en/docs/build-with-claude/structured-outputs).

#include <keypool/wire/detail/json_writer.hpp>
#include <keypool/wire/detail/validate.hpp>
#include <keypool/wire/request.hpp>

#include <string>
#include <string_view>

namespace keypool::wire::detail {

/// An image block: base64 bytes, or a URL source.
inline void write_anthropic_image(json_writer& w, const content_part& p) {
  w.begin_object().key("type").value("image").key("source").begin_object();
  if (p.kind == content_part::kind_t::image_url) {
    w.key("type").value("url").key("url").value(p.url);
  } else {
    w.key("type").value("base64").key("media_type").value(p.image.mime_type);
    w.key("data").begin_string().base64(p.image.bytes).end_string();
  }
  w.end_object().end_object();
}

/// A turn's text and image blocks, in order. An empty text block is a 400
/// ("text content blocks must be non-empty"): none is written.
inline void write_anthropic_blocks(json_writer& w, const message& m) {
  for (const auto& p : m.content) {
    if (p.kind != content_part::kind_t::text)
      write_anthropic_image(w, p);
    else if (!p.text.empty())
      w.begin_object().key("type").value("text").key("text").value(p.text).end_object();
  }
}

/// One turn's blocks inside the (possibly merged) turn of its role.
inline void write_anthropic_turn_blocks(json_writer& w, const message& m) {
  if (m.role == role::tool) {
    w.begin_object().key("type").value("tool_result").key("tool_use_id").value(m.tool_call_id);
    if (m.content.size() == 1 && m.content[0].kind == content_part::kind_t::text) {
      w.key("content").value(m.content[0].text);  // the documented common form
    } else {
      w.key("content").begin_array();
      write_anthropic_blocks(w, m);
      w.end_array();
    }
    w.end_object();
    return;
  }
  write_anthropic_blocks(w, m);
  for (const auto& c : m.tool_calls) {
    w.begin_object().key("type").value("tool_use").key("id").value(c.id).key("name").value(c.name);
    w.key("input").raw(c.arguments.empty() ? std::string_view("{}") : std::string_view(c.arguments));
    w.end_object();
  }
}

/// The short form's user turn: images before the text, as Anthropic advises.
inline void write_anthropic_prompt(json_writer& w, const chat_request& r) {
  w.begin_object().key("role").value("user").key("content").begin_array();
  for (const auto& img : r.images) {
    w.begin_object().key("type").value("image").key("source").begin_object();
    w.key("type").value("base64").key("media_type").value(img.mime_type);
    w.key("data").begin_string().base64(img.bytes).end_string().end_object().end_object();
  }
  if (!r.prompt.empty()) w.begin_object().key("type").value("text").key("text").value(r.prompt).end_object();
  w.end_array().end_object();
}

/// messages: user and tool turns are "user", assistant turns "assistant";
/// a run of turns with one wire role is one message.
inline void write_anthropic_messages(json_writer& w, const chat_request& r) {
  w.key("messages").begin_array();
  if (r.messages.empty()) write_anthropic_prompt(w, r);
  std::string_view open;  // the wire role of the message being written
  for (const auto& m : r.messages) {
    if (m.role == role::system || m.role == role::developer) continue;
    const std::string_view wire_role = m.role == role::assistant ? "assistant" : "user";
    if (wire_role != open) {
      if (!open.empty()) w.end_array().end_object();
      w.begin_object().key("role").value(wire_role).key("content").begin_array();
      open = wire_role;
    }
    write_anthropic_turn_blocks(w, m);
  }
  if (!open.empty()) w.end_array().end_object();
  w.end_array();
}

/// `system`: a string for one instruction (the common case), else a list of
/// text blocks: r.system first, then every system and developer turn.
inline void write_anthropic_system(json_writer& w, const chat_request& r) {
  std::size_t n = r.system.empty() ? 0 : 1;
  const std::string* only = r.system.empty() ? nullptr : &r.system;
  for (const auto& m : r.messages)
    if (m.role == role::system || m.role == role::developer)
      for (const auto& p : m.content)
        if (!p.text.empty()) ++n, only = &p.text;
  if (n == 0) return;
  w.key("system");
  if (n == 1) {
    w.value(*only);
    return;
  }
  w.begin_array();
  if (!r.system.empty()) w.begin_object().key("type").value("text").key("text").value(r.system).end_object();
  for (const auto& m : r.messages)
    if (m.role == role::system || m.role == role::developer)
      for (const auto& p : m.content)
        if (!p.text.empty()) w.begin_object().key("type").value("text").key("text").value(p.text).end_object();
  w.end_array();
}

/// tools, and tool_choice {"type": auto|any|tool|none}; parallel_tool_calls
/// false is tool_choice.disable_parallel_tool_use.
inline void write_anthropic_tools(json_writer& w, const chat_request& r) {
  if (!r.tools.empty()) {
    w.key("tools").begin_array();
    for (const auto& t : r.tools) {
      w.begin_object().key("name").value(t.name);
      if (!t.description.empty()) w.key("description").value(t.description);
      w.key("input_schema")
          .raw(t.parameters.empty() ? std::string_view(R"({"type":"object","properties":{}})")
                                    : std::string_view(t.parameters));
      if (t.strict) w.key("strict").value(*t.strict);
      w.end_object();
    }
    w.end_array();
  }
  const bool serial = r.parallel_tool_calls && !*r.parallel_tool_calls && !r.tools.empty();
  if (!r.tool_choice && !serial) return;
  const auto mode = r.tool_choice ? r.tool_choice->mode : tool_choice_mode::automatic;
  static constexpr std::string_view type_of[] = {"auto", "none", "any", "tool"};
  w.key("tool_choice").begin_object().key("type").value(type_of[static_cast<int>(mode)]);
  if (mode == tool_choice_mode::named) w.key("name").value(r.tool_choice->name);
  if (serial && mode != tool_choice_mode::none) w.key("disable_parallel_tool_use").value(true);
  w.end_object();
}

/// The whole body; check_request and anthropic_support passed.
inline std::string anthropic_body_of(const chat_request& r, bool stream) {
  std::string body;
  body.reserve(size_hint(r));
  json_writer w(body);
  w.begin_object().key("model").value(r.model).key("max_tokens").value(r.max_tokens);
  write_anthropic_messages(w, r);
  write_anthropic_system(w, r);
  if (r.temperature) w.key("temperature").value(*r.temperature);
  if (r.top_p) w.key("top_p").value(*r.top_p);
  if (!r.stop.empty()) {
    w.key("stop_sequences").begin_array();
    for (const auto& s : r.stop) w.value(s);
    w.end_array();
  }
  if (!r.user.empty()) w.key("metadata").begin_object().key("user_id").value(r.user).end_object();
  write_anthropic_tools(w, r);
  if (r.response_format && r.response_format->kind == response_format_kind::json_schema) {
    w.key("output_config").begin_object().key("format").begin_object().key("type").value("json_schema");
    w.key("schema").raw(r.response_format->schema).end_object().end_object();
  }
  if (stream) w.key("stream").value(true);
  w.end_object();
  return body;
}

/// What the Messages API cannot express: a seed, JSON mode without a
/// schema, images outside user and tool turns. `extra` is openai_chat's only
/// (request.hpp) and is not sent.
inline check_result anthropic_support(const chat_request& r, std::string_view format) {
  if (r.seed) return unsupported(format, "seed");
  if (r.response_format && r.response_format->kind == response_format_kind::json_object)
    return unsupported(format, "response_format json_object (use json_schema)");
  for (std::size_t i = 0; i < r.messages.size(); ++i) {
    const auto& m = r.messages[i];
    if (m.role == role::user || m.role == role::tool || text_only(m)) continue;
    return unsupported(format, "an image in a " + std::string(to_string(m.role)) + " turn (" + at_message(i) + ")");
  }
  return std::nullopt;
}

}  // namespace keypool::wire::detail
