#pragma once
/// Small readers shared by the request decoders: typed member access that
/// fails with the member's path, and image sources (data: URLs, base64).

#include <keypool/core/result.hpp>
#include <keypool/wire/base64.hpp>
#include <keypool/wire/decoded_request.hpp>
#include <keypool/wire/message.hpp>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keypool::wire::detail {

/// The JSON type of `v` in an error message.
inline std::string_view json_type_name(const boost::json::value& v) noexcept {
  switch (v.kind()) {
    case boost::json::kind::string: return "a string";
    case boost::json::kind::array: return "an array";
    case boost::json::kind::object: return "an object";
    case boost::json::kind::bool_: return "a boolean";
    case boost::json::kind::null: return "null";
    default: return "a number";
  }
}

inline ::keypool::unexpected<request_error> request_fail(std::string field, std::string_view what) {
  std::string msg = field.empty() ? std::string(what) : field + ": " + std::string(what);
  return ::keypool::unexpected<request_error>{request_error{std::move(field), std::move(msg)}};
}

inline ::keypool::unexpected<request_error> wrong_type(std::string field, std::string_view expected,
                                                       const boost::json::value& got) {
  return request_fail(std::move(field),
                      "expected " + std::string(expected) + ", got " + std::string(json_type_name(got)));
}

/// "a.b" or "a[3]" paths.
inline std::string at(std::string_view base, std::string_view key) {
  return base.empty() ? std::string(key) : std::string(base) + "." + std::string(key);
}
inline std::string at(std::string_view base, std::size_t i) {
  return std::string(base) + "[" + std::to_string(i) + "]";
}

/// A member that must be a string when present.
inline ::keypool::result<std::optional<std::string>, request_error> opt_string(const boost::json::object& o,
                                                                               std::string_view key,
                                                                               std::string_view base) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::string>{};
  if (!v->is_string()) return wrong_type(at(base, key), "a string", *v);
  return std::optional<std::string>(std::string(v->get_string()));
}

/// A member that must be a number when present.
inline ::keypool::result<std::optional<double>, request_error> opt_number(const boost::json::object& o,
                                                                          std::string_view key, std::string_view base) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<double>{};
  if (!v->is_number()) return wrong_type(at(base, key), "a number", *v);
  return std::optional<double>(v->to_number<double>());
}

/// A member that must be a positive integer when present.
inline ::keypool::result<std::optional<std::uint32_t>, request_error> opt_count(const boost::json::object& o,
                                                                                std::string_view key,
                                                                                std::string_view base) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::uint32_t>{};
  if (!(v->is_int64() && v->get_int64() > 0 && v->get_int64() <= 0xffffffffLL) &&
      !(v->is_uint64() && v->get_uint64() > 0 && v->get_uint64() <= 0xffffffffULL))
    return request_fail(at(base, key), "expected a positive integer");
  return std::optional<std::uint32_t>(static_cast<std::uint32_t>(v->to_number<std::uint64_t>()));
}

/// A member that must be a boolean when present.
inline ::keypool::result<std::optional<bool>, request_error> opt_bool(const boost::json::object& o,
                                                                      std::string_view key, std::string_view base) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<bool>{};
  if (!v->is_bool()) return wrong_type(at(base, key), "a boolean", *v);
  return std::optional<bool>(v->get_bool());
}

/// An image from base64 text and its MIME type.
inline ::keypool::result<content_part, request_error> base64_image(std::string_view data, std::string_view mime,
                                                                   const std::string& field) {
  auto bytes = base64::decode(data);
  if (!bytes) return request_fail(field, "the image data is not valid base64");
  return content_part::of_image(image{std::move(*bytes), std::string(mime)});
}

/// An image URL: a data: URL (base64) becomes inline bytes, an https:// URL
/// stays a URL; anything else is refused (keypool downloads nothing).
inline ::keypool::result<content_part, request_error> image_from_url(std::string_view url, const std::string& field) {
  if (url.substr(0, 5) == "data:") {
    const auto comma = url.find(',');
    const auto meta = url.substr(5, comma == std::string_view::npos ? 0 : comma - 5);
    if (comma == std::string_view::npos || meta.size() < 7 || meta.substr(meta.size() - 7) != ";base64")
      return request_fail(field, "a data: URL must be data:<mime>;base64,<data>");
    return base64_image(url.substr(comma + 1), meta.substr(0, meta.size() - 7), field);
  }
  if (url.substr(0, 8) == "https://") return content_part::of_url(std::string(url));
  return request_fail(field, "expected an https:// or data: URL (keypool downloads nothing)");
}

/// Moves a reader's value into `into`, or gives its error.
template <class T>
std::optional<request_error> read_into(::keypool::result<T, request_error> r, T& into) {
  if (!r) return std::move(r).error();
  into = std::move(*r);
  return std::nullopt;
}

/// A JSON value as text (a schema, a tool call's input).
inline std::string json_text(const boost::json::value& v) { return boost::json::serialize(v); }

}  // namespace keypool::wire::detail
