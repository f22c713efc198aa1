#pragma once
/// Writes JSON text straight into a string. A request body is a small fixed
/// shape around a few texts and a base64 payload: building a Boost.JSON tree
/// and serializing it cost more than the writing itself. Strings are escaped
/// as Boost.JSON's serializer escapes them, so the text is the same.

#include <keypool/wire/base64.hpp>

#include <charconv>
#include <cmath>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace keypool::wire::detail {

class json_writer {
 public:
  /// Appends to `out`; reserve it first (size_hint) to write without growing.
  explicit json_writer(std::string& out) noexcept : out_(out) {}

  json_writer& begin_object() { return open('{'); }
  json_writer& end_object() { return close('}'); }
  json_writer& begin_array() { return open('['); }
  json_writer& end_array() { return close(']'); }

  /// An object member's name; its value is written next.
  json_writer& key(std::string_view k) {
    begin_string().text(k);
    out_ += "\":";
    need_comma_ = false;
    return *this;
  }

  json_writer& value(std::string_view s) { return begin_string().text(s).end_string(); }
  json_writer& value(const char* s) { return value(std::string_view(s)); }
  json_writer& value(bool b) {
    comma();
    out_ += b ? "true" : "false";
    return done();
  }
  template <std::unsigned_integral T>
  json_writer& value(T n) {
    comma();
    char buf[24];
    out_.append(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
    return done();
  }
  template <std::signed_integral T>
  json_writer& value(T n) {
    comma();
    char buf[24];
    out_.append(buf, std::to_chars(buf, buf + sizeof buf, n).ptr);
    return done();
  }
  json_writer& null() {
    comma();
    out_ += "null";
    return done();
  }
  /// A value given as JSON text the caller has validated (a tool's schema,
  /// a call's arguments): copied as is.
  json_writer& raw(std::string_view json) {
    comma();
    out_ += json;
    return done();
  }
  /// The members of a JSON object text `{...}` the caller has validated,
  /// spliced into the object being written (openai_chat's `extra`).
  json_writer& raw_members(std::string_view object_json) {
    const auto open = object_json.find('{'), close = object_json.rfind('}');
    const auto inner = object_json.substr(open + 1, close - open - 1);
    if (inner.find_first_not_of(" \t\r\n") == std::string_view::npos) return *this;
    comma();
    out_ += inner;
    return done();
  }

  /// The shortest text that reads back as the same double; NaN and the
  /// infinities, which JSON cannot express, as null.
  json_writer& value(double d) {
    comma();
    if (!std::isfinite(d)) {
      out_ += "null";
      return done();
    }
    char buf[32];
    out_.append(buf, std::to_chars(buf, buf + sizeof buf, d).ptr);
    return done();
  }

  /// A string value written in pieces (a data: URL around a base64 payload):
  /// begin_string(), then text() and base64() in any order, end_string().
  json_writer& begin_string() {
    comma();
    out_ += '"';
    return *this;
  }
  /// Inside a string: `s`, escaped.
  json_writer& text(std::string_view s) {
    escape(s);
    return *this;
  }
  /// Inside a string: the base64 of `bytes`, encoded in place.
  json_writer& base64(std::string_view bytes) {
    base64::encode_to(out_, bytes);
    return *this;
  }
  json_writer& end_string() {
    out_ += '"';
    return done();
  }

 private:
  void comma() {
    if (need_comma_) out_ += ',';
  }
  json_writer& open(char c) {
    comma();
    out_ += c;
    need_comma_ = false;
    return *this;
  }
  json_writer& close(char c) {
    out_ += c;
    return done();
  }
  json_writer& done() noexcept {
    need_comma_ = true;
    return *this;
  }

  /// `"`, `\` and the control characters escaped; every other byte, UTF-8
  /// included, as is (Boost.JSON's rules). Eight bytes at a time skip over
  /// text with nothing to escape (nearly all of it).
  void escape(std::string_view s) {
    const auto* b = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t run = 0;  // the first byte not yet copied
    std::size_t i = 0;
    while (i < n) {
      if (n - i >= 8 && !any_special(load8(b + i))) {
        i += 8;
        continue;
      }
      const unsigned char c = b[i++];
      if (c >= 0x20 && c != '"' && c != '\\') continue;
      out_.append(s.data() + run, i - 1 - run);
      run = i;
      switch (c) {
        case '"': out_ += "\\\""; break;
        case '\\': out_ += "\\\\"; break;
        case '\b': out_ += "\\b"; break;
        case '\f': out_ += "\\f"; break;
        case '\n': out_ += "\\n"; break;
        case '\r': out_ += "\\r"; break;
        case '\t': out_ += "\\t"; break;
        default: {
          static constexpr char hex[] = "0123456789abcdef";
          const char u[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
          out_.append(u, sizeof u);
        }
      }
    }
    out_.append(s.data() + run, n - run);
  }

  static std::uint64_t load8(const unsigned char* p) noexcept {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    return w;
  }
  /// Whether any of the eight bytes in `w` is below 0x20, '"' or '\\'
  /// (exact for "any", the classic has-less / has-zero byte tricks).
  static bool any_special(std::uint64_t w) noexcept {
    constexpr std::uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    const auto zero_byte = [](std::uint64_t v) { return (v - ones) & ~v & high; };
    return (((w - ones * 0x20) & ~w & high) | zero_byte(w ^ (ones * '"')) | zero_byte(w ^ (ones * '\\'))) != 0;
  }

  std::string& out_;
  bool need_comma_ = false;  ///< a value ended at this level: the next one needs a comma
};

}  // namespace keypool::wire::detail
