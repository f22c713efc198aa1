/// libFuzzer target: every duration, date and retry-after parser in
/// keypool/classify/retry_hint.hpp, plus clamp_hint and until.
///
/// Input: byte 0 → a UTC offset for parse_local_datetime and a cap for
/// clamp_hint; the rest is the header value / message text.
///
/// Invariants: no exception, no UB (UBSan); parsed durations are never
/// negative and never beyond the "absurd" bound the parsers clamp to; dates
/// fall in 1970 (less a day of offset) .. the end of system_clock's range,
/// far dates saturating instead of overflowing;
/// until() is never negative; clamp_hint never exceeds its cap; a value that
/// parses as retry-after-ms parses the same with surrounding blanks.

#include "fuzz_check.hpp"

#include <keypool/classify/retry_hint.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

namespace cl = keypool::classify;
using std::chrono::milliseconds;

constexpr auto huge = milliseconds(static_cast<std::int64_t>(cl::detail::huge_ms));
const cl::sys_time now{std::chrono::seconds(1795687200)};  // 2026-11-26T10:00:00Z
/// In seconds since the epoch: 1969-12-31 (a +23:59 offset on 1970-01-01)
/// up to where system_clock's nanoseconds end (dates beyond saturate).
constexpr std::int64_t earliest = -86400;
constexpr std::int64_t latest = std::chrono::duration_cast<std::chrono::seconds>(cl::sys_time::duration::max()).count();

void check_duration(std::optional<milliseconds> d, const char* what) {
  if (!d) return;
  KEYPOOL_FUZZ_CHECK(d->count() >= 0, what);
  KEYPOOL_FUZZ_CHECK(*d <= huge, what);
}

void check_time(std::optional<cl::sys_time> t, const char* what) {
  if (!t) return;
  const auto secs = std::chrono::duration_cast<std::chrono::seconds>(t->time_since_epoch()).count();
  KEYPOOL_FUZZ_CHECK(secs >= earliest && secs <= latest, what);
  KEYPOOL_FUZZ_CHECK(cl::until(*t, now).count() >= 0, "until() negative");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view v(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto offset = std::chrono::minutes((static_cast<int>(data[0]) - 128) * 11);  // within ±24 h

  const auto ms = cl::parse_retry_after_ms(v);
  check_duration(ms, "parse_retry_after_ms out of range");
  if (ms) {
    const std::string padded = " \t" + std::string(v) + "\t ";
    KEYPOOL_FUZZ_CHECK(cl::parse_retry_after_ms(padded) == ms, "blanks change retry-after-ms");
  }
  check_duration(cl::parse_retry_after(v, now), "parse_retry_after out of range");
  check_duration(cl::parse_duration(v), "parse_duration out of range");
  check_duration(cl::parse_proto_duration(v), "parse_proto_duration out of range");
  check_duration(cl::duration_in_message(v), "duration_in_message out of range");
  check_time(cl::parse_http_date(v), "parse_http_date out of range");
  check_time(cl::parse_rfc3339(v), "parse_rfc3339 out of range");
  const auto local = cl::parse_local_datetime(v, offset);
  if (local) {
    const auto naive = cl::parse_local_datetime(v, std::chrono::minutes(0));
    KEYPOOL_FUZZ_CHECK(naive && *naive - *local == offset, "parse_local_datetime ignores the offset");
  }

  // Whatever a parser returned, clamping obeys the cap.
  const milliseconds cap(static_cast<std::int64_t>(data[0]) * 1000);
  for (auto h : {ms, cl::parse_duration(v), cl::parse_retry_after(v, now)}) {
    const auto c = cl::clamp_hint(h, cap);
    KEYPOOL_FUZZ_CHECK(c.has_value() == h.has_value(), "clamp_hint changed presence of a valid hint");
    if (c) KEYPOOL_FUZZ_CHECK(c->count() >= 0 && *c <= cap, "clamp_hint above its cap");
  }
  return 0;
}
