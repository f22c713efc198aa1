#pragma once
/// A deterministic JSON value that satisfies a simple JSON Schema: what the
/// mock puts in a tool call's arguments and in a structured-output answer.
/// Required properties only: a string is derived from the conversation's
/// text, an enum takes its first value, a number 0, an integer 1, a boolean
/// true, an array [] and an object its own instance. The same inputs always
/// give the same bytes, streamed or not.

#include <keypool/mock/detail/text.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace keypool::mock::detail {

/// At most `max` bytes of `s`, cut at a UTF-8 character boundary.
inline std::string_view utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

/// The text a string property gets: the source text, at most 60 bytes, or
/// "mock" when there is none.
inline std::string schema_string(std::string_view source) {
  return source.empty() ? std::string("mock") : std::string(utf8_prefix(source, 60));
}

/// The "type" of a schema in lower case (Gemini's schemas say "OBJECT"),
/// the first one when it lists several.
inline std::string schema_type(const boost::json::object& schema) {
  const auto* t = schema.if_contains("type");
  std::string out;
  if (t && t->is_string()) out = t->get_string();
  if (t && t->is_array() && !t->get_array().empty() && t->get_array()[0].is_string())
    out = t->get_array()[0].get_string();
  if (out.empty()) out = schema.contains("properties") ? "object" : "string";
  for (auto& ch : out) ch = static_cast<char>(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
  return out;
}

inline boost::json::value schema_instance(const boost::json::object& schema, std::string_view source, int depth = 0);

inline boost::json::object schema_object(const boost::json::object& schema, std::string_view source, int depth) {
  boost::json::object out;
  const auto* props = schema.if_contains("properties");
  const auto* required = schema.if_contains("required");
  if (!props || !props->is_object() || !required || !required->is_array()) return out;
  for (const auto& name : required->get_array()) {
    if (!name.is_string()) continue;
    const auto* p = props->get_object().if_contains(name.get_string());
    static const boost::json::object none;
    out[name.get_string()] = schema_instance(p && p->is_object() ? p->get_object() : none, source, depth + 1);
  }
  return out;
}

/// The instance of `schema` (see the file comment); deep nesting stops at null.
inline boost::json::value schema_instance(const boost::json::object& schema, std::string_view source, int depth) {
  if (depth > 16) return nullptr;
  if (const auto* e = schema.if_contains("enum"); e && e->is_array() && !e->get_array().empty())
    return e->get_array()[0];
  if (const auto* c = schema.if_contains("const")) return *c;
  const auto type = schema_type(schema);
  if (type == "object") return schema_object(schema, source, depth);
  if (type == "integer") return 1;
  if (type == "number") return 0;
  if (type == "boolean") return true;
  if (type == "array") return boost::json::array{};
  if (type == "null") return nullptr;
  return boost::json::string(schema_string(source));
}

/// A deterministic id for a tool call: FNV-1a of what identifies the call,
/// as 16 hex digits ("call_" / "toolu_" are the caller's prefixes).
inline std::string stable_id(std::string_view a, std::string_view b, std::uint64_t turn) {
  std::uint64_t h = 1469598103934665603ull;
  auto mix = [&h](std::string_view s) {
    for (const unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xFF) * 1099511628211ull;
  };
  mix(a);
  mix(b);
  mix(std::to_string(turn));
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace keypool::mock::detail
