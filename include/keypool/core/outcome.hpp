#pragma once
/// What happened to one request made with a key: the only thing a pool learns
/// from the outside world. Classifiers (keypool/classify) turn HTTP responses
/// into outcomes; applications without HTTP build them directly.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace keypool {

/// Every kind of result a pool distinguishes. The order is part of the ABI of
/// statistics arrays (one counter per kind): append only.
enum class outcome_kind : std::uint8_t {
  success,            ///< the key worked
  rate_limited,       ///< slow down: lock the key for the hint or the policy's default
  quota_exhausted,    ///< a longer quota (e.g. per day) is spent: lock until it resets
  out_of_credit,      ///< no balance / spend cap: disable, re-check later
  invalid_key,        ///< the provider does not know the key: disable
  forbidden,          ///< the key is known but not allowed (region, suspended): disable
  model_unavailable,  ///< model retired or not enabled for this account: not the key's fault
  transient,          ///< provider-wide trouble (5xx, overload): not the key's fault
  bad_request,        ///< the caller's mistake: never burn keys on it
};

inline constexpr std::size_t outcome_kind_count = 9;

constexpr std::string_view to_string(outcome_kind k) noexcept {
  switch (k) {
    case outcome_kind::success: return "success";
    case outcome_kind::rate_limited: return "rate_limited";
    case outcome_kind::quota_exhausted: return "quota_exhausted";
    case outcome_kind::out_of_credit: return "out_of_credit";
    case outcome_kind::invalid_key: return "invalid_key";
    case outcome_kind::forbidden: return "forbidden";
    case outcome_kind::model_unavailable: return "model_unavailable";
    case outcome_kind::transient: return "transient";
    case outcome_kind::bad_request: return "bad_request";
  }
  return "unknown";
}

/// True for outcomes that say something about the key itself (and so may lock
/// or disable it). model_unavailable, transient and bad_request do not.
constexpr bool blames_key(outcome_kind k) noexcept {
  switch (k) {
    case outcome_kind::rate_limited:
    case outcome_kind::quota_exhausted:
    case outcome_kind::out_of_credit:
    case outcome_kind::invalid_key:
    case outcome_kind::forbidden: return true;
    default: return false;
  }
}

/// True for outcomes that take the key out of rotation until re-checked
/// (rather than a timed lockout).
constexpr bool disables_key(outcome_kind k) noexcept {
  return k == outcome_kind::out_of_credit || k == outcome_kind::invalid_key || k == outcome_kind::forbidden;
}

/// An outcome plus what the provider told us about when to come back.
struct outcome {
  outcome_kind kind = outcome_kind::success;
  /// How long the provider asked us to wait, already parsed and clamped to be
  /// non-negative (see classify/retry_hint.hpp). Empty: no hint.
  std::optional<std::chrono::milliseconds> retry_after{};
  /// The provider documents this limit for the whole account / organisation /
  /// project. Informational: the pool locks every key sharing the key's
  /// `account` on any limit, flag or not.
  bool account_wide = false;

  static constexpr outcome success() noexcept { return {}; }
  static constexpr outcome rate_limited(std::optional<std::chrono::milliseconds> hint = std::nullopt) noexcept {
    return {outcome_kind::rate_limited, hint, false};
  }
  /// `until_reset`: time left until the quota resets (e.g. to the provider's
  /// day boundary).
  static constexpr outcome quota_exhausted(
      std::optional<std::chrono::milliseconds> until_reset = std::nullopt) noexcept {
    return {outcome_kind::quota_exhausted, until_reset, false};
  }
  static constexpr outcome out_of_credit() noexcept { return {outcome_kind::out_of_credit}; }
  static constexpr outcome invalid_key() noexcept { return {outcome_kind::invalid_key}; }
  static constexpr outcome forbidden() noexcept { return {outcome_kind::forbidden}; }
  static constexpr outcome model_unavailable() noexcept { return {outcome_kind::model_unavailable}; }
  static constexpr outcome transient(std::optional<std::chrono::milliseconds> hint = std::nullopt) noexcept {
    return {outcome_kind::transient, hint, false};
  }
  static constexpr outcome bad_request() noexcept { return {outcome_kind::bad_request}; }

  constexpr outcome with_account_wide(bool v = true) const noexcept {
    outcome o = *this;
    o.account_wide = v;
    return o;
  }
  friend constexpr bool operator==(const outcome&, const outcome&) = default;
};

}  // namespace keypool
