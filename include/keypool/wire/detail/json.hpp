#pragma once
/// Shared, non-throwing JSON helpers for the codecs.

#include <keypool/wire/base64.hpp>
#include <keypool/wire/provider_text.hpp>
#include <keypool/wire/request.hpp>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace keypool::wire::detail {

namespace json = boost::json;
using ::keypool::unexpected;

inline unexpected<decode_error> decode_fail(std::string_view format, decode_errc code, std::string msg) {
  return {{code, std::string(format) + ": " + std::move(msg)}};
}

/// Where a decoder parses one document: the first `N` bytes on the caller's
/// stack, then heap blocks, all released together when it goes (a JSON tree
/// is a few dozen small allocations otherwise). Values made in it must not
/// outlive it.
template <std::size_t N = 4096>
class scratch {
 public:
  scratch() noexcept : mr_(buf_, N) {}
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  json::storage_ptr get() noexcept { return json::storage_ptr(&mr_); }

 private:
  alignas(std::max_align_t) unsigned char buf_[N];
  json::monotonic_resource mr_;
};

/// Parses a whole body, telling a cut-off document from a malformed one. The
/// value lives in `sp` (default: the heap); the parser's own stack starts on
/// this function's.
inline ::keypool::result<json::value, decode_error> parse(std::string_view body, std::string_view format,
                                                          json::storage_ptr sp = {}) {
  std::size_t ws = 0;
  while (ws < body.size() && (body[ws] == ' ' || body[ws] == '\n' || body[ws] == '\r' || body[ws] == '\t')) ++ws;
  if (ws == body.size()) return decode_fail(format, decode_errc::empty_body, "empty response body");
  unsigned char temp[1024];
  json::stream_parser p(json::storage_ptr(), json::parse_options(), temp);
  p.reset(std::move(sp));
  boost::system::error_code ec;
  const std::size_t n = p.write(body.data(), body.size(), ec);
  if (!ec) p.finish(ec);
  if (ec == json::error::incomplete)
    return decode_fail(
        format, decode_errc::truncated_json,
        "truncated JSON: the body ends after " + std::to_string(body.size()) + " bytes in the middle of a value");
  if (ec)
    return decode_fail(format, decode_errc::invalid_json,
                       "invalid JSON near byte " + std::to_string(n) + ": " + ec.message());
  return p.release();
}

inline const json::value* field(const json::object& o, std::string_view key) noexcept {
  const auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

inline const json::object* object_field(const json::object& o, std::string_view key) noexcept {
  const auto* v = field(o, key);
  return v ? v->if_object() : nullptr;
}

inline const json::array* array_field(const json::object& o, std::string_view key) noexcept {
  const auto* v = field(o, key);
  return v ? v->if_array() : nullptr;
}

inline std::optional<std::string_view> string_field(const json::object& o, std::string_view key) noexcept {
  const auto* v = field(o, key);
  if (!v || !v->is_string()) return std::nullopt;
  const auto& s = v->get_string();
  return std::string_view(s.data(), s.size());
}

/// A token count carried as a signed integer: a negative one counts 0.
inline std::uint64_t count_of(std::int64_t i) noexcept { return i > 0 ? static_cast<std::uint64_t>(i) : 0; }
/// A token count carried as a double: truncated; 2^64 and above saturate
/// (converting them would be undefined behaviour).
inline std::uint64_t count_of(double d) noexcept {
  if (!(d > 0) || !std::isfinite(d)) return 0;
  return d < 18446744073709551616.0 ? static_cast<std::uint64_t>(d) : ~std::uint64_t{0};
}

/// A non-negative integer token count, whatever JSON number type carried it.
inline std::uint64_t count_field(const json::object* o, std::string_view key) noexcept {
  if (!o) return 0;
  const auto* v = field(*o, key);
  if (!v) return 0;
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64()) return count_of(v->get_int64());
  if (v->is_double()) return count_of(v->get_double());
  return 0;
}

/// At most `limit` bytes of a provider-supplied message, for errors: cut at
/// a character boundary, control characters and invalid UTF-8 replaced.
inline std::string clip(std::string_view s, std::size_t limit = 200) { return printable_text(s, limit); }

/// The common {"error": {"message": ...}} / {"error": "..."} shape.
inline std::optional<decode_error> error_object(const json::object& root, std::string_view format) {
  const auto* e = field(root, "error");
  if (!e || e->is_null()) return std::nullopt;
  std::string msg = "the provider returned an error";
  if (const auto* eo = e->if_object()) {
    if (auto m = string_field(*eo, "message")) msg += ": " + clip(*m);
  } else if (const auto* es = e->if_string()) {
    msg += ": " + clip(std::string_view(es->data(), es->size()));
  }
  return decode_error{decode_errc::provider_error, std::string(format) + ": " + msg};
}

/// MIME types are pasted into data: URLs and JSON: only "image/<token>".
inline bool valid_image_mime(std::string_view m) noexcept {
  if (m.size() < 7 || m.size() > 64 || m.substr(0, 6) != "image/") return false;
  for (char c : m.substr(6))
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-')) return false;
  return true;
}

/// The offset of the first byte that does not start a well-formed UTF-8
/// sequence (overlong forms, surrogates and code points above U+10FFFF
/// included), or npos. JSON text must be UTF-8, and the writer copies bytes
/// as they are.
inline std::size_t invalid_utf8_at(std::string_view s) noexcept {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    if (n - i >= 8) {  // ASCII, eight bytes at a time: nearly every prompt
      std::uint64_t w;
      std::memcpy(&w, b + i, 8);
      if ((w & 0x8080808080808080u) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned c = b[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned lo = 0x80, hi = 0xbf;  // the second byte's range (RFC 3629, table 3-7)
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return i;
    }
    if (n - i < len || b[i + 1] < lo || b[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k)
      if ((b[i + k] & 0xc0) != 0x80) return i;
    i += len;
  }
  return std::string_view::npos;
}

}  // namespace keypool::wire::detail
