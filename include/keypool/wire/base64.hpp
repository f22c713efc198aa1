#pragma once
/// Standard base64 (RFC 4648 section 4, with padding): how every provider
/// wants image bytes. Encoding runs once per image per attempt: a table
/// loop, two characters per lookup, six bytes per step, into a buffer sized
/// up front.

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace keypool::wire::base64 {

constexpr std::size_t encoded_size(std::size_t n) noexcept { return (n + 2) / 3 * 4; }

namespace detail {

inline constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The two characters of every 12-bit group: two lookups per 3 input bytes
/// instead of four (an image of 500 KiB is 680 K characters).
struct pair_table {
  char c[4096][2];
  constexpr pair_table() : c{} {
    for (int i = 0; i < 4096; ++i) {
      c[i][0] = alphabet[i >> 6];
      c[i][1] = alphabet[i & 63];
    }
  }
};
inline constexpr pair_table pairs{};

/// Eight bytes as a big-endian number: one load and a byte swap (GCC and
/// Clang do not recognise the portable shifts as one).
inline std::uint64_t load_be64(const unsigned char* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::little) {
#if defined(__GNUC__) || defined(__clang__)
    v = __builtin_bswap64(v);
#else
    std::uint64_t r = 0;
    for (int k = 0; k < 8; ++k) r = (r << 8) | ((v >> (8 * k)) & 0xff);
    v = r;
#endif
  }
  return v;
}

}  // namespace detail

/// Writes the encoding of `bytes` to `o`, which has room for
/// encoded_size(bytes.size()) characters.
inline void encode_into(char* o, std::string_view bytes) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  // Six bytes (four 12-bit groups) per step from one 8-byte big-endian read:
  // a quarter to a third faster than the three-byte loop below
  // (docs/benchmarks.md). Its last two bytes are read, not used, hence
  // `i + 8`.
  for (; i + 8 <= bytes.size(); i += 6, o += 8) {
    const std::uint64_t v = detail::load_be64(p + i);
    std::memcpy(o, detail::pairs.c[v >> 52], 2);
    std::memcpy(o + 2, detail::pairs.c[(v >> 40) & 0xfff], 2);
    std::memcpy(o + 4, detail::pairs.c[(v >> 28) & 0xfff], 2);
    std::memcpy(o + 6, detail::pairs.c[(v >> 16) & 0xfff], 2);
  }
  for (; i + 3 <= bytes.size(); i += 3, o += 4) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    std::memcpy(o, detail::pairs.c[v >> 12], 2);
    std::memcpy(o + 2, detail::pairs.c[v & 0xfff], 2);
  }
  if (const auto rest = bytes.size() - i; rest != 0) {
    std::uint32_t v = std::uint32_t{p[i]} << 16;
    if (rest == 2) v |= std::uint32_t{p[i + 1]} << 8;
    *o++ = detail::alphabet[(v >> 18) & 63];
    *o++ = detail::alphabet[(v >> 12) & 63];
    *o++ = rest == 2 ? detail::alphabet[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
}

/// Appends the encoding of `bytes` to `out` (so a data: URL prefix and the
/// payload share one buffer).
template <class String>
void encode_to(String& out, std::string_view bytes) {
  const std::size_t start = out.size();
  out.resize(start + encoded_size(bytes.size()));
  encode_into(out.data() + start, bytes);
}

inline std::string encode(std::string_view bytes) {
  std::string out;
  encode_to(out, bytes);
  return out;
}

/// Decodes padded or unpadded base64; empty optional on any invalid
/// character or length (no whitespace skipping: wire payloads have none).
inline std::optional<std::string> decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 == 0 && !text.empty()) {
    if (text.back() == '=') text.remove_suffix(1);
    if (text.back() == '=') text.remove_suffix(1);
  }
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    const int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace keypool::wire::base64
