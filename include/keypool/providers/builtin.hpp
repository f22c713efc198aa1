#pragma once
/// The seven built-in providers, as compile-time types (for
/// `basic_pool<providers::groq, ...>`) and as run-time descriptors (for
/// configuration, lookup by id and JSON export).

#include <keypool/core/provider.hpp>
#include <keypool/providers/descriptor.hpp>

#include <array>
#include <span>
#include <string_view>

namespace keypool::providers {

namespace detail {

inline provider_descriptor make(std::string_view id, std::string_view prefix, std::string_view base, auth_style auth,
                                wire_format wire, error_dialect errors, day_boundary day, std::string_view console) {
  provider_descriptor d;
  d.id = id;
  d.env_prefix = prefix;
  d.display_name = prefix;  // so messages read "All NVIDIA API keys ..."
  d.base_url = base;
  d.auth = auth;
  d.wire = wire;
  d.errors = errors;
  d.day = day;
  d.console_url = console;
  if (auth == auth_style::x_api_key) d.extra_headers.emplace_back("anthropic-version", "2023-06-01");
  return d;
}

/// All built-ins, in their fixed order (zai, nvidia, groq, mistral, anthropic,
/// openai, google). Built once, never modified.
inline const std::array<provider_descriptor, 7>& builtin_table() {
  using enum auth_style;
  using enum wire_format;
  static const std::array<provider_descriptor, 7> table = {
      // Z.AI: the reset times it prints are Beijing time, so its "day" is
      // taken to start at midnight UTC+8 (16:00 UTC). Not documented by Z.AI.
      make("zai", "ZAI", "https://open.bigmodel.cn/api/paas/v4", bearer, openai_chat, error_dialect::zai,
           {day_boundary::rule::fixed_offset, std::chrono::minutes(16 * 60)}, "https://open.bigmodel.cn"),
      make("nvidia", "NVIDIA", "https://integrate.api.nvidia.com/v1", bearer, openai_chat, error_dialect::nvidia, {},
           "https://build.nvidia.com"),
      make("groq", "GROQ", "https://api.groq.com/openai/v1", bearer, openai_chat, error_dialect::groq, {},
           "https://console.groq.com"),
      make("mistral", "MISTRAL", "https://api.mistral.ai/v1", bearer, openai_chat, error_dialect::mistral, {},
           "https://console.mistral.ai"),
      make("anthropic", "ANTHROPIC", "https://api.anthropic.com/v1", x_api_key, anthropic_messages,
           error_dialect::anthropic, {}, "https://console.anthropic.com"),
      make("openai", "OPENAI", "https://api.openai.com/v1", bearer, openai_chat, error_dialect::openai, {},
           "https://platform.openai.com"),
      // Gemini: "Requests per day (RPD) quotas reset at midnight Pacific time"
      // (ai.google.dev/gemini-api/docs/rate-limits).
      make("google", "GOOGLE", "https://generativelanguage.googleapis.com/v1beta", x_goog_api_key,
           gemini_generate_content, error_dialect::gemini, {day_boundary::rule::us_pacific, {}},
           "https://aistudio.google.com"),
  };
  return table;
}

/// CRTP-free helper: a built-in provider type is just an index into the table.
template <std::size_t I>
struct builtin_provider {
  static const provider_descriptor& descriptor() { return builtin_table()[I]; }
  static provider_info info() { return descriptor().info(); }
};

}  // namespace detail

// clang-format off
struct zai       : detail::builtin_provider<0> {};
struct nvidia    : detail::builtin_provider<1> {};
struct groq      : detail::builtin_provider<2> {};
struct mistral   : detail::builtin_provider<3> {};
struct anthropic : detail::builtin_provider<4> {};
struct openai    : detail::builtin_provider<5> {};
struct google    : detail::builtin_provider<6> {};
// clang-format on

static_assert(static_provider<zai> && static_provider<nvidia> && static_provider<groq> && static_provider<mistral> &&
              static_provider<anthropic> && static_provider<openai> && static_provider<google>);

/// The built-in descriptors, in builtin_table()'s order.
inline std::span<const provider_descriptor> builtin_descriptors() { return detail::builtin_table(); }

/// A built-in provider by id ("groq"), or nullptr.
inline const provider_descriptor* find_builtin(std::string_view id) {
  for (const auto& d : detail::builtin_table())
    if (d.id == id) return &d;
  return nullptr;
}

/// A built-in provider by environment prefix ("GROQ"), or nullptr.
inline const provider_descriptor* find_builtin_by_prefix(std::string_view prefix) {
  for (const auto& d : detail::builtin_table())
    if (d.env_prefix == prefix) return &d;
  return nullptr;
}

}  // namespace keypool::providers
