#pragma once
/// Decodes an OpenAI chat.completions request body (what the OpenAI SDKs
/// send) into the provider-neutral chat request: every role, text and
/// image_url parts (a data: URL becomes inline bytes, an https:// URL stays
/// a URL), assistant tool_calls, tool results, tools, tool_choice,
/// parallel_tool_calls, response_format, stop, top_p, seed,
/// max_tokens / max_completion_tokens, temperature, user, stream and
/// stream_options. Members it does not model go to `extra` (sent verbatim
/// to openai_chat providers only). Errors name the field.

#include <keypool/wire/decoded_request.hpp>
#include <keypool/wire/detail/request_reader.hpp>
#include <keypool/wire/detail/tool_call_id.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace keypool::wire {
namespace detail {

using request_check = std::optional<request_error>;

inline request_error request_error_of(std::string field, std::string_view what) {
  return request_fail(std::move(field), what).error;
}

/// One part of a content array: text or image_url.
inline request_check openai_part(const boost::json::value& v, const std::string& here, message& m) {
  if (!v.is_object()) return wrong_type(here, "an object", v).error;
  const auto& o = v.get_object();
  const auto* type = o.if_contains("type");
  if (!type || !type->is_string()) return request_error_of(at(here, "type"), "expected \"text\" or \"image_url\"");
  if (*type == "text") {
    const auto* t = o.if_contains("text");
    if (!t || !t->is_string()) return request_error_of(at(here, "text"), "expected a string");
    m.content.push_back(content_part::of_text(std::string(t->get_string())));
    return std::nullopt;
  }
  if (*type == "image_url") {
    const std::string field = at(here, "image_url");
    const auto* iu = o.if_contains("image_url");
    const boost::json::value* url = iu && iu->is_object() ? iu->get_object().if_contains("url") : iu;
    if (!url || !url->is_string()) return request_error_of(field, "expected {\"url\": \"https://…\" or a data: URL}");
    auto part = image_from_url(url->get_string(), field);
    if (!part) return std::move(part).error();
    m.content.push_back(std::move(*part));
    return std::nullopt;
  }
  return request_error_of(at(here, "type"),
                          "the part type '" + std::string(type->get_string()) + "' cannot be translated");
}

/// A message's content: a string, null, or an array of parts.
inline request_check openai_content(const boost::json::object& mo, const std::string& here, message& m) {
  const auto* c = mo.if_contains("content");
  if (!c || c->is_null()) return std::nullopt;
  if (c->is_string()) {
    if (!c->get_string().empty()) m.content.push_back(content_part::of_text(std::string(c->get_string())));
    return std::nullopt;
  }
  if (!c->is_array()) return wrong_type(at(here, "content"), "a string or an array", *c).error;
  const auto& a = c->get_array();
  for (std::size_t j = 0; j < a.size(); ++j)
    if (auto e = openai_part(a[j], at(at(here, "content"), j), m)) return e;
  return std::nullopt;
}

/// An assistant message's tool_calls.
inline request_check openai_tool_calls(const boost::json::value& v, const std::string& here, message& m) {
  if (v.is_null()) return std::nullopt;
  if (!v.is_array()) return wrong_type(here, "an array", v).error;
  const auto& a = v.get_array();
  for (std::size_t k = 0; k < a.size(); ++k) {
    const std::string ck = at(here, k);
    if (!a[k].is_object()) return wrong_type(ck, "an object", a[k]).error;
    const auto& co = a[k].get_object();
    const auto* fn = co.if_contains("function");
    if (!fn || !fn->is_object()) return request_error_of(at(ck, "function"), "expected an object");
    tool_call c;
    std::optional<std::string> id, name, args;
    if (auto e = read_into(opt_string(co, "id", ck), id)) return e;
    if (auto e = read_into(opt_string(fn->get_object(), "name", at(ck, "function")), name)) return e;
    if (auto e = read_into(opt_string(fn->get_object(), "arguments", at(ck, "function")), args)) return e;
    if (!id || !name) return request_error_of(ck, "a tool call needs an id and function.name");
    auto [plain, signature] = detail::split_signature(*id);
    m.tool_calls.push_back(tool_call{std::move(plain), std::move(*name), args.value_or(""), std::move(signature)});
  }
  return std::nullopt;
}

inline std::optional<role> openai_role(std::string_view r) noexcept {
  if (r == "system") return role::system;
  if (r == "developer") return role::developer;
  if (r == "user") return role::user;
  if (r == "assistant") return role::assistant;
  if (r == "tool") return role::tool;
  return std::nullopt;
}

inline request_check openai_message(const boost::json::value& v, std::size_t i, chat_request& r) {
  const std::string here = at("messages", i);
  if (!v.is_object()) return wrong_type(here, "an object", v).error;
  const auto& mo = v.get_object();
  const auto* rv = mo.if_contains("role");
  const auto rl = rv && rv->is_string() ? openai_role(rv->get_string()) : std::nullopt;
  if (!rl) return request_error_of(at(here, "role"), "expected system, developer, user, assistant or tool");
  message m;
  m.role = *rl;
  if (auto e = openai_content(mo, here, m)) return e;
  if (m.role == role::assistant)
    if (const auto* calls = mo.if_contains("tool_calls"))
      if (auto e = openai_tool_calls(*calls, at(here, "tool_calls"), m)) return e;
  if (m.role == role::tool) {
    std::optional<std::string> id, name;
    if (auto e = read_into(opt_string(mo, "tool_call_id", here), id)) return e;
    if (!id) return request_error_of(at(here, "tool_call_id"), "a tool message needs the id of the call it answers");
    if (auto e = read_into(opt_string(mo, "name", here), name)) return e;
    m.tool_call_id = detail::split_signature(*id).id;
    m.name = name.value_or("");
  }
  r.messages.push_back(std::move(m));
  return std::nullopt;
}

inline request_check openai_messages(const boost::json::object& o, chat_request& r) {
  const auto* v = o.if_contains("messages");
  if (!v || !v->is_array() || v->get_array().empty()) return request_error_of("messages", "expected a non-empty array");
  const auto& a = v->get_array();
  for (std::size_t i = 0; i < a.size(); ++i)
    if (auto e = openai_message(a[i], i, r)) return e;
  return std::nullopt;
}

/// tools: [{type: function, function: {name, description, parameters, strict}}].
inline request_check openai_tools(const boost::json::object& o, chat_request& r) {
  const auto* v = o.if_contains("tools");
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_array()) return wrong_type("tools", "an array", *v).error;
  const auto& a = v->get_array();
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string here = at("tools", i);
    const auto* to = a[i].if_object();
    const auto* fn = to ? to->if_contains("function") : nullptr;
    if (!fn || !fn->is_object() || (to->contains("type") && to->at("type") != "function"))
      return request_error_of(here, "expected {\"type\": \"function\", \"function\": {…}}");
    const auto& fo = fn->get_object();
    const std::string fh = at(here, "function");
    tool t;
    std::optional<std::string> name, desc;
    if (auto e = read_into(opt_string(fo, "name", fh), name)) return e;
    if (!name) return request_error_of(at(fh, "name"), "a tool needs a name");
    if (auto e = read_into(opt_string(fo, "description", fh), desc)) return e;
    if (auto e = read_into(opt_bool(fo, "strict", fh), t.strict)) return e;
    if (const auto* p = fo.if_contains("parameters"); p && !p->is_null()) {
      if (!p->is_object()) return wrong_type(at(fh, "parameters"), "an object", *p).error;
      t.parameters = json_text(*p);
    }
    t.name = std::move(*name);
    t.description = desc.value_or("");
    r.tools.push_back(std::move(t));
  }
  return std::nullopt;
}

/// tool_choice: "auto" | "none" | "required" | {type: function, function: {name}}.
inline request_check openai_tool_choice(const boost::json::object& o, chat_request& r) {
  const auto* v = o.if_contains("tool_choice");
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_string()) {
    const auto s = v->get_string();
    if (s == "auto")
      r.tool_choice = tool_choice{};
    else if (s == "none")
      r.tool_choice = tool_choice{tool_choice_mode::none, {}};
    else if (s == "required")
      r.tool_choice = tool_choice{tool_choice_mode::required, {}};
    else
      return request_error_of("tool_choice", "expected auto, none, required or a named function");
    return std::nullopt;
  }
  const auto* fn = v->is_object() ? v->get_object().if_contains("function") : nullptr;
  const auto* name = fn && fn->is_object() ? fn->get_object().if_contains("name") : nullptr;
  if (!name || !name->is_string())
    return request_error_of("tool_choice", "expected {\"type\": \"function\", \"function\": {\"name\": …}}");
  r.tool_choice = tool_choice::of(std::string(name->get_string()));
  return std::nullopt;
}

/// response_format: {type: text | json_object | json_schema, json_schema: {name, schema, strict}}.
inline request_check openai_response_format(const boost::json::object& o, chat_request& r) {
  const auto* v = o.if_contains("response_format");
  if (!v || v->is_null()) return std::nullopt;
  const auto* type = v->is_object() ? v->get_object().if_contains("type") : nullptr;
  if (!type || !type->is_string())
    return request_error_of("response_format.type", "expected text, json_object or json_schema");
  if (*type == "text")
    r.response_format = response_format{};
  else if (*type == "json_object")
    r.response_format = response_format::json();
  else if (*type == "json_schema") {
    const auto* js = v->get_object().if_contains("json_schema");
    if (!js || !js->is_object()) return request_error_of("response_format.json_schema", "expected an object");
    const auto& jo = js->get_object();
    std::optional<std::string> name;
    std::optional<bool> strict;
    if (auto e = read_into(opt_string(jo, "name", "response_format.json_schema"), name)) return e;
    if (auto e = read_into(opt_bool(jo, "strict", "response_format.json_schema"), strict)) return e;
    const auto* schema = jo.if_contains("schema");
    if (!schema || !schema->is_object())
      return request_error_of("response_format.json_schema.schema", "expected an object");
    r.response_format = response_format::json_schema(name.value_or("response"), json_text(*schema), strict);
  } else {
    return request_error_of("response_format.type", "expected text, json_object or json_schema");
  }
  return std::nullopt;
}

/// stop: a string or an array of strings.
inline request_check openai_stop(const boost::json::object& o, chat_request& r) {
  const auto* v = o.if_contains("stop");
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_string()) {
    r.stop.emplace_back(v->get_string());
    return std::nullopt;
  }
  if (!v->is_array()) return wrong_type("stop", "a string or an array of strings", *v).error;
  for (std::size_t i = 0; i < v->get_array().size(); ++i) {
    const auto& s = v->get_array()[i];
    if (!s.is_string()) return wrong_type(at("stop", i), "a string", s).error;
    r.stop.emplace_back(s.get_string());
  }
  return std::nullopt;
}

/// The scalar parameters.
inline request_check openai_scalars(const boost::json::object& o, decoded_request& d) {
  chat_request& r = d.chat;
  std::optional<std::string> model, user;
  std::optional<std::uint32_t> max_tokens, max_completion;
  std::optional<bool> stream;
  std::optional<double> seed;
  if (auto e = read_into(opt_string(o, "model", ""), model)) return e;
  if (auto e = read_into(opt_string(o, "user", ""), user)) return e;
  if (auto e = read_into(opt_number(o, "temperature", ""), r.temperature)) return e;
  if (auto e = read_into(opt_number(o, "top_p", ""), r.top_p)) return e;
  if (auto e = read_into(opt_number(o, "seed", ""), seed)) return e;
  if (auto e = read_into(opt_bool(o, "parallel_tool_calls", ""), r.parallel_tool_calls)) return e;
  if (auto e = read_into(opt_count(o, "max_tokens", ""), max_tokens)) return e;
  if (auto e = read_into(opt_count(o, "max_completion_tokens", ""), max_completion)) return e;
  if (auto e = read_into(opt_bool(o, "stream", ""), stream)) return e;
  if (const auto* n = o.if_contains("n"); n && !(n->is_null() || (n->is_int64() && n->get_int64() == 1)))
    return request_error_of("n", "only one choice (n = 1) can be translated");
  if (const auto* so = o.if_contains("stream_options"); so && so->is_object())
    if (const auto* iu = so->get_object().if_contains("include_usage"); iu && iu->is_bool())
      d.include_usage = iu->get_bool();
  r.model = model.value_or("");
  r.user = user.value_or("");
  if (seed) r.seed = static_cast<std::int64_t>(*seed);
  if (max_completion)
    r.max_tokens = *max_completion;
  else if (max_tokens)
    r.max_tokens = *max_tokens;
  d.stream = stream.value_or(false);
  return std::nullopt;
}

/// Members not modelled, kept for openai_chat providers.
inline std::string openai_extra(const boost::json::object& o) {
  static constexpr std::array<std::string_view, 20> known{"model",
                                                          "messages",
                                                          "tools",
                                                          "tool_choice",
                                                          "parallel_tool_calls",
                                                          "response_format",
                                                          "stop",
                                                          "top_p",
                                                          "seed",
                                                          "max_tokens",
                                                          "max_completion_tokens",
                                                          "temperature",
                                                          "user",
                                                          "stream",
                                                          "stream_options",
                                                          "n",
                                                          "functions",
                                                          "function_call",
                                                          "system",
                                                          "metadata"};
  boost::json::object extra;
  for (const auto& m : o)
    if (std::find(known.begin(), known.end(), std::string_view(m.key())) == known.end())
      extra.emplace(m.key(), m.value());
  return extra.empty() ? std::string{} : boost::json::serialize(extra);
}

}  // namespace detail

/// Decodes an OpenAI chat.completions request body. Never throws.
inline request_decode_result decode_openai_request(std::string_view body) noexcept {
  try {
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec);
    if (ec) return detail::request_fail("", "the body is not JSON: " + ec.message());
    if (!v.is_object()) return detail::request_fail("", "the body is not a JSON object");
    const auto& o = v.get_object();
    if (o.contains("functions") || o.contains("function_call"))
      return detail::request_fail("functions", "the legacy functions API cannot be translated (use tools)");
    decoded_request d;
    for (auto step : {detail::openai_messages, detail::openai_tools, detail::openai_tool_choice,
                      detail::openai_response_format, detail::openai_stop})
      if (auto e = step(o, d.chat)) return ::keypool::unexpected<request_error>{std::move(*e)};
    if (auto e = detail::openai_scalars(o, d)) return ::keypool::unexpected<request_error>{std::move(*e)};
    d.chat.extra = detail::openai_extra(o);
    return d;
  } catch (const std::exception& e) {
    return detail::request_fail("", e.what());
  }
}

}  // namespace keypool::wire
