#pragma once
/// The body of an OpenAI Chat Completions request
/// (https://platform.openai.com/docs/api-reference/chat/create): messages
/// with string or part-list content, assistant tool_calls, tool turns,
/// tools / tool_choice / parallel_tool_calls, response_format, sampling
/// fields, and `extra` spliced in last. openai_chat::encode calls it.

#include <keypool/wire/detail/json_check.hpp>
#include <keypool/wire/detail/json_writer.hpp>
#include <keypool/wire/detail/validate.hpp>
#include <keypool/wire/openai_dialect.hpp>
#include <keypool/wire/request.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::wire::detail {

/// Everything openai_chat's options say about the body.
struct openai_body {
  openai_image_form images = openai_image_form::data_url_object;
  std::string_view max_tokens_field = "max_tokens";
  bool stream = false;
  bool stream_include_usage = true;
  openai_dialect dialect{};
};

/// "openai_chat" or "openai_chat (mistral)": who an error names.
inline std::string openai_label(std::string_view format, const openai_dialect& d) {
  return d.provider.empty() ? std::string(format) : std::string(format) + " (" + std::string(d.provider) + ")";
}

/// A tool-call id as Mistral accepts it: 9 characters [a-zA-Z0-9]. An id
/// already of that form stays; any other maps to a stable hash of itself.
inline void write_nine_char_id(json_writer& w, std::string_view id) {
  bool ok = id.size() == 9;
  for (char c : id) ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'));
  if (ok) {
    w.value(id);
    return;
  }
  std::uint64_t h = 14695981039346656037ull;  // FNV-1a
  for (unsigned char c : id) h = (h ^ c) * 1099511628211ull;
  static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  char out[9];
  for (char& c : out) c = digits[h % 62], h /= 62;
  w.value(std::string_view(out, 9));
}

inline void write_call_id(json_writer& w, std::string_view id, const openai_body& b) {
  if (b.dialect.nine_char_tool_ids)
    write_nine_char_id(w, id);
  else
    w.value(id);
}

/// One image part; `url` is a data: URL of `img` unless `link` is set.
inline void write_openai_image(json_writer& w, const image* img, std::string_view link, openai_image_form form) {
  w.begin_object().key("type").value("image_url").key("image_url");
  const bool object = form != openai_image_form::data_url_string;
  if (object) w.begin_object().key("url");
  w.begin_string();
  if (!link.empty()) {
    w.text(link);
  } else {
    if (form != openai_image_form::raw_base64_object) w.text("data:").text(img->mime_type).text(";base64,");
    w.base64(img->bytes);
  }
  w.end_string();
  if (object) w.end_object();
  w.end_object();
}

/// The short form's user turn: a string, <img> tags, or text + image parts.
inline void write_openai_prompt(json_writer& w, const chat_request& r, const openai_body& b) {
  w.begin_object().key("role").value("user").key("content");
  if (r.images.empty()) {
    w.value(r.prompt);
  } else if (b.images == openai_image_form::inline_img_tag) {
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
    for (const auto& img : r.images) write_openai_image(w, &img, {}, b.images);
    w.end_array();
  }
  w.end_object();
}

/// A turn's content: one string for a single text part (or text joined for
/// tool turns, which take text only; and <img> tags for inline_img_tag),
/// otherwise a list of parts.
inline void write_openai_content(json_writer& w, const message& m, const openai_body& b) {
  using kind = content_part::kind_t;
  const bool one_text = m.content.size() == 1 && m.content[0].kind == kind::text;
  if (one_text || m.role == role::tool || b.images == openai_image_form::inline_img_tag) {
    w.begin_string();
    std::string_view sep;
    for (const auto& p : m.content) {
      if (p.kind == kind::text) w.text(sep).text(p.text);
      if (p.kind == kind::image)
        w.text(sep)
            .text("<img src=\"data:")
            .text(p.image.mime_type)
            .text(";base64,")
            .base64(p.image.bytes)
            .text("\" />");
      sep = m.role == role::tool ? "" : " ";
    }
    w.end_string();
    return;
  }
  w.begin_array();
  for (const auto& p : m.content) {
    if (p.kind == kind::text)
      w.begin_object().key("type").value("text").key("text").value(p.text).end_object();
    else
      write_openai_image(w, p.kind == kind::image ? &p.image : nullptr, p.url, b.images);
  }
  w.end_array();
}

inline void write_openai_message(json_writer& w, const message& m, const openai_body& b) {
  std::string_view role_name = to_string(m.role);
  if (m.role == role::developer && !b.dialect.developer_role) role_name = "system";
  w.begin_object().key("role").value(role_name);
  if (m.role == role::tool) {
    w.key("tool_call_id");
    write_call_id(w, m.tool_call_id, b);
  }
  w.key("content");
  if (m.content.empty() && m.role == role::assistant)
    w.null();  // an assistant turn with only tool calls
  else
    write_openai_content(w, m, b);
  if (!m.tool_calls.empty()) {
    w.key("tool_calls").begin_array();
    for (const auto& c : m.tool_calls) {
      w.begin_object().key("id");
      write_call_id(w, c.id, b);
      w.key("type").value("function").key("function").begin_object().key("name").value(c.name);
      w.key("arguments").value(c.arguments.empty() ? std::string_view("{}") : std::string_view(c.arguments));
      w.end_object().end_object();
    }
    w.end_array();
  }
  w.end_object();
}

inline void write_openai_tools(json_writer& w, const chat_request& r, const openai_body& b) {
  if (!r.tools.empty()) {
    w.key("tools").begin_array();
    for (const auto& t : r.tools) {
      w.begin_object().key("type").value("function").key("function").begin_object().key("name").value(t.name);
      if (!t.description.empty()) w.key("description").value(t.description);
      if (!t.parameters.empty()) w.key("parameters").raw(t.parameters);
      if (t.strict) w.key("strict").value(*t.strict);
      w.end_object().end_object();
    }
    w.end_array();
  }
  if (const auto& c = r.tool_choice) {
    w.key("tool_choice");
    switch (c->mode) {
      case tool_choice_mode::automatic: w.value("auto"); break;
      case tool_choice_mode::none: w.value("none"); break;
      case tool_choice_mode::required: w.value("required"); break;
      case tool_choice_mode::named:
        w.begin_object().key("type").value("function").key("function").begin_object();
        w.key("name").value(c->name).end_object().end_object();
        break;
    }
  }
  if (r.parallel_tool_calls && b.dialect.parallel_tool_calls)
    w.key("parallel_tool_calls").value(*r.parallel_tool_calls);
}

inline void write_openai_format(json_writer& w, const response_format& f) {
  w.key("response_format").begin_object();
  switch (f.kind) {
    case response_format_kind::text: w.key("type").value("text"); break;
    case response_format_kind::json_object: w.key("type").value("json_object"); break;
    case response_format_kind::json_schema:
      w.key("type").value("json_schema").key("json_schema").begin_object().key("name").value(f.name);
      w.key("schema").raw(f.schema);
      if (f.strict) w.key("strict").value(*f.strict);
      w.end_object();
      break;
  }
  w.end_object();
}

/// The whole body; check_request and openai_support passed.
inline std::string openai_body_of(const chat_request& r, const openai_body& b) {
  std::string body;
  body.reserve(size_hint(r));
  json_writer w(body);
  w.begin_object().key("model").value(r.model).key("messages").begin_array();
  if (!r.system.empty()) w.begin_object().key("role").value("system").key("content").value(r.system).end_object();
  if (r.messages.empty()) write_openai_prompt(w, r, b);
  for (const auto& m : r.messages) write_openai_message(w, m, b);
  w.end_array();
  w.key(b.max_tokens_field).value(r.max_tokens);
  if (r.temperature) w.key("temperature").value(*r.temperature);
  if (r.top_p) w.key("top_p").value(*r.top_p);
  if (!r.stop.empty()) {
    w.key("stop").begin_array();
    for (const auto& s : r.stop) w.value(s);
    w.end_array();
  }
  if (r.seed) w.key(b.dialect.seed_field).value(*r.seed);
  if (!r.user.empty()) w.key(b.dialect.user_field).value(r.user);
  write_openai_tools(w, r, b);
  if (r.response_format) write_openai_format(w, *r.response_format);
  if (b.stream) {
    w.key("stream").value(true);
    if (b.stream_include_usage) w.key("stream_options").begin_object().key("include_usage").value(true).end_object();
  }
  if (!r.extra.empty()) w.raw_members(r.extra);
  w.end_object();
  return body;
}

/// An `extra` member that a modelled field writes (or may write) is the
/// caller's mistake: the body would carry the name twice.
inline check_result openai_extra_collision(const chat_request& r, const openai_body& b, std::string_view label) {
  std::vector<std::string> keys;
  (void)json_kind_of(r.extra, &keys);
  const std::string_view taken[] = {"model",
                                    "messages",
                                    "max_tokens",
                                    "max_completion_tokens",
                                    b.max_tokens_field,
                                    "temperature",
                                    "top_p",
                                    "stop",
                                    "seed",
                                    b.dialect.seed_field,
                                    "user",
                                    b.dialect.user_field,
                                    "tools",
                                    "tool_choice",
                                    "parallel_tool_calls",
                                    "response_format",
                                    "stream",
                                    "stream_options"};
  for (const auto& k : keys)
    for (auto t : taken)
      if (!t.empty() && k == t)
        return encode_fail(label, encode_errc::invalid_json,
                           "extra." + clip(k, 40) + " is a field keypool writes itself (set it on chat_request)");
  return std::nullopt;
}

/// What this provider's dialect (and the image form) cannot express.
inline check_result openai_support(const chat_request& r, const openai_body& b, std::string_view format) {
  const auto& d = b.dialect;
  const auto label = [&] { return openai_label(format, d); };  // built only for an error
  for (std::size_t i = 0; i < r.messages.size(); ++i)
    for (std::size_t j = 0; j < r.messages[i].content.size(); ++j) {
      const auto k = r.messages[i].content[j].kind;
      if (k == content_part::kind_t::text) continue;
      if (r.messages[i].role != role::user)
        return unsupported(label(), "an image in a non-user turn (" + at_part(i, j) + ")");
      if (k == content_part::kind_t::image_url && b.images == openai_image_form::inline_img_tag)
        return unsupported(label(), "an image URL with the <img> tag image form (" + at_part(i, j) + ")");
    }
  if (r.seed && d.seed_field.empty()) return unsupported(label(), "seed");
  if (!r.user.empty() && d.user_field.empty()) return unsupported(label(), "user");
  if (r.response_format && r.response_format->kind == response_format_kind::json_schema && !d.json_schema)
    return unsupported(label(), "response_format json_schema");
  if (r.tool_choice && r.tool_choice->mode != tool_choice_mode::automatic && !d.tool_choice_beyond_auto)
    return unsupported(label(), "tool_choice other than auto");
  if (r.parallel_tool_calls && !d.parallel_tool_calls) return unsupported(label(), "parallel_tool_calls");
  if (!r.extra.empty()) return openai_extra_collision(r, b, label());
  return std::nullopt;
}

}  // namespace keypool::wire::detail
