#pragma once
/// Small text helpers of the mock providers: JSON to text, the duration and
/// date spellings providers put in their headers and messages, URL paths.

#include <keypool/core/detail/ascii.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

namespace keypool::mock::detail {

namespace json = boost::json;

inline std::string to_text(const json::value& v) { return json::serialize(v); }

/// "6m0s", "12.5s", "120ms": the Go-style durations of x-ratelimit-reset-*.
inline std::string go_duration(std::chrono::milliseconds d) {
  const long long ms = std::max<long long>(d.count(), 0);
  if (ms < 1000) return std::to_string(ms) + "ms";
  if (ms < 60'000) {
    std::string s = std::to_string(ms / 1000);
    if (ms % 1000) {
      std::string frac = std::to_string(1000 + ms % 1000).substr(1);
      while (!frac.empty() && frac.back() == '0') frac.pop_back();
      s += "." + frac;
    }
    return s + "s";
  }
  return std::to_string(ms / 60'000) + "m" + std::to_string((ms % 60'000) / 1000) + "s";
}

/// Whole seconds, rounded up, at least 1 (Retry-After).
inline long long ceil_seconds(std::chrono::milliseconds d) { return std::max<long long>((d.count() + 999) / 1000, 1); }

inline std::string rfc3339(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss hms{secs - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

/// The path of a URL ("https://api.groq.com/openai/v1" -> "/openai/v1").
inline std::string url_path(std::string_view url) {
  const auto sep = url.find("://");
  const auto slash = url.find('/', sep == std::string_view::npos ? 0 : sep + 3);
  return slash == std::string_view::npos ? std::string() : std::string(url.substr(slash));
}

}  // namespace keypool::mock::detail
