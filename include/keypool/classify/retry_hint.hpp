#pragma once
/// Parsers for every form in which providers say "come back later", and the
/// rules that keep an absurd value from being trusted blindly.
///
/// Forms: `retry-after-ms` (milliseconds), `Retry-After` (delta-seconds or an
/// HTTP-date), Gemini `RetryInfo.retryDelay` ("36s", "1.5s"), Go-style
/// durations in `x-ratelimit-reset-*` ("6m0s", "1m30s", "12ms", "6.5s",
/// "2h"), RFC 3339 timestamps (Anthropic `anthropic-ratelimit-*-reset`).
///
/// Rules: negative, non-numeric, empty or otherwise malformed values are
/// ignored (nullopt: "no hint", so the lockout policy's default applies);
/// sub-millisecond parts round up (never retry early); a time in the past
/// means "now" (0 ms); values above a cap are clamped to the cap (24 h for
/// rate limits, 31 days for quotas), never trusted as-is.

#include <chrono>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string_view>

namespace keypool::classify {

using std::chrono::milliseconds;
using sys_time = std::chrono::system_clock::time_point;

/// Longest wait a rate-limit hint may ask for (one day).
inline constexpr milliseconds max_rate_limit_hint{24LL * 3600 * 1000};
/// Longest wait a quota / usage-cap hint may ask for (31 days: a monthly cap).
inline constexpr milliseconds max_quota_hint{31LL * 24 * 3600 * 1000};

namespace detail {

/// Anything longer than this is treated as "absurdly long" before clamping,
/// so conversions cannot overflow.
inline constexpr double huge_ms = 1e13;  // ~317 years

inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

inline bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

/// Parses an unsigned decimal number ("12", "1.5", ".5" not accepted) at the
/// start of `s`; advances `s` past it.
inline std::optional<double> take_number(std::string_view& s) {
  std::size_t i = 0;
  double v = 0;
  while (i < s.size() && is_digit(s[i])) {
    v = v * 10 + (s[i] - '0');
    ++i;
  }
  if (i == 0) return std::nullopt;
  if (i < s.size() && s[i] == '.') {
    ++i;
    double scale = 0.1;
    std::size_t frac = 0;
    while (i < s.size() && is_digit(s[i])) {
      v += (s[i] - '0') * scale;
      scale /= 10;
      ++i;
      ++frac;
    }
    if (frac == 0) return std::nullopt;
  }
  s.remove_prefix(i);
  return v;
}

inline milliseconds ceil_ms(double ms) {
  if (!(ms >= 0)) return milliseconds(0);
  if (ms > huge_ms) ms = huge_ms;
  return milliseconds(static_cast<std::int64_t>(std::ceil(ms - 1e-9)));
}

/// An exactly-n-digit number at s[pos..pos+n).
inline std::optional<int> fixed_digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (!is_digit(s[i])) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

inline std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

inline bool valid_civil(int y, int mo, int d, int h, int mi, int s) noexcept {
  static constexpr int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1]) return false;
  return h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 60;  // 60: leap second
}

inline sys_time make_time(int y, int mo, int d, int h, int mi, int s, double frac = 0) {
  using namespace std::chrono;
  const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + s;
  // system_clock counts nanoseconds (about ±292 years around 1970): a later
  // date saturates, a day short of the end so callers can still subtract a
  // UTC offset, instead of overflowing. Hints are clamped to a cap anyway.
  constexpr std::int64_t max_secs = duration_cast<seconds>(system_clock::duration::max()).count() - 86400;
  if (secs > max_secs) return sys_time(duration_cast<system_clock::duration>(seconds(max_secs)));
  return sys_time(
      duration_cast<system_clock::duration>(seconds(secs) + microseconds(static_cast<std::int64_t>(frac * 1e6))));
}

inline int month_index(std::string_view m) noexcept {
  static constexpr std::string_view names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i)
    if (names[i] == m) return i + 1;
  return 0;
}

}  // namespace detail

/// Time from `now` until `when`; 0 when `when` has passed.
inline milliseconds until(sys_time when, sys_time now) {
  if (when <= now) return milliseconds(0);
  return std::chrono::ceil<milliseconds>(when - now);
}

/// Caps a hint at `cap`; nullopt stays nullopt.
inline std::optional<milliseconds> clamp_hint(std::optional<milliseconds> hint, milliseconds cap) {
  if (!hint) return hint;
  if (*hint < milliseconds(0)) return std::nullopt;
  return *hint > cap ? cap : *hint;
}

/// `retry-after-ms: 1500` (a decimal like "1500.5" is accepted).
inline std::optional<milliseconds> parse_retry_after_ms(std::string_view v) {
  v = detail::trim(v);
  const auto n = detail::take_number(v);
  if (!n || !v.empty()) return std::nullopt;
  return detail::ceil_ms(*n);
}

/// RFC 7231 HTTP-date in its preferred IMF-fixdate form
/// ("Sun, 06 Nov 1994 08:49:37 GMT"); also the obsolete RFC 850
/// ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994")
/// forms that RFC 7231 asks recipients to accept.
inline std::optional<sys_time> parse_http_date(std::string_view v) {
  v = detail::trim(v);
  using detail::fixed_digits;
  const auto comma = v.find(',');
  if (comma == 3 && v.size() == 29) {  // IMF-fixdate
    if (v[4] != ' ' || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' || v[19] != ':' || v[22] != ':' ||
        v.substr(25) != " GMT")
      return std::nullopt;
    const auto d = fixed_digits(v, 5, 2), y = fixed_digits(v, 12, 4), h = fixed_digits(v, 17, 2),
               mi = fixed_digits(v, 20, 2), s = fixed_digits(v, 23, 2);
    const int mo = detail::month_index(v.substr(8, 3));
    if (!d || !y || !h || !mi || !s || !mo || !detail::valid_civil(*y, mo, *d, *h, *mi, *s)) return std::nullopt;
    return detail::make_time(*y, mo, *d, *h, *mi, *s);
  }
  if (comma != std::string_view::npos && comma > 3) {  // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
    const auto r = v.substr(comma + 1);
    if (r.size() != 23 || r[0] != ' ' || r[3] != '-' || r[7] != '-' || r[10] != ' ' || r[13] != ':' || r[16] != ':' ||
        r.substr(19) != " GMT")
      return std::nullopt;
    const auto d = fixed_digits(r, 1, 2), yy = fixed_digits(r, 8, 2), h = fixed_digits(r, 11, 2),
               mi = fixed_digits(r, 14, 2), s = fixed_digits(r, 17, 2);
    const int mo = detail::month_index(r.substr(4, 3));
    if (!d || !yy || !h || !mi || !s || !mo) return std::nullopt;
    const int y = *yy < 70 ? 2000 + *yy : 1900 + *yy;  // RFC 7231 7.1.1.1: assume the nearer century
    if (!detail::valid_civil(y, mo, *d, *h, *mi, *s)) return std::nullopt;
    return detail::make_time(y, mo, *d, *h, *mi, *s);
  }
  if (comma == std::string_view::npos && v.size() == 24) {  // asctime
    if (v[3] != ' ' || v[7] != ' ' || v[10] != ' ' || v[13] != ':' || v[16] != ':' || v[19] != ' ') return std::nullopt;
    const int mo = detail::month_index(v.substr(4, 3));
    const char d0 = v[8] == ' ' ? '0' : v[8];
    if (!detail::is_digit(d0) || !detail::is_digit(v[9])) return std::nullopt;
    const int d = (d0 - '0') * 10 + (v[9] - '0');
    const auto h = fixed_digits(v, 11, 2), mi = fixed_digits(v, 14, 2), s = fixed_digits(v, 17, 2),
               y = fixed_digits(v, 20, 4);
    if (!h || !mi || !s || !y || !mo || !detail::valid_civil(*y, mo, d, *h, *mi, *s)) return std::nullopt;
    return detail::make_time(*y, mo, d, *h, *mi, *s);
  }
  return std::nullopt;
}

/// `Retry-After`: delta-seconds ("120"; a decimal is tolerated) or an
/// HTTP-date, relative to `now`. A date in the past yields 0.
inline std::optional<milliseconds> parse_retry_after(std::string_view v, sys_time now) {
  v = detail::trim(v);
  if (v.empty()) return std::nullopt;
  if (detail::is_digit(v.front())) {
    auto rest = v;
    const auto n = detail::take_number(rest);
    if (!n || !rest.empty()) return std::nullopt;
    return detail::ceil_ms(*n * 1000.0);
  }
  if (auto t = parse_http_date(v)) return until(*t, now);
  return std::nullopt;  // "-5", "soon", ...
}

/// Go-style duration as in `x-ratelimit-reset-requests`: one or more
/// number+unit pairs, units h, m, s, ms, us (or µs), ns: "6m0s", "1m30s",
/// "12ms", "6.5s", "2h", "1h2m3.5s". A bare "0" is accepted.
inline std::optional<milliseconds> parse_duration(std::string_view v) {
  v = detail::trim(v);
  if (v == "0") return milliseconds(0);
  if (v.empty()) return std::nullopt;
  double total = 0;
  while (!v.empty()) {
    const auto n = detail::take_number(v);
    if (!n) return std::nullopt;
    double unit = 0;
    if (v.substr(0, 2) == "ms")
      unit = 1, v.remove_prefix(2);
    else if (v.substr(0, 2) == "us")
      unit = 1e-3, v.remove_prefix(2);
    else if (v.substr(0, 3) == "\xC2\xB5s")
      unit = 1e-3, v.remove_prefix(3);
    else if (v.substr(0, 2) == "ns")
      unit = 1e-6, v.remove_prefix(2);
    else if (v.substr(0, 1) == "h")
      unit = 3600e3, v.remove_prefix(1);
    else if (v.substr(0, 1) == "m")
      unit = 60e3, v.remove_prefix(1);
    else if (v.substr(0, 1) == "s")
      unit = 1e3, v.remove_prefix(1);
    else
      return std::nullopt;
    total += *n * unit;
    if (total > detail::huge_ms) total = detail::huge_ms;
  }
  return detail::ceil_ms(total);
}

/// Gemini `RetryInfo.retryDelay`, a protobuf Duration in JSON: decimal
/// seconds with an "s" suffix ("36s", "1.5s", "0.000500s"). Go-style
/// durations are accepted too, since proxies rewrite them.
inline std::optional<milliseconds> parse_proto_duration(std::string_view v) { return parse_duration(v); }

/// RFC 3339 timestamp: "2026-11-26T10:00:30Z", "2026-11-26T10:00:30.5+01:00"
/// (a space instead of 'T' and a lower-case 'z' are accepted).
inline std::optional<sys_time> parse_rfc3339(std::string_view v) {
  v = detail::trim(v);
  using detail::fixed_digits;
  if (v.size() < 20 || v[4] != '-' || v[7] != '-' || (v[10] != 'T' && v[10] != 't' && v[10] != ' ') || v[13] != ':' ||
      v[16] != ':')
    return std::nullopt;
  const auto y = fixed_digits(v, 0, 4), mo = fixed_digits(v, 5, 2), d = fixed_digits(v, 8, 2),
             h = fixed_digits(v, 11, 2), mi = fixed_digits(v, 14, 2), s = fixed_digits(v, 17, 2);
  if (!y || !mo || !d || !h || !mi || !s || !detail::valid_civil(*y, *mo, *d, *h, *mi, *s)) return std::nullopt;
  std::size_t i = 19;
  double frac = 0;
  if (i < v.size() && v[i] == '.') {
    ++i;
    double scale = 0.1;
    const std::size_t start = i;
    while (i < v.size() && detail::is_digit(v[i])) {
      frac += (v[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == start) return std::nullopt;
  }
  if (i >= v.size()) return std::nullopt;
  int offset_min = 0;
  if (v[i] == 'Z' || v[i] == 'z') {
    ++i;
  } else if (v[i] == '+' || v[i] == '-') {
    const auto oh = fixed_digits(v, i + 1, 2), om = fixed_digits(v, i + 4, 2);
    if (!oh || !om || i + 3 >= v.size() || v[i + 3] != ':' || *oh > 23 || *om > 59) return std::nullopt;
    offset_min = (*oh * 60 + *om) * (v[i] == '-' ? -1 : 1);
    i += 6;
  } else {
    return std::nullopt;
  }
  if (i != v.size()) return std::nullopt;
  return detail::make_time(*y, *mo, *d, *h, *mi, *s, frac) - std::chrono::minutes(offset_min);
}

/// "YYYY-MM-DD HH:MM:SS" local time at a fixed UTC offset (Z.AI prints its
/// reset times this way, in Beijing time, without an offset).
inline std::optional<sys_time> parse_local_datetime(std::string_view v, std::chrono::minutes utc_offset) {
  using detail::fixed_digits;
  if (v.size() < 19 || v[4] != '-' || v[7] != '-' || (v[10] != ' ' && v[10] != 'T') || v[13] != ':' || v[16] != ':')
    return std::nullopt;
  const auto y = fixed_digits(v, 0, 4), mo = fixed_digits(v, 5, 2), d = fixed_digits(v, 8, 2),
             h = fixed_digits(v, 11, 2), mi = fixed_digits(v, 14, 2), s = fixed_digits(v, 17, 2);
  if (!y || !mo || !d || !h || !mi || !s || !detail::valid_civil(*y, *mo, *d, *h, *mi, *s)) return std::nullopt;
  return detail::make_time(*y, *mo, *d, *h, *mi, *s) - utc_offset;
}

/// Finds "try again in 1m26.4s" / "retry in 20.04s" in a provider's
/// error message (Groq, OpenAI and Gemini put the delay there too).
inline std::optional<milliseconds> duration_in_message(std::string_view msg) {
  for (std::string_view marker : {"try again in ", "retry in ", "Try again in ", "Retry in "}) {
    const auto p = msg.find(marker);
    if (p == std::string_view::npos) continue;
    auto rest = msg.substr(p + marker.size());
    std::size_t n = 0;
    while (n < rest.size() && (detail::is_digit(rest[n]) || rest[n] == '.' || rest[n] == 'h' || rest[n] == 'm' ||
                               rest[n] == 's' || rest[n] == 'u' || rest[n] == 'n'))
      ++n;
    auto token = rest.substr(0, n);
    while (!token.empty() && token.back() == '.') token.remove_suffix(1);  // sentence end
    if (auto d = parse_duration(token)) return d;
  }
  return std::nullopt;
}

}  // namespace keypool::classify
