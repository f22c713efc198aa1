#pragma once
/// One JSON value as compact text, the same bytes for the same value:
/// members in the order given, no whitespace, strings escaped as
/// json_writer escapes them, integers as integers, doubles as the shortest
/// text that reads back the same. Anthropic and Gemini send tool arguments
/// as a JSON object (Anthropic streams them as text fragments): both paths
/// go through this writer, so a streamed call's arguments are byte-identical
/// to the whole answer's.

#include <keypool/wire/detail/json.hpp>
#include <keypool/wire/detail/json_writer.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

namespace keypool::wire::detail {

/// Appends `v` to `out`. Recursion is bounded by the parser's depth limit.
inline void write_canonical(const json::value& v, std::string& out) {
  switch (v.kind()) {
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& m : v.get_object()) {
        if (!first) out += ',';
        first = false;
        json_writer(out).value(std::string_view(m.key().data(), m.key().size()));
        out += ':';
        write_canonical(m.value(), out);
      }
      out += '}';
      return;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        write_canonical(e, out);
      }
      out += ']';
      return;
    }
    case json::kind::string:
      json_writer(out).value(std::string_view(v.get_string().data(), v.get_string().size()));
      return;
    case json::kind::int64: {
      char buf[24];
      out.append(buf, std::to_chars(buf, buf + sizeof buf, v.get_int64()).ptr);
      return;
    }
    case json::kind::uint64: json_writer(out).value(v.get_uint64()); return;
    case json::kind::double_: json_writer(out).value(v.get_double()); return;
    case json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
    case json::kind::null: out += "null"; return;
  }
}

inline std::string canonical_json(const json::value& v) {
  std::string out;
  write_canonical(v, out);
  return out;
}

/// `text` parsed and written canonically; nullopt when it is not one JSON
/// value (a tool call's streamed arguments that never completed).
inline std::optional<std::string> canonical_json(std::string_view text, std::string_view format) {
  scratch<> arena;
  auto parsed = parse(text, format, arena.get());
  if (!parsed) return std::nullopt;
  return canonical_json(*parsed);
}

}  // namespace keypool::wire::detail
