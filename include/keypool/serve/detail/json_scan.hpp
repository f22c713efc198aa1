#pragma once
/// A small scanner over a JSON request body's top level: finds a member's
/// value (`"model"`, `"stream"`) and replaces it without decoding and
/// re-encoding the rest, so a pass-through body reaches the provider byte
/// for byte as the caller sent it, one field aside.
///
/// It checks the structure it walks (an object of string keys, balanced
/// brackets, terminated strings) but not every value's grammar: the
/// provider's own parser judges that, and its 400 reaches the caller.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace keypool::serve::detail {

/// A top-level member: its key (raw, unescaped bytes) and value (raw JSON).
struct json_member {
  std::string_view key;
  std::string_view value;  ///< the raw JSON text of the value
  std::size_t value_pos = 0;
};

class json_scanner {
 public:
  explicit json_scanner(std::string_view s) noexcept : s_(s) {}

  /// Walks the top-level object, calling f(member) for each; false when the
  /// body is not one JSON object (error() says where).
  template <class F>
  bool each_member(F&& f) {
    skip_ws();
    if (!eat('{')) return fail("the body is not a JSON object");
    skip_ws();
    if (eat('}')) return end();
    for (;;) {
      skip_ws();
      const std::size_t k = i_;
      if (!skip_string()) return fail("expected a member name");
      const auto key = s_.substr(k + 1, i_ - k - 2);
      skip_ws();
      if (!eat(':')) return fail("expected ':' after a member name");
      skip_ws();
      const std::size_t v = i_;
      if (!skip_value()) return false;
      f(json_member{key, s_.substr(v, i_ - v), v});
      skip_ws();
      if (eat('}')) return end();
      if (!eat(',')) return fail("expected ',' or '}' between members");
    }
  }

  const std::string& error() const noexcept { return error_; }

 private:
  bool end() {
    skip_ws();
    return i_ == s_.size() || fail("unexpected bytes after the JSON object");
  }
  bool fail(std::string_view what) {
    if (error_.empty()) error_ = std::string(what) + " (at byte " + std::to_string(i_) + ")";
    return false;
  }
  bool eat(char c) noexcept {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void skip_ws() noexcept {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  bool skip_string() noexcept {
    if (!eat('"')) return false;
    while (i_ < s_.size()) {
      const char c = s_[i_++];
      if (c == '"') return true;
      if (c == '\\')
        ++i_;
      else if (static_cast<unsigned char>(c) < 0x20)
        return false;
    }
    return false;
  }
  /// A value: a string, a balanced object or array, or a literal/number.
  bool skip_value() {
    if (i_ >= s_.size()) return fail("the body ends where a value should be");
    if (s_[i_] == '"') return skip_string() || fail("unterminated string");
    if (s_[i_] == '{' || s_[i_] == '[') return skip_nested();
    const std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']' && s_[i_] != ' ' && s_[i_] != '\n' &&
           s_[i_] != '\r' && s_[i_] != '\t')
      ++i_;
    return i_ > start || fail("expected a value");
  }
  bool skip_nested() {
    std::string stack;
    while (i_ < s_.size()) {
      const char c = s_[i_];
      if (c == '"') {
        if (!skip_string()) return fail("unterminated string");
        continue;
      }
      ++i_;
      if (c == '{' || c == '[')
        stack.push_back(c == '{' ? '}' : ']');
      else if (c == '}' || c == ']') {
        if (stack.empty() || stack.back() != c) return fail("unbalanced brackets");
        stack.pop_back();
        if (stack.empty()) return true;
      }
    }
    return fail("the body ends inside an object or array");
  }

  std::string_view s_;
  std::size_t i_ = 0;
  std::string error_;
};

/// What the gateway needs of a chat request body, found in one pass.
struct body_facts {
  std::optional<json_member> model;  ///< the "model" member, if any
  bool stream = false;               ///< "stream": true at the top level
  std::string error{};               ///< not empty: the body is not a JSON object
};

inline body_facts scan_body(std::string_view body) {
  body_facts out;
  json_scanner sc(body);
  const bool ok = sc.each_member([&](const json_member& m) {
    if (m.key == "model")
      out.model = m;
    else if (m.key == "stream")
      out.stream = m.value == "true";
  });
  if (!ok) out.error = sc.error();
  return out;
}

/// The JSON string literal of `s` (quotes included), escaping what JSON
/// requires.
inline std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\u00";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

/// `body` with the model member's value replaced by the string `model`
/// (inserted first when the body has none); every other byte as sent.
inline std::string with_model(std::string_view body, const body_facts& f, std::string_view model) {
  const std::string q = json_quote(model);
  std::string out;
  if (f.model) {
    out.reserve(body.size() + q.size());
    out.append(body.substr(0, f.model->value_pos));
    out += q;
    out.append(body.substr(f.model->value_pos + f.model->value.size()));
    return out;
  }
  const auto brace = body.find('{');
  out.reserve(body.size() + q.size() + 10);
  out.append(body.substr(0, brace + 1));
  out += "\"model\":" + q;
  // An empty object gets no comma.
  const auto rest = body.substr(brace + 1);
  const auto next = rest.find_first_not_of(" \t\r\n");
  if (next != std::string_view::npos && rest[next] != '}') out += ',';
  out.append(rest);
  return out;
}

/// The string value of a raw JSON string without escapes; nullopt for
/// anything else (a model name with escapes is not one keypool routes).
inline std::optional<std::string_view> plain_string(std::string_view raw) noexcept {
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return std::nullopt;
  const auto inner = raw.substr(1, raw.size() - 2);
  if (inner.find('\\') != std::string_view::npos) return std::nullopt;
  return inner;
}

}  // namespace keypool::serve::detail
