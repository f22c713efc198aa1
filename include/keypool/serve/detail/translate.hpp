#pragma once
/// The seam where a request in one API's format reaches a provider that
/// speaks another (OpenAI in, Anthropic or Gemini out; Anthropic in, an
/// OpenAI-compatible provider out). Today it covers the simple case through
/// the existing codecs: system and user text messages, no tools, no images,
/// not streamed. Anything else is refused here with a reason that names the
/// provider, and the full translation (conversations, tool calls, streams)
/// plugs in by replacing these two functions.

#include <keypool/core/result.hpp>
#include <keypool/serve/detail/errors.hpp>
#include <keypool/serve/detail/json_scan.hpp>
#include <keypool/wire/request.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace keypool::serve::detail {

/// Text of a message's content: a string, or an array of text parts.
inline std::optional<std::string> content_text(const boost::json::value& c) {
  if (const auto* s = c.if_string()) return std::string(s->data(), s->size());
  const auto* a = c.if_array();
  if (!a) return std::nullopt;
  std::string out;
  for (const auto& part : *a) {
    const auto* o = part.if_object();
    const auto* type = o ? o->if_contains("type") : nullptr;
    const auto* text = o ? o->if_contains("text") : nullptr;
    if (!type || !type->is_string() || type->as_string() != "text" || !text || !text->is_string()) return std::nullopt;
    out += std::string_view(text->as_string());
  }
  return out;
}

/// Appends `t` to `to`, a blank line between parts.
inline void append_part(std::string& to, const std::string& t) {
  if (!to.empty() && !t.empty()) to += "\n\n";
  to += t;
}

/// The request's messages as a prompt and a system text, or why not.
inline result<wire::chat_request, std::string> messages_to_chat(const boost::json::object& o) {
  using fail = ::keypool::unexpected<std::string>;
  wire::chat_request r;
  if (const auto* s = o.if_contains("system")) {  // Anthropic's top-level system
    auto t = content_text(*s);
    if (!t) return fail{"a system prompt that is not text"};
    r.system = std::move(*t);
  }
  const auto* msgs = o.if_contains("messages");
  if (!msgs || !msgs->is_array() || msgs->as_array().empty()) return fail{"a request without messages"};
  for (const auto& m : msgs->as_array()) {
    const auto* mo = m.if_object();
    const auto* role = mo ? mo->if_contains("role") : nullptr;
    const auto* content = mo ? mo->if_contains("content") : nullptr;
    if (!role || !role->is_string() || !content) return fail{"a message without role or content"};
    auto t = content_text(*content);
    if (!t) return fail{"a message whose content is not text (images, tool calls)"};
    if (role->as_string() == "system" || role->as_string() == "developer")
      append_part(r.system, *t);
    else if (role->as_string() == "user")
      append_part(r.prompt, *t);
    else
      return fail{"a conversation (role '" + std::string(role->as_string()) + "')"};
  }
  return r;
}

/// The caller's request as the provider-neutral chat request, or why it
/// cannot be translated yet.
inline result<wire::chat_request, std::string> to_chat_request(std::string_view body, const body_facts& f) {
  using fail = ::keypool::unexpected<std::string>;
  if (f.stream) return fail{"a streamed request"};
  boost::system::error_code ec;
  const auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return fail{"a body that is not a JSON object"};
  const auto& o = v.as_object();
  if (o.contains("tools") || o.contains("functions")) return fail{"a request with tools"};
  auto r = messages_to_chat(o);
  if (!r) return r;
  for (const char* k : {"max_tokens", "max_completion_tokens"})
    if (const auto* n = o.if_contains(k); n && n->is_int64() && n->as_int64() > 0)
      r->max_tokens = static_cast<std::uint32_t>(n->as_int64());
  if (const auto* t = o.if_contains("temperature"); t && t->is_number()) r->temperature = t->to_number<double>();
  return r;
}

/// The answer in the caller's format.
inline std::string from_chat_response(api_format f, const wire::chat_response& r, std::string_view model) {
  namespace json = boost::json;
  const auto in = static_cast<std::int64_t>(r.usage.input_tokens);
  const auto out = static_cast<std::int64_t>(r.usage.output_tokens);
  if (f == api_format::anthropic)
    return json::serialize(json::object{{"id", "msg_keypool"},
                                        {"type", "message"},
                                        {"role", "assistant"},
                                        {"model", model},
                                        {"content", json::array{json::object{{"type", "text"}, {"text", r.text}}}},
                                        {"stop_reason", r.finish_reason == "length" ? "max_tokens" : "end_turn"},
                                        {"usage", json::object{{"input_tokens", in}, {"output_tokens", out}}}});
  return json::serialize(json::object{
      {"id", "chatcmpl-keypool"},
      {"object", "chat.completion"},
      {"model", model},
      {"choices", json::array{json::object{{"index", 0},
                                           {"message", json::object{{"role", "assistant"}, {"content", r.text}}},
                                           {"finish_reason", r.finish_reason == "max_tokens" ? "length" : "stop"}}}},
      {"usage", json::object{{"prompt_tokens", in}, {"completion_tokens", out}, {"total_tokens", in + out}}}});
}

}  // namespace keypool::serve::detail
