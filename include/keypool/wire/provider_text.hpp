#pragma once
/// Text that came from a provider's server, made safe to keep and print:
/// the one place for masking an echoed secret (whole, cut or partial) and for
/// cutting and cleaning provider messages (no terminal control sequences, no
/// split or invalid UTF-8 in JSON output). docs/security.md says where each
/// is applied.

#include <algorithm>
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::wire {

/// The shortest run of a secret's characters that is masked wherever it
/// appears: shorter runs occur by chance in ordinary text.
inline constexpr std::size_t secret_run_min = 8;

namespace detail {

inline std::uint64_t load8(const char* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);
  return w;
}

inline unsigned pair_index(const char* p) noexcept {
  return static_cast<unsigned char>(p[0]) | (static_cast<unsigned>(static_cast<unsigned char>(p[1])) << 8);
}

/// The spans [begin, end) of `text` covered by some 8-character run of
/// `secret`, merged, outside the occurrences of `mask`. One pass over the
/// text: each position is checked against a bitmap of the secret's
/// two-character prefixes, then its 8 bytes against the secret's sorted runs.
inline std::vector<std::pair<std::size_t, std::size_t>> secret_runs(std::string_view text, std::string_view secret,
                                                                    std::string_view mask) {
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  if (secret.size() < secret_run_min || text.size() < secret_run_min) return spans;
  std::vector<std::uint64_t> grams;
  const auto pairs = std::make_unique<std::bitset<65536>>();
  for (std::size_t j = 0; j + secret_run_min <= secret.size(); ++j) {
    grams.push_back(load8(secret.data() + j));
    pairs->set(pair_index(secret.data() + j));
  }
  std::sort(grams.begin(), grams.end());
  // The mask may quote a vendor prefix ("sk-proj-"): it is not an echo.
  std::size_t masked_at = mask.empty() ? std::string_view::npos : text.find(mask);
  for (std::size_t i = 0; i + secret_run_min <= text.size(); ++i) {
    while (masked_at != std::string_view::npos && masked_at + mask.size() <= i)
      masked_at = text.find(mask, masked_at + mask.size());
    if (masked_at != std::string_view::npos && masked_at < i + secret_run_min) {
      i = masked_at + mask.size() - 1;
      continue;
    }
    if (!pairs->test(pair_index(text.data() + i))) continue;
    if (!std::binary_search(grams.begin(), grams.end(), load8(text.data() + i))) continue;
    if (!spans.empty() && i <= spans.back().second)
      spans.back().second = i + secret_run_min;
    else
      spans.emplace_back(i, i + secret_run_min);
  }
  return spans;
}

/// The length of the well-formed UTF-8 sequence at s[i] (RFC 3629), or 0.
inline std::size_t utf8_length_at(std::string_view s, std::size_t i) noexcept {
  const auto* b = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned c = b[i];
  if (c < 0x80) return 1;
  std::size_t len = 0;
  unsigned lo = 0x80, hi = 0xbf;
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
    return 0;
  }
  if (s.size() - i < len || b[i + 1] < lo || b[i + 1] > hi) return 0;
  for (std::size_t k = 2; k < len; ++k)
    if ((b[i + k] & 0xc0) != 0x80) return 0;
  return len;
}

}  // namespace detail

/// `text` with every occurrence of `secret`, and every run of 8 or more of
/// its consecutive characters (an echo cut short, or a partial one),
/// replaced by `mask` (the key's redacted form). A secret shorter than 8
/// characters is masked only whole.
inline std::string scrub_secret(std::string text, std::string_view secret, std::string_view mask) {
  if (secret.empty()) return text;
  if (secret.size() < secret_run_min) {
    for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + mask.size()))
      text.replace(at, secret.size(), mask);
    return text;
  }
  const auto spans = detail::secret_runs(text, secret, mask);
  if (spans.empty()) return text;
  std::string out;
  out.reserve(text.size());
  std::size_t from = 0;
  for (const auto& [b, e] : spans) {
    out.append(text, from, b - from);
    out += mask;
    from = e;
  }
  out.append(text, from, std::string::npos);
  return out;
}

/// Shown instead of a control character or a byte that is not UTF-8.
inline constexpr std::string_view replacement_character = "\xEF\xBF\xBD";  // U+FFFD

/// At most `limit` bytes of provider text, cut at a character boundary, with
/// "..." when cut. Control characters (C0, DEL, and C1 as U+0080-U+009F) and
/// bytes that are not well-formed UTF-8 become U+FFFD, so a server cannot
/// drive the terminal ("ESC ] 0;", "ESC [2J") or break JSON output.
inline std::string printable_text(std::string_view s, std::size_t limit = std::string_view::npos) {
  std::string out;
  out.reserve(std::min(s.size(), limit));
  std::size_t i = 0;
  while (i < s.size()) {
    const std::size_t len = detail::utf8_length_at(s, i);
    const auto c = static_cast<unsigned char>(s[i]);
    const bool control = (len == 1 && (c < 0x20 || c == 0x7f)) ||
                         (len == 2 && c == 0xc2 && static_cast<unsigned char>(s[i + 1]) <= 0x9f);
    const std::string_view piece = (len == 0 || control) ? replacement_character : s.substr(i, len);
    if (out.size() + piece.size() > limit) break;
    out += piece;
    i += len == 0 ? 1 : len;
  }
  if (i < s.size()) out += "...";
  return out;
}

}  // namespace keypool::wire
