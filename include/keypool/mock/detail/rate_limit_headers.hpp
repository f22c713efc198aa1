#pragma once
/// The rate-limit headers each provider sends with its answers, on success
/// and on a refused limit: OpenAI's and Groq's x-ratelimit-* (Groq counting
/// requests per day), Mistral's per-minute ones, Anthropic's with an RFC 3339
/// reset time. Google, NVIDIA and Z.AI send none.

#include <keypool/mock/clock.hpp>
#include <keypool/mock/detail/text.hpp>
#include <keypool/mock/reply.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace keypool::mock::detail {

/// Where a key stands when its answer goes out.
struct limit_snapshot {
  std::uint32_t per_minute = 0;   ///< the key's limit per minute (0: unlimited)
  std::uint32_t per_day = 0;      ///< the key's limit per day (0: unlimited)
  std::uint32_t minute_used = 0;  ///< the account's requests in this minute
  std::uint32_t day_used = 0;     ///< the account's requests in this day
  bool limited = false;           ///< the answer refuses on a limit: nothing remains
  std::chrono::milliseconds reset{0};

  std::uint32_t minute_limit() const noexcept { return per_minute ? per_minute : 10'000; }
  std::uint32_t minute_remaining() const noexcept {
    const std::uint32_t limit = minute_limit();
    return limited ? 0 : (limit > minute_used ? limit - minute_used : 0);
  }
};

inline void openai_limit_headers(reply& out, const limit_snapshot& s) {
  out.headers.emplace_back("x-ratelimit-limit-requests", std::to_string(s.minute_limit()));
  out.headers.emplace_back("x-ratelimit-remaining-requests", std::to_string(s.minute_remaining()));
  out.headers.emplace_back("x-ratelimit-reset-requests", go_duration(s.reset));
  out.headers.emplace_back("x-ratelimit-limit-tokens", "30000");
  out.headers.emplace_back("x-ratelimit-remaining-tokens", "29000");
  out.headers.emplace_back("x-ratelimit-reset-tokens", "2s");
}

/// Groq: requests per day, tokens per minute.
inline void groq_limit_headers(reply& out, const limit_snapshot& s) {
  const std::uint32_t day_limit = s.per_day ? s.per_day : 14'400;
  out.headers.emplace_back("x-ratelimit-limit-requests", std::to_string(day_limit));
  out.headers.emplace_back("x-ratelimit-remaining-requests",
                           std::to_string(day_limit > s.day_used ? day_limit - s.day_used : 0));
  out.headers.emplace_back("x-ratelimit-reset-requests", go_duration(s.reset));
  out.headers.emplace_back("x-ratelimit-limit-tokens", "6000");
  out.headers.emplace_back("x-ratelimit-remaining-tokens", "5000");
  out.headers.emplace_back("x-ratelimit-reset-tokens", "7.66s");
}

inline void mistral_limit_headers(reply& out, const limit_snapshot& s) {
  out.headers.emplace_back("x-ratelimit-limit-req-minute", std::to_string(s.minute_limit()));
  out.headers.emplace_back("x-ratelimit-remaining-req-minute", std::to_string(s.minute_remaining()));
  out.headers.emplace_back("x-ratelimit-limit-tokens-minute", "500000");
  out.headers.emplace_back("x-ratelimit-remaining-tokens-minute", "499000");
}

/// The reset is a wall-clock time, read from the fleet's clock.
inline void anthropic_limit_headers(reply& out, const limit_snapshot& s, const fleet_clock& clock) {
  const auto at = rfc3339(clock.wall() + std::chrono::ceil<std::chrono::seconds>(s.reset));
  out.headers.emplace_back("anthropic-ratelimit-requests-limit", std::to_string(s.minute_limit()));
  out.headers.emplace_back("anthropic-ratelimit-requests-remaining", std::to_string(s.minute_remaining()));
  out.headers.emplace_back("anthropic-ratelimit-requests-reset", at);
}

inline void add_rate_limit_headers(reply& out, std::string_view provider_id, const limit_snapshot& s,
                                   const fleet_clock& clock) {
  if (provider_id == "openai")
    openai_limit_headers(out, s);
  else if (provider_id == "groq")
    groq_limit_headers(out, s);
  else if (provider_id == "mistral")
    mistral_limit_headers(out, s);
  else if (provider_id == "anthropic")
    anthropic_limit_headers(out, s, clock);
}

}  // namespace keypool::mock::detail
