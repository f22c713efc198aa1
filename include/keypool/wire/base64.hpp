#pragma once
/// Standard base64 (RFC 4648 section 4, with padding): how every provider
/// wants image bytes. Encoding runs once per image per attempt, into a
/// buffer sized up front: on x86 with SSSE3 (checked at run time) twelve
/// bytes per step in SSE registers, elsewhere and for the tail a table loop,
/// two characters per lookup, six bytes per step.

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define KEYPOOL_BASE64_SSSE3 1
#else
#define KEYPOOL_BASE64_SSSE3 0
#endif

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

#if KEYPOOL_BASE64_SSSE3
/// Whether this CPU runs encode_ssse3 (every x86-64 CPU since about 2008).
inline bool has_ssse3() noexcept {
  static const bool yes = __builtin_cpu_supports("ssse3");
  return yes;
}

/// Twelve input bytes to sixteen characters per step (W. Muła's pshufb
/// method): spread the bytes so each 32-bit lane holds one 24-bit group,
/// cut out the four 6-bit indices with two multiplies, then map each index
/// to its character by adding an offset looked up by its range. Reads 16
/// bytes per step, so it stops 16 bytes before the end; returns the input
/// bytes it consumed (a multiple of 3). About three times fewer
/// instructions than the table loop (docs/benchmarks.md).
[[gnu::target("ssse3")]] inline std::size_t encode_ssse3(char* o, const unsigned char* p, std::size_t n) noexcept {
  const __m128i spread = _mm_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1);
  // Offset from index to character: 0-25 'A', 26-51 'a', 52-61 '0', 62 '+', 63 '/'.
  const __m128i offsets = _mm_setr_epi8('a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
                                        '0' - 52, '0' - 52, '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
  std::size_t i = 0;
  for (; i + 16 <= n; i += 12, o += 16) {
    const __m128i in = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)), spread);
    const __m128i hi = _mm_mulhi_epu16(_mm_and_si128(in, _mm_set1_epi32(0x0fc0fc00)), _mm_set1_epi32(0x04000040));
    const __m128i lo = _mm_mullo_epi16(_mm_and_si128(in, _mm_set1_epi32(0x003f03f0)), _mm_set1_epi32(0x01000010));
    const __m128i idx = _mm_or_si128(hi, lo);
    // Range number: 0 for 26-51, 1-10 for 52-61, 11 / 12 for 62 / 63, 13 for 0-25.
    __m128i range = _mm_subs_epu8(idx, _mm_set1_epi8(51));
    range = _mm_or_si128(range, _mm_and_si128(_mm_cmpgt_epi8(_mm_set1_epi8(26), idx), _mm_set1_epi8(13)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(o), _mm_add_epi8(idx, _mm_shuffle_epi8(offsets, range)));
  }
  return i;
}
#endif

}  // namespace detail

/// Writes the encoding of `bytes` to `o`, which has room for
/// encoded_size(bytes.size()) characters.
inline void encode_into(char* o, std::string_view bytes) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
#if KEYPOOL_BASE64_SSSE3
  if (bytes.size() >= 16 && detail::has_ssse3()) {
    i = detail::encode_ssse3(o, p, bytes.size());
    o += i / 3 * 4;
  }
#endif
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
