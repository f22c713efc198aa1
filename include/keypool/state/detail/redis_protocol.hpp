#pragma once
/// How the Redis state backend writes one key's state: the text of a change
/// as published on the channel and stored under the key's state key, and the
/// names it uses for statuses and reasons. Instances of different versions
/// share one Redis, so parse() also reads the older form.

#include <keypool/core/detail/key_state.hpp>
#include <keypool/core/outcome.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace keypool::state::detail {

inline constexpr std::string_view status_name(key_status s) noexcept {
  switch (s) {
    case key_status::available: return "available";
    case key_status::locked: return "locked";
    case key_status::disabled: return "disabled";
    case key_status::probing: return "probing";
  }
  return "unknown";
}

inline std::optional<key_status> parse_status(std::string_view s) noexcept {
  for (auto k : {key_status::available, key_status::locked, key_status::disabled, key_status::probing})
    if (status_name(k) == s) return k;
  return std::nullopt;
}

inline std::optional<outcome_kind> parse_reason(std::string_view s) noexcept {
  for (std::size_t i = 0; i < outcome_kind_count; ++i)
    if (to_string(static_cast<outcome_kind>(i)) == s) return static_cast<outcome_kind>(i);
  return std::nullopt;
}

/// Wall milliseconds since the epoch; -1 for "never".
inline long long to_wall_ms(std::chrono::system_clock::time_point t) noexcept {
  if (t == std::chrono::system_clock::time_point::max()) return -1;
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

/// One change as published and stored: "status|reason|<left>ms|fp|provider",
/// <left> being the time the lockout / disable had left when written
/// ("never": no end). A duration rather than a wall time, so instances whose
/// clocks disagree still agree on how long a lockout lasts. The provider id
/// comes last so it may contain any character.
struct wire_change {
  std::string provider;
  std::string fingerprint;
  key_status status = key_status::available;
  outcome_kind reason = outcome_kind::success;
  long long ttl_ms = 0;  ///< time left when written; -1 for never

  std::string body() const {
    std::string s;
    s.reserve(48 + provider.size());
    s.append(status_name(status)).append("|").append(to_string(reason)).append("|");
    s.append(ttl_ms < 0 ? std::string("never") : std::to_string(ttl_ms) + "ms");
    s.append("|").append(fingerprint).append("|").append(provider);
    return s;
  }

  /// `now_ms` (this host's wall clock) only reads the older form, whose third
  /// field is the absolute wall time in ms when it ends (-1: never), as sent
  /// by instances not yet upgraded.
  static std::optional<wire_change> parse(std::string_view s, long long now_ms) {
    std::string_view part[4];
    for (auto& p : part) {
      const auto bar = s.find('|');
      if (bar == std::string_view::npos) return std::nullopt;
      p = s.substr(0, bar);
      s.remove_prefix(bar + 1);
    }
    wire_change c;
    auto st = parse_status(part[0]);
    auto rs = parse_reason(part[1]);
    if (!st || !rs || s.empty() || part[3].empty()) return std::nullopt;
    if (part[2] == "never") {
      c.ttl_ms = -1;
    } else {
      const bool absolute = !part[2].ends_with("ms");
      if (!absolute) part[2].remove_suffix(2);
      long long v = 0;
      const auto* b = part[2].data();
      const auto* e = b + part[2].size();
      auto [ptr, ec] = std::from_chars(b, e, v);
      if (ec != std::errc{} || ptr != e || b == e || (!absolute && v < 0)) return std::nullopt;
      c.ttl_ms = !absolute ? v : v < 0 ? -1 : std::max(0LL, v - now_ms);
    }
    c.status = *st;
    c.reason = *rs;
    c.fingerprint = std::string(part[3]);
    c.provider = std::string(s);
    return c;
  }
};

}  // namespace keypool::state::detail
