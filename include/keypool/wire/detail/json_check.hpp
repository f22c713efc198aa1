#pragma once
/// Tells whether a JSON text (a tool's schema, a call's arguments) is a valid
/// object without building a tree: Boost.JSON's SAX parser with a handler
/// that keeps nothing, so checking costs one pass and no allocation. The text
/// is then copied into the request body verbatim.

#include <boost/json/basic_parser_impl.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::wire::detail {

enum class json_kind : std::uint8_t { invalid, object, other };

/// The SAX handler: counts depth and, when asked, collects the top-level
/// object's member names.
struct json_check_handler {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);
  using ec_t = boost::system::error_code;
  using sv = boost::json::string_view;

  std::vector<std::string>* keys = nullptr;
  std::size_t depth = 0;
  std::string key{};

  bool on_document_begin(ec_t&) { return true; }
  bool on_document_end(ec_t&) { return true; }
  bool on_object_begin(ec_t&) { return ++depth, true; }
  bool on_object_end(std::size_t, ec_t&) { return --depth, true; }
  bool on_array_begin(ec_t&) { return ++depth, true; }
  bool on_array_end(std::size_t, ec_t&) { return --depth, true; }
  bool on_key_part(sv s, std::size_t, ec_t&) {
    if (keys && depth == 1) key.append(s.data(), s.size());
    return true;
  }
  bool on_key(sv s, std::size_t, ec_t&) {
    if (keys && depth == 1) {
      key.append(s.data(), s.size());
      keys->push_back(std::move(key));
      key.clear();
    }
    return true;
  }
  bool on_string_part(sv, std::size_t, ec_t&) { return true; }
  bool on_string(sv, std::size_t, ec_t&) { return true; }
  bool on_number_part(sv, ec_t&) { return true; }
  bool on_int64(std::int64_t, sv, ec_t&) { return true; }
  bool on_uint64(std::uint64_t, sv, ec_t&) { return true; }
  bool on_double(double, sv, ec_t&) { return true; }
  bool on_bool(bool, ec_t&) { return true; }
  bool on_null(ec_t&) { return true; }
  bool on_comment_part(sv, ec_t&) { return true; }
  bool on_comment(sv, ec_t&) { return true; }
};

/// What `text` holds: one valid JSON object, another valid JSON value, or
/// invalid JSON (strings must be valid UTF-8). With `keys`, the top-level
/// object's member names are appended to it.
inline json_kind json_kind_of(std::string_view text, std::vector<std::string>* keys = nullptr) {
  boost::json::basic_parser<json_check_handler> p(boost::json::parse_options{});
  p.handler().keys = keys;
  boost::system::error_code ec;
  const std::size_t n = p.write_some(false, text.data(), text.size(), ec);
  if (ec || n != text.size() || !p.done()) return json_kind::invalid;
  const auto first = text.find_first_not_of(" \t\r\n");
  return text[first] == '{' ? json_kind::object : json_kind::other;
}

}  // namespace keypool::wire::detail
