#pragma once
/// `ask --tools FILE` and `ask --json-schema FILE`: tool definitions in
/// OpenAI's JSON form and a JSON Schema for structured output, read into the
/// wire types (the codecs translate them for each provider). A file that
/// cannot be used is a file_error naming the flag, the file and the JSON
/// path, so the user fixes it before any key is spent.

#include "../options.hpp"
#include "load.hpp"

#include <keypool/wire/tool.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

#include <cctype>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace keypool::cli::detail {

/// The JSON document in `path`. Throws file_error "FLAG PATH: why" for an
/// unreadable file or text that is not JSON (with the line and column).
inline boost::json::value read_json_file(const std::string& flag, const std::string& path) {
  if (const auto why = unreadable(path); !why.empty()) throw file_error(flag + " " + path + ": " + why);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  boost::json::stream_parser p;
  boost::system::error_code ec;
  const std::size_t used = p.write(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    std::size_t line = 1, col = 1;
    for (std::size_t i = 0; i < used && i < text.size(); ++i) text[i] == '\n' ? (++line, col = 1) : ++col;
    throw file_error(flag + " " + path + ":" + std::to_string(line) + ":" + std::to_string(col) + ": not valid JSON (" +
                     ec.message() + ")");
  }
  return p.release();
}

/// A string member, or `fallback` when absent; throws for another type.
inline std::string string_member(const boost::json::object& o, const char* key, const std::string& where,
                                 const std::string& fallback = {}) {
  const auto* v = o.if_contains(key);
  if (!v) return fallback;
  if (!v->is_string()) throw file_error(where + key + " is not a string");
  return std::string(v->as_string());
}

inline std::optional<bool> bool_member(const boost::json::object& o, const char* key, const std::string& where) {
  const auto* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (!v->is_bool()) throw file_error(where + key + " is not a boolean");
  return v->as_bool();
}

/// One function object (`where` ends with '.' or is the file prefix).
inline wire::tool tool_of(const boost::json::object& f, const std::string& where) {
  wire::tool t;
  if (!f.contains("name")) throw file_error(where + "name is missing");
  t.name = string_member(f, "name", where);
  if (t.name.empty()) throw file_error(where + "name is empty");
  t.description = string_member(f, "description", where);
  if (const auto* p = f.if_contains("parameters")) {
    if (!p->is_object()) throw file_error(where + "parameters is not an object");
    t.parameters = boost::json::serialize(*p);
  }
  t.strict = bool_member(f, "strict", where);
  return t;
}

/// --tools FILE: `[{"type":"function","function":{name, description,
/// parameters, strict}}]` or the bare array of function objects. Throws
/// file_error "--tools FILE: [1].function.parameters is not an object".
inline std::vector<wire::tool> read_tools(const std::string& path) {
  const auto doc = read_json_file("--tools", path);
  const std::string file = "--tools " + path + ": ";
  if (!doc.is_array()) throw file_error(file + "expected an array of tools ([{\"type\":\"function\",...}])");
  if (doc.as_array().empty()) throw file_error(file + "the array has no tools");
  std::vector<wire::tool> tools;
  std::set<std::string> names;
  for (std::size_t i = 0; i < doc.as_array().size(); ++i) {
    const auto& v = doc.as_array()[i];
    std::string where = file + "[" + std::to_string(i) + "]";
    if (!v.is_object()) throw file_error(where + " is not an object");
    const auto* f = &v.as_object();
    if (f->contains("type") || f->contains("function")) {
      if (string_member(*f, "type", where + ".") != "function") throw file_error(where + ".type is not \"function\"");
      const auto* fn = f->if_contains("function");
      if (!fn || !fn->is_object()) throw file_error(where + ".function is " + (fn ? "not an object" : "missing"));
      f = &fn->as_object();
      where += ".function";
    }
    tools.push_back(tool_of(*f, where + "."));
    if (!names.insert(tools.back().name).second)
      throw file_error(where + ".name \"" + tools.back().name.substr(0, 60) + "\" is declared twice");
  }
  return tools;
}

/// A schema name OpenAI takes (letters, digits, '_' and '-', at most 64).
inline std::string schema_name(const std::string& s) {
  std::string out;
  for (const char c : s.substr(0, 64))
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') ? c : '_';
  return out.empty() ? std::string("response") : out;
}

/// --json-schema FILE: a JSON Schema object, named after the file's stem; or
/// OpenAI's wrapper `{"name", "schema", "strict"}` (also inside
/// `{"type":"json_schema","json_schema":{...}}`), whose name wins.
inline wire::response_format read_json_schema(const std::string& path) {
  const auto doc = read_json_file("--json-schema", path);
  std::string where = "--json-schema " + path + ": ";
  if (!doc.is_object()) throw file_error(where + "expected a JSON Schema object");
  const auto* o = &doc.as_object();
  if (const auto* js = o->if_contains("json_schema")) {
    if (!js->is_object()) throw file_error(where + "json_schema is not an object");
    o = &js->as_object();
    where += "json_schema.";
  }
  const auto stem = std::filesystem::path(path).stem().string();
  if (const auto* s = o->if_contains("schema")) {
    if (!s->is_object()) throw file_error(where + "schema is not an object");
    const auto name = string_member(*o, "name", where, stem);
    return wire::response_format::json_schema(schema_name(name), boost::json::serialize(*s),
                                              bool_member(*o, "strict", where));
  }
  return wire::response_format::json_schema(schema_name(stem), boost::json::serialize(*o));
}

}  // namespace keypool::cli::detail
