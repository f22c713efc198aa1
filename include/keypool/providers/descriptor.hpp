#pragma once
/// Everything keypool knows about one provider beyond what the core needs:
/// where it lives, how it authenticates, which wire format and error dialect
/// it speaks, and when its day starts. A descriptor is plain data, so a
/// provider can be described at run time (a proxy, a self-hosted NIM) as
/// easily as the seven built-in ones.

#include <keypool/core/provider.hpp>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::providers {

/// How the key travels in the request.
enum class auth_style : std::uint8_t {
  bearer,          ///< `Authorization: Bearer <key>` (OpenAI-compatible APIs)
  x_api_key,       ///< `x-api-key: <key>` plus `anthropic-version` (Anthropic)
  x_goog_api_key,  ///< `x-goog-api-key: <key>` (Gemini; `?key=` is legacy)
};

/// The request/response body format the wire codecs implement.
enum class wire_format : std::uint8_t {
  openai_chat,              ///< POST {base}/chat/completions
  anthropic_messages,       ///< POST {base}/messages
  gemini_generate_content,  ///< POST {base}/models/{model}:generateContent
};

/// Which error-body conventions the classifier applies. Separate from the
/// wire format because OpenAI-compatible providers disagree on errors
/// (Z.AI string codes, NVIDIA problem+json, Groq's 498).
enum class error_dialect : std::uint8_t { openai, anthropic, gemini, zai, mistral, groq, nvidia };

/// When a provider's "day" (daily quotas, daily key budgets) starts.
struct day_boundary {
  enum class rule : std::uint8_t {
    fixed_offset,  ///< local midnight = UTC midnight + `utc_offset` (no DST)
    us_pacific,    ///< midnight in America/Los_Angeles, DST included (Gemini)
  };
  rule kind = rule::fixed_offset;
  /// For fixed_offset: the boundary's time of day in UTC (0 = UTC midnight,
  /// 960 = 16:00 UTC = midnight in UTC+8). Kept in [0, 1440).
  std::chrono::minutes utc_offset{0};

  friend bool operator==(const day_boundary&, const day_boundary&) = default;
};

namespace detail {

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm), so
/// DST rules need no time-zone database.
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// Civil year of a day count.
constexpr std::int64_t year_of_days(std::int64_t z) noexcept {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

/// Day count of the n-th Sunday (n >= 1) of a month.
constexpr std::int64_t nth_sunday(std::int64_t y, unsigned m, unsigned n) noexcept {
  const std::int64_t first = days_from_civil(y, m, 1);
  // 1970-01-01 was a Thursday (weekday 4, Sunday = 0).
  const std::int64_t wd = ((first % 7) + 7 + 4) % 7;
  return first + (7 - wd) % 7 + 7 * (n - 1);
}

}  // namespace detail

/// The first day boundary strictly after `now`.
inline std::chrono::system_clock::time_point next_day_boundary(const day_boundary& b,
                                                               std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  const std::int64_t t = duration_cast<seconds>(now.time_since_epoch()).count();
  auto next_after = [t](std::int64_t offset_s) {
    // Boundaries are at k*86400 + offset_s; pick the smallest one > t.
    std::int64_t k = (t - offset_s) >= 0 ? (t - offset_s) / 86400 : -((offset_s - t + 86399) / 86400);
    std::int64_t cand = k * 86400 + offset_s;
    while (cand <= t) cand += 86400;
    return cand;
  };
  std::int64_t result = 0;
  if (b.kind == day_boundary::rule::fixed_offset) {
    result = next_after(b.utc_offset.count() * 60);
  } else {
    // Midnight Pacific of civil date D is 07:00 UTC when daylight time is in
    // force at that midnight (D after the second Sunday of March, up to and
    // including the first Sunday of November), else 08:00 UTC.
    const std::int64_t today = (t >= 0 ? t : t - 86399) / 86400;
    result = std::numeric_limits<std::int64_t>::max();
    for (std::int64_t d = today - 1; d <= today + 2; ++d) {
      const std::int64_t y = detail::year_of_days(d);
      const bool dst = d > detail::nth_sunday(y, 3, 2) && d <= detail::nth_sunday(y, 11, 1);
      const std::int64_t midnight = d * 86400 + (dst ? 7 : 8) * 3600;
      if (midnight > t && midnight < result) result = midnight;
    }
  }
  return system_clock::time_point(seconds(result));
}

/// A fixed approximation of the boundary for keypool::provider_info, which
/// has room for one offset only. For US Pacific it is the winter value
/// (08:00 UTC): in summer the real reset is an hour earlier, so a key comes
/// back at most an hour late and never early.
inline std::chrono::minutes fixed_offset_of(const day_boundary& b) noexcept {
  if (b.kind == day_boundary::rule::us_pacific) return std::chrono::minutes(8 * 60);
  return b.utc_offset;
}

/// One provider, described as data.
struct provider_descriptor {
  std::string id;            ///< lower-case identifier: "groq"
  std::string env_prefix;    ///< variables are `<env_prefix>_API_KEY[_N]`: "GROQ"
  std::string display_name;  ///< as shown in messages ("All GROQ API keys are rate limited")
  std::string base_url;      ///< without a trailing slash: "https://api.groq.com/openai/v1"
  auth_style auth = auth_style::bearer;
  /// Headers every request needs besides the key (Anthropic's version pin).
  std::vector<std::pair<std::string, std::string>> extra_headers{};
  wire_format wire = wire_format::openai_chat;
  error_dialect errors = error_dialect::openai;
  day_boundary day{};
  std::string console_url{};  ///< where users get keys (docs, messages)

  /// The same provider behind another URL (self-hosted NIM, a proxy, a test
  /// server). A trailing slash is dropped.
  provider_descriptor with_base_url(std::string url) const {
    provider_descriptor d = *this;
    while (!url.empty() && url.back() == '/') url.pop_back();
    d.base_url = std::move(url);
    return d;
  }

  /// What the core needs (keypool::provider_info).
  provider_info info() const { return provider_info{id, display_name, fixed_offset_of(day)}; }
};

constexpr std::string_view to_string(auth_style a) noexcept {
  switch (a) {
    case auth_style::bearer: return "bearer";
    case auth_style::x_api_key: return "x-api-key";
    case auth_style::x_goog_api_key: return "x-goog-api-key";
  }
  return "unknown";
}

constexpr std::string_view to_string(wire_format w) noexcept {
  switch (w) {
    case wire_format::openai_chat: return "openai_chat";
    case wire_format::anthropic_messages: return "anthropic_messages";
    case wire_format::gemini_generate_content: return "gemini_generate_content";
  }
  return "unknown";
}

constexpr std::string_view to_string(error_dialect e) noexcept {
  switch (e) {
    case error_dialect::openai: return "openai";
    case error_dialect::anthropic: return "anthropic";
    case error_dialect::gemini: return "gemini";
    case error_dialect::zai: return "zai";
    case error_dialect::mistral: return "mistral";
    case error_dialect::groq: return "groq";
    case error_dialect::nvidia: return "nvidia";
  }
  return "unknown";
}

}  // namespace keypool::providers
