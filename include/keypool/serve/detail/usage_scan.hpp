#pragma once
/// Token counts for the access log, read from an answer as it passes by
/// without decoding it: every `"usage":{...}` object in the bytes (a JSON
/// answer's, or the events of a stream, whose last usage holds the totals)
/// gives prompt_tokens / input_tokens and completion_tokens / output_tokens;
/// a later value replaces an earlier one, field by field (Anthropic streams
/// send input_tokens first and output_tokens at the end).

#include <keypool/serve/detail/json_scan.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace keypool::serve::detail {

class usage_scan {
 public:
  /// Scans one piece of the answer (pieces in order; an object may span two).
  void feed(std::string_view piece) {
    if (carry_.empty()) return scan(piece);
    std::string text = std::move(carry_);
    carry_.clear();
    text.append(piece);
    scan(text);
  }

  std::optional<std::uint64_t> input() const noexcept { return input_; }
  std::optional<std::uint64_t> output() const noexcept { return output_; }

 private:
  static constexpr std::string_view tag = "\"usage\"";
  static constexpr std::size_t max_object = 2048;  ///< a usage object is far shorter; beyond: not one

  void scan(std::string_view text) {
    std::size_t from = 0;
    for (;;) {
      const auto at = text.find(tag, from);
      if (at == std::string_view::npos) break;
      const auto end = object_end(text, at + tag.size());
      if (end == incomplete) {
        if (text.size() - at <= max_object) carry_.assign(text.substr(at));
        return;
      }
      from = at + tag.size();
      if (end != std::string_view::npos) read_object(text.substr(from, end - from));
    }
    // The tag itself may be split: keep a tail shorter than it.
    const auto keep = std::min(text.size(), tag.size() - 1);
    carry_.assign(text.substr(text.size() - keep));
  }

  static constexpr std::size_t incomplete = std::string_view::npos - 1;

  /// One past the `}` closing the object after `"usage"` at `i`; npos when
  /// the value is not an object (null), `incomplete` when the text ends first.
  static std::size_t object_end(std::string_view t, std::size_t i) noexcept {
    while (i < t.size() && (t[i] == ' ' || t[i] == ':' || t[i] == '\n' || t[i] == '\r' || t[i] == '\t')) ++i;
    if (i >= t.size()) return incomplete;
    if (t[i] != '{') return std::string_view::npos;
    int depth = 0;
    bool in_string = false;
    for (; i < t.size(); ++i) {
      const char c = t[i];
      if (in_string) {
        if (c == '\\')
          ++i;
        else if (c == '"')
          in_string = false;
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{') {
        ++depth;
      } else if (c == '}' && --depth == 0) {
        return i + 1;
      }
    }
    return incomplete;
  }

  /// `: {...}` (the text after the tag up to the object's end).
  void read_object(std::string_view after_tag) {
    const auto brace = after_tag.find('{');
    json_scanner sc(after_tag.substr(brace));
    sc.each_member([this](const json_member& m) {
      std::uint64_t n = 0;
      const auto* b = m.value.data();
      if (std::from_chars(b, b + m.value.size(), n).ec != std::errc{}) return;
      if (m.key == "prompt_tokens" || m.key == "input_tokens") input_ = n;
      if (m.key == "completion_tokens" || m.key == "output_tokens") output_ = n;
    });
  }

  std::string carry_;
  std::optional<std::uint64_t> input_;
  std::optional<std::uint64_t> output_;
};

}  // namespace keypool::serve::detail
