#pragma once
/// Which of a provider's hints say when the limit that was hit frees, per
/// error dialect, with the page that documents it. A hint counts only for
/// the limit its provider documents it for: Groq's
/// `x-ratelimit-*-requests` describe its requests-per-day limit, so a
/// per-day 429 with `x-ratelimit-reset-requests: 2.5s` frees in 2.5 s;
/// OpenAI's describe its per-minute limit, so on a per-day 429 they say
/// nothing about the day; Gemini's `retryDelay` is for its per-minute
/// quotas, and a per-day quota waits for midnight Pacific whatever it says.
/// docs/providers.md has the same table.

#include <keypool/providers/descriptor.hpp>

#include <string_view>

namespace keypool::classify {

/// The window of the limit a header family counts down.
enum class limit_window : unsigned char {
  none,        ///< not sent, or not documented
  per_minute,  ///< RPM / TPM
  per_day,     ///< RPD / TPD
};

struct hint_authority {
  providers::error_dialect dialect;
  limit_window reset_requests;  ///< what `x-ratelimit-reset-requests` counts down
  limit_window reset_tokens;    ///< what `x-ratelimit-reset-tokens` counts down
  /// `retry-after` / `retryDelay` / "try again in …" on a per-day 429 is the
  /// time the per-day limit frees (else the day boundary decides).
  bool retry_hint_frees_daily;
  std::string_view source;  ///< the provider's documentation page
};

inline constexpr hint_authority hint_authorities[] = {
    {providers::error_dialect::openai, limit_window::per_minute, limit_window::per_minute, true,
     "https://platform.openai.com/docs/guides/rate-limits"},
    {providers::error_dialect::groq, limit_window::per_day, limit_window::per_minute, true,
     "https://console.groq.com/docs/rate-limits"},
    {providers::error_dialect::anthropic, limit_window::none, limit_window::none, true,
     "https://docs.anthropic.com/en/api/rate-limits"},
    {providers::error_dialect::gemini, limit_window::none, limit_window::none, false,
     "https://ai.google.dev/gemini-api/docs/rate-limits"},
    {providers::error_dialect::mistral, limit_window::none, limit_window::none, true,
     "https://docs.mistral.ai/deployment/ai-studio/tier"},
    {providers::error_dialect::zai, limit_window::none, limit_window::none, false,
     "https://docs.z.ai/api-reference/api-code"},
    {providers::error_dialect::nvidia, limit_window::none, limit_window::none, true,
     "https://docs.api.nvidia.com/nim/docs/api-quickstart"},
};

/// The row for `d` (every dialect has one).
constexpr const hint_authority& authority_for(providers::error_dialect d) noexcept {
  for (const auto& a : hint_authorities)
    if (a.dialect == d) return a;
  return hint_authorities[0];
}

}  // namespace keypool::classify
