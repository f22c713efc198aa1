#pragma once
/// The checks every encoder runs before writing a byte: a request that cannot
/// be sent as asked fails here with an error naming the place
/// ("messages[3].tool_call_id"), before a key is spent on it.

#include <keypool/wire/base64.hpp>
#include <keypool/wire/detail/json.hpp>
#include <keypool/wire/detail/json_check.hpp>
#include <keypool/wire/request.hpp>

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace keypool::wire::detail {

using check_result = std::optional<encode_error>;

inline encode_error encode_fail(std::string_view format, encode_errc code, std::string msg) {
  return {code, std::string(format) + ": " + std::move(msg)};
}

/// "messages[3]" / "messages[3].content[1]": where an error points.
inline std::string at_message(std::size_t i) { return "messages[" + std::to_string(i) + "]"; }

/// About the size of `r` encoded (what an encoder reserves): its texts and
/// base64 images plus room for the JSON around them and for escapes.
inline std::size_t size_hint(const chat_request& r) noexcept {
  std::size_t n = 512 + r.model.size() + r.system.size() + r.prompt.size() + r.prompt.size() / 8 + r.extra.size();
  for (const auto& img : r.images) n += 64 + img.mime_type.size() + base64::encoded_size(img.bytes.size());
  for (const auto& m : r.messages) {
    n += 48 + m.tool_call_id.size();
    for (const auto& p : m.content)
      n += 48 + p.text.size() + p.text.size() / 8 + p.url.size() + p.image.mime_type.size() +
           base64::encoded_size(p.image.bytes.size());
    for (const auto& c : m.tool_calls) n += 96 + c.id.size() + c.name.size() + c.arguments.size() * 9 / 8;
  }
  for (const auto& t : r.tools) n += 96 + t.name.size() + t.description.size() + t.parameters.size();
  if (r.response_format) n += 96 + r.response_format->schema.size();
  for (const auto& s : r.stop) n += 8 + s.size();
  return n;
}

/// `text` is valid UTF-8, else an invalid_text error naming `what`.
inline check_result check_utf8(std::string_view format, std::string_view what, std::string_view text) {
  if (const auto at = invalid_utf8_at(text); at != std::string_view::npos)
    return encode_fail(format, encode_errc::invalid_text,
                       "the " + std::string(what) + " is not valid UTF-8 (byte " + std::to_string(at) + ")");
  return std::nullopt;
}

/// check_utf8 with the place named by `where()`, built only on failure (the
/// checks run on every encode: valid requests build no strings).
template <class Where>
check_result check_utf8_at(std::string_view format, Where&& where, std::string_view text) {
  if (invalid_utf8_at(text) == std::string_view::npos) return std::nullopt;
  return check_utf8(format, where(), text);
}

/// `text` is a JSON object, else an invalid_json error naming `what`.
inline check_result check_object(std::string_view format, std::string_view what, std::string_view text) {
  const auto kind = json_kind_of(text);
  if (kind == json_kind::object) return std::nullopt;
  return encode_fail(format, encode_errc::invalid_json,
                     std::string(what) + (kind == json_kind::invalid ? " is not valid JSON" : " is not a JSON object"));
}

/// check_object with the place built only on failure.
template <class Where>
check_result check_object_at(std::string_view format, Where&& where, std::string_view text) {
  if (json_kind_of(text) == json_kind::object) return std::nullopt;
  return check_object(format, where(), text);
}

/// The secret, the model and the short form (prompt, images, system).
inline check_result check_basics(const chat_request& r, std::string_view secret, std::string_view format) {
  if (r.model.empty()) return encode_fail(format, encode_errc::empty_model, "no model given");
  if (secret.empty()) return encode_fail(format, encode_errc::empty_secret, "empty API key");
  // Defence in depth against header injection: pools reject such keys at
  // load, but an encoder may be called with any string.
  for (char c : secret)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f)
      return encode_fail(format, encode_errc::invalid_secret, "API key contains whitespace or a control character");
  if (r.messages.empty() && r.prompt.empty() && r.images.empty())
    return encode_fail(format, encode_errc::empty_request, "nothing to send: no messages, no prompt and no image");
  if (!r.messages.empty() && (!r.prompt.empty() || !r.images.empty()))
    return encode_fail(format, encode_errc::invalid_message,
                       "both messages and prompt/images given: add the prompt to messages as a user turn");
  for (auto [what, text] : {std::pair<const char*, std::string_view>{"prompt", r.prompt},
                            {"system prompt", r.system},
                            {"model name", r.model},
                            {"user", r.user}})
    if (auto e = check_utf8(format, what, text)) return e;
  for (std::size_t i = 0; i < r.images.size(); ++i)
    if (!valid_image_mime(r.images[i].mime_type))
      return encode_fail(format, encode_errc::invalid_mime_type,
                         "image " + std::to_string(i + 1) + " has MIME type '" + clip(r.images[i].mime_type, 40) +
                             "' (expected image/<type>)");
  for (std::size_t i = 0; i < r.stop.size(); ++i)
    if (auto e = check_utf8_at(
            format, [i] { return "stop[" + std::to_string(i) + "]"; }, r.stop[i]))
      return e;
  return std::nullopt;
}

/// "messages[i].content[j]".
inline std::string at_part(std::size_t i, std::size_t j) {
  return at_message(i) + ".content[" + std::to_string(j) + "]";
}

/// One content part, messages[i].content[j].
inline check_result check_part(std::string_view format, const content_part& p, std::size_t i, std::size_t j) {
  using kind = content_part::kind_t;
  if (p.kind == kind::text)
    return check_utf8_at(
        format, [&] { return at_part(i, j) + ".text"; }, p.text);
  if (p.kind == kind::image) {
    if (valid_image_mime(p.image.mime_type)) return std::nullopt;
    return encode_fail(format, encode_errc::invalid_mime_type,
                       at_part(i, j) + " has MIME type '" + clip(p.image.mime_type, 40) + "' (expected image/<type>)");
  }
  if (!p.mime_type.empty() && !valid_image_mime(p.mime_type))
    return encode_fail(format, encode_errc::invalid_mime_type, at_part(i, j) + ".mime_type is not image/<type>");
  if (p.url.substr(0, 8) != "https://" || p.url.size() == 8)
    return encode_fail(
        format, encode_errc::invalid_url,
        at_part(i, j) + ".url '" + clip(p.url, 60) + "' is not an https:// URL (keypool downloads nothing)");
  for (char c : p.url)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '"' || c == '<' || c == '>')
      return encode_fail(format, encode_errc::invalid_url,
                         at_part(i, j) + ".url contains a space, quote or control character");
  return check_utf8_at(
      format, [&] { return at_part(i, j) + ".url"; }, p.url);
}

/// messages[i]'s tool calls: ids and names present, arguments a JSON object.
inline check_result check_calls(std::string_view format, const message& m, std::size_t i) {
  for (std::size_t k = 0; k < m.tool_calls.size(); ++k) {
    const auto& c = m.tool_calls[k];
    const auto at = [&] { return at_message(i) + ".tool_calls[" + std::to_string(k) + "]"; };
    if (c.id.empty()) return encode_fail(format, encode_errc::invalid_message, at() + ".id is empty");
    if (c.name.empty()) return encode_fail(format, encode_errc::invalid_message, at() + ".name is empty");
    if (auto e = check_utf8_at(
            format, [&] { return at() + ".id"; }, c.id))
      return e;
    if (auto e = check_utf8_at(
            format, [&] { return at() + ".name"; }, c.name))
      return e;
    if (!c.arguments.empty())
      if (auto e = check_object_at(
              format, [&] { return at() + ".arguments"; }, c.arguments))
        return e;
  }
  return std::nullopt;
}

/// Whether an assistant turn before messages[upto] made a call with `id`.
inline const tool_call* find_call(const chat_request& r, std::size_t upto, std::string_view id) noexcept {
  for (std::size_t i = upto; i-- > 0;)
    if (r.messages[i].role == role::assistant)
      for (const auto& c : r.messages[i].tool_calls)
        if (c.id == id) return &c;
  return nullptr;
}

/// One turn: content, tool calls only on assistant turns, and a tool turn
/// answering a call made earlier.
inline check_result check_message(const chat_request& r, std::size_t i, std::string_view format) {
  const message& m = r.messages[i];
  const auto fail = [&](std::string what) {
    return encode_fail(format, encode_errc::invalid_message, at_message(i) + what);
  };
  if (m.role > role::tool) return fail(".role is not a role");
  for (std::size_t j = 0; j < m.content.size(); ++j)
    if (auto e = check_part(format, m.content[j], i, j)) return e;
  if (!m.tool_calls.empty() && m.role != role::assistant)
    return fail(".tool_calls on a " + std::string(to_string(m.role)) + " turn (only assistant turns make calls)");
  if (auto e = check_calls(format, m, i)) return e;
  if (m.role == role::tool) {
    if (m.tool_call_id.empty()) return fail(".tool_call_id is empty");
    if (!find_call(r, i, m.tool_call_id))
      return fail(".tool_call_id '" + clip(m.tool_call_id, 40) + "' answers no tool call of an earlier assistant turn");
  } else if (!m.tool_call_id.empty()) {
    return fail(".tool_call_id on a non-tool turn");
  }
  if (m.content.empty() && m.tool_calls.empty() && m.role != role::tool) return fail(" has no content");
  return check_utf8_at(
      format, [&] { return at_message(i) + ".name"; }, m.name);
}

/// Tools, tool_choice, response_format, extra and the sampling numbers.
inline check_result check_options(const chat_request& r, std::string_view format) {
  for (std::size_t i = 0; i < r.tools.size(); ++i) {
    const auto& t = r.tools[i];
    const auto at = [i] { return "tools[" + std::to_string(i) + "]"; };
    if (t.name.empty()) return encode_fail(format, encode_errc::invalid_tool, at() + ".name is empty");
    if (auto e = check_utf8_at(
            format, [&] { return at() + ".name"; }, t.name))
      return e;
    if (auto e = check_utf8_at(
            format, [&] { return at() + ".description"; }, t.description))
      return e;
    if (!t.parameters.empty())
      if (auto e = check_object_at(
              format, [&] { return at() + ".parameters"; }, t.parameters))
        return e;
  }
  if (r.tool_choice && r.tool_choice->mode != tool_choice_mode::none &&
      r.tool_choice->mode != tool_choice_mode::automatic) {
    if (r.tools.empty())
      return encode_fail(format, encode_errc::invalid_tool, "tool_choice asks for a call but no tools are given");
    if (r.tool_choice->mode == tool_choice_mode::named) {
      bool found = false;
      for (const auto& t : r.tools) found = found || t.name == r.tool_choice->name;
      if (!found)
        return encode_fail(format, encode_errc::invalid_tool,
                           "tool_choice names '" + clip(r.tool_choice->name, 40) + "', which is not in tools");
    }
  }
  if (const auto& f = r.response_format; f && f->kind == response_format_kind::json_schema) {
    if (f->name.empty()) return encode_fail(format, encode_errc::invalid_json, "response_format.name is empty");
    if (auto e = check_utf8(format, "response_format.name", f->name)) return e;
    if (auto e = check_object(format, "response_format.schema", f->schema)) return e;
  }
  if (!r.extra.empty())
    if (auto e = check_object(format, "extra", r.extra)) return e;
  if ((r.temperature && !std::isfinite(*r.temperature)) || (r.top_p && !std::isfinite(*r.top_p)))
    return encode_fail(format, encode_errc::invalid_message, "temperature or top_p is not a finite number");
  return std::nullopt;
}

/// Checks what every codec needs; the secret is checked for presence only.
inline check_result check_request(const chat_request& r, std::string_view secret, std::string_view format) {
  if (auto e = check_basics(r, secret, format)) return e;
  for (std::size_t i = 0; i < r.messages.size(); ++i)
    if (auto e = check_message(r, i, format)) return e;
  return check_options(r, format);
}

/// The error for a feature `format` (or the provider behind it) cannot express.
inline encode_error unsupported(std::string_view format, std::string_view feature) {
  return encode_fail(format, encode_errc::unsupported, std::string(feature) + " is not supported by this provider");
}

/// Whether a turn is text only (no images).
inline bool text_only(const message& m) noexcept {
  for (const auto& p : m.content)
    if (p.kind != content_part::kind_t::text) return false;
  return true;
}

}  // namespace keypool::wire::detail
