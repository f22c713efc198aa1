#pragma once
/// `--config FILE`: a JSON file that declares providers (for every command
/// that loads keys) and the gateway's settings (for `keypool serve`):
///
///     {
///       "providers": {"together": {"format": "openai_chat",
///                                  "base_url": "https://api.together.xyz/v1",
///                                  "models": ["meta-llama/Llama-3.3-70B-Instruct-Turbo"]}},
///       "listen": "127.0.0.1:8080", "chain": "free-first",
///       "stats_every": "10s", "drain_timeout": "30s",
///       "routes": {"fast": ["groq/llama-3.1-8b-instant", "mistral/mistral-small-latest"]},
///       "limits": {"max_body_bytes": 33554432, "max_in_flight": 512, "header_timeout": "10s"}
///     }
///
/// Keys stay in the .env (a config file is often shared; keys are not). A
/// provider here is the same as TOGETHER_FORMAT / _BASE_URL / _MODELS in
/// the .env, which wins over the file. The command line wins over both.
/// Unknown fields are errors, so that a typo is not silently ignored.

#include "../options.hpp"

#include <keypool/config/dotenv.hpp>

#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::cli::detail {

/// The gateway's limits a config file may set; unset fields keep the defaults.
struct file_limits {
  std::optional<std::size_t> max_body, max_header, max_in_flight, max_connections;
  std::optional<unsigned> max_attempts;
  std::optional<std::chrono::milliseconds> header_timeout, body_timeout, idle_timeout, write_timeout, deadline;
};

/// What a config file says.
struct file_config {
  std::string path;
  /// P_FORMAT, P_BASE_URL and P_MODELS assignments for each provider, as if
  /// written in a .env named after the file and field.
  std::vector<config::dotenv_entry> provider_variables;
  std::optional<std::string> listen, chain;
  std::optional<std::chrono::seconds> stats_every;
  std::optional<std::chrono::milliseconds> drain_timeout;
  /// Route name -> "provider/model" targets, in order.
  std::map<std::string, std::vector<std::string>> routes;
  file_limits limits;
};

namespace file_config_detail {

namespace bj = boost::json;

/// "FILE: field: why" — the place in the file, never a value that may be a secret.
inline file_error bad(const std::string& path, const std::string& field, const std::string& why) {
  return file_error(path + ": " + field + ": " + why);
}

/// line:column of byte `at` in `text` (1-based).
inline std::string position(std::string_view text, std::size_t at) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < at && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

inline bj::value parse_text(const std::string& path, std::string_view text) {
  bj::stream_parser p;
  boost::system::error_code ec;
  const std::size_t used = p.write_some(text.data(), text.size(), ec);
  if (!ec && used == text.size()) p.finish(ec);
  if (ec) throw file_error(path + ":" + position(text, used) + ": not valid JSON (" + ec.message() + ")");
  return p.release();
}

inline const bj::object& object_of(const std::string& path, const std::string& field, const bj::value& v) {
  if (!v.is_object()) throw bad(path, field, "expected an object");
  return v.get_object();
}

inline std::string string_of(const std::string& path, const std::string& field, const bj::value& v) {
  if (!v.is_string()) throw bad(path, field, "expected a string");
  return std::string(v.get_string());
}

inline std::size_t count_of(const std::string& path, const std::string& field, const bj::value& v) {
  if (v.is_uint64() && v.get_uint64() > 0) return static_cast<std::size_t>(v.get_uint64());
  if (v.is_int64() && v.get_int64() > 0) return static_cast<std::size_t>(v.get_int64());
  throw bad(path, field, "expected a whole number above 0");
}

/// A duration as `--drain-timeout` takes it ("30s", "500ms", "1m30s").
inline std::chrono::milliseconds duration_of(const std::string& path, const std::string& field, const bj::value& v) {
  return duration_option(path + ": " + field, string_of(path, field, v));
}

inline std::vector<std::string> strings_of(const std::string& path, const std::string& field, const bj::value& v) {
  if (!v.is_array()) throw bad(path, field, "expected an array of strings");
  std::vector<std::string> out;
  for (std::size_t i = 0; i < v.get_array().size(); ++i)
    out.push_back(string_of(path, field + "[" + std::to_string(i) + "]", v.get_array()[i]));
  return out;
}

inline std::string upper(std::string_view id) {
  std::string out;
  for (const char c : id) out += c == '-' ? '_' : static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}

/// One entry of "providers": its variables, named after the file and field.
inline void read_provider(file_config& c, const std::string& id, const bj::value& v) {
  const std::string field = "providers." + id;
  const auto& o = object_of(c.path, field, v);
  const std::string prefix = upper(id);
  const auto add = [&](const char* suffix, std::string value, const std::string& where) {
    c.provider_variables.push_back({prefix + suffix, std::move(value), c.path + " (" + where + ")", 0});
  };
  for (const auto& [k, val] : o) {
    const std::string f = field + "." + std::string(k);
    if (k == "format")
      add("_FORMAT", string_of(c.path, f, val), f);
    else if (k == "base_url")
      add("_BASE_URL", string_of(c.path, f, val), f);
    else if (k == "models") {
      std::string joined;
      for (const auto& m : strings_of(c.path, f, val)) joined += (joined.empty() ? "" : ",") + m;
      add("_MODELS", std::move(joined), f);
    } else {
      throw bad(c.path, f, "unknown field (expected format, base_url, models; keys belong in the .env)");
    }
  }
  if (!o.contains("format") || !o.contains("base_url"))
    throw bad(c.path, field, "needs both \"format\" and \"base_url\"");
}

inline void read_routes(file_config& c, const bj::value& v) {
  for (const auto& [name, targets] : object_of(c.path, "routes", v)) {
    const std::string field = "routes." + std::string(name);
    auto list = strings_of(c.path, field, targets);
    if (list.empty()) throw bad(c.path, field, "names no provider/model");
    for (std::size_t i = 0; i < list.size(); ++i)
      if (list[i].find('/') == std::string::npos || list[i].front() == '/' || list[i].back() == '/')
        throw bad(c.path, field + "[" + std::to_string(i) + "]", "expected provider/model");
    c.routes[std::string(name)] = std::move(list);
  }
}

inline void read_limit(file_config& c, std::string_view k, const bj::value& v) {
  const std::string f = "limits." + std::string(k);
  auto& l = c.limits;
  if (k == "max_body_bytes")
    l.max_body = count_of(c.path, f, v);
  else if (k == "max_header_bytes")
    l.max_header = count_of(c.path, f, v);
  else if (k == "max_in_flight")
    l.max_in_flight = count_of(c.path, f, v);
  else if (k == "max_connections")
    l.max_connections = count_of(c.path, f, v);
  else if (k == "max_attempts")
    l.max_attempts = static_cast<unsigned>(std::min<std::size_t>(count_of(c.path, f, v), max_attempts_limit));
  else if (k == "header_timeout")
    l.header_timeout = duration_of(c.path, f, v);
  else if (k == "body_timeout")
    l.body_timeout = duration_of(c.path, f, v);
  else if (k == "idle_timeout")
    l.idle_timeout = duration_of(c.path, f, v);
  else if (k == "write_timeout")
    l.write_timeout = duration_of(c.path, f, v);
  else if (k == "deadline")
    l.deadline = duration_of(c.path, f, v);
  else
    throw bad(c.path, f,
              "unknown limit (expected max_body_bytes, max_header_bytes, max_in_flight, max_connections, "
              "max_attempts, header_timeout, body_timeout, idle_timeout, write_timeout, deadline)");
}

inline void read_field(file_config& c, std::string_view k, const bj::value& v) {
  if (k == "providers") {
    for (const auto& [id, p] : object_of(c.path, "providers", v)) read_provider(c, std::string(id), p);
  } else if (k == "listen") {
    c.listen = string_of(c.path, "listen", v);
  } else if (k == "chain") {
    c.chain = string_of(c.path, "chain", v);
  } else if (k == "stats_every") {
    c.stats_every = std::chrono::duration_cast<std::chrono::seconds>(duration_of(c.path, "stats_every", v));
  } else if (k == "drain_timeout") {
    c.drain_timeout = duration_of(c.path, "drain_timeout", v);
  } else if (k == "routes") {
    read_routes(c, v);
  } else if (k == "limits") {
    for (const auto& [name, val] : object_of(c.path, "limits", v)) read_limit(c, name, val);
  } else {
    throw bad(c.path, std::string(k),
              "unknown field (expected providers, listen, chain, stats_every, drain_timeout, routes, limits)");
  }
}

}  // namespace file_config_detail

/// Reads `path`. Throws file_error naming the file and the field (or
/// line:column for JSON that does not parse).
inline file_config read_file_config(const std::string& path) {
  namespace d = file_config_detail;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw file_error("--config " + path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  file_config c;
  c.path = path;
  const auto v = d::parse_text(path, text.str());
  for (const auto& [k, val] : d::object_of(path, "(top level)", v)) d::read_field(c, k, val);
  return c;
}

/// `o` with what the config file sets and the command line does not.
inline options with_file_config(options o, const file_config& c) {
  if (c.listen && !o.given.count("--listen")) listen_option(c.path + ": listen", *c.listen, o);
  if (c.chain && !o.given.count("--chain")) o.chain = *c.chain;
  if (c.stats_every && !o.given.count("--stats-every")) o.stats_every = *c.stats_every;
  if (c.drain_timeout && !o.given.count("--drain-timeout")) o.drain_timeout = *c.drain_timeout;
  return o;
}

}  // namespace keypool::cli::detail
