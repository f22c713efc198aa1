#pragma once
/// Policy tag `policy::state<B>`: where key state is shared beyond one pool.
/// A backend hears about every state transition a pool makes (a lockout, a
/// disable, a recovery) — never about picks — and may feed transitions seen
/// elsewhere back through basic_pool::apply_remote().
///
/// Concept: `state_backend` below: copyable, with
/// `void publish(const state_change&) noexcept`. Optionally
/// `shared_budget_backend`: it also counts daily budgets fleet-wide.
///
/// Default: `state::local` (below), which shares nothing.
///
/// Shipped: `state::local` and `state::redis` (keypool/state/redis.hpp,
/// CMake target keypool::redis, needs hiredis).

#include <keypool/core/key_status.hpp>
#include <keypool/core/outcome.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <string_view>

namespace keypool {

/// One key's new state, in wall-clock time so other processes (with other
/// monotonic clocks) can use it.
struct state_change {
  std::string_view provider_id;  ///< "groq"
  std::string_view fingerprint;  ///< 12 hex digits; never the secret
  key_status status = key_status::available;
  outcome_kind reason = outcome_kind::success;
  /// When the lockout / disable ends; time_point::max() for never.
  std::chrono::system_clock::time_point until{};
};

template <class B>
concept state_backend = std::copy_constructible<B> && requires(B& b, const state_change& c) {
  /// Called after the transition took effect locally, on the reporting
  /// thread. Must not block for long: queue the write.
  { b.publish(c) }
  noexcept;
};

/// One provider day: its index (whole days since the epoch, counted from
/// the provider's day boundary) and that boundary, as one value, so that a
/// budget call cannot pair an index with another boundary (a day index read
/// with the wrong boundary can look already over, and be granted nothing).
struct provider_day {
  std::uint32_t index = 0;
  std::chrono::minutes boundary_utc{};  ///< when the provider's day starts, after 00:00 UTC

  /// The day `wall` falls in, for a provider whose day starts at
  /// `boundary_utc` after midnight UTC.
  static provider_day at(std::chrono::system_clock::time_point wall, std::chrono::minutes boundary_utc = {}) noexcept {
    const auto since = wall.time_since_epoch() - boundary_utc;
    return {static_cast<std::uint32_t>(std::chrono::floor<std::chrono::days>(since).count()), boundary_utc};
  }
  /// When the day ends (the next day's first instant). The index is read
  /// back signed, so a day before 1970 (a test clock) ends where it should.
  std::chrono::system_clock::time_point end() const noexcept {
    return std::chrono::system_clock::time_point(std::chrono::days{std::int64_t{static_cast<std::int32_t>(index)} + 1} +
                                                 boundary_utc);
  }
  friend bool operator==(const provider_day&, const provider_day&) = default;
};

/// Optional: a backend that counts daily budgets for the whole fleet. The
/// pool asks it for up to `want` units of key `fingerprint`'s budget for
/// provider day `day` (never more than `limit` granted that day, fleet-wide);
/// 0 when spent, empty when it cannot answer (the pool then counts locally).
template <class B>
concept shared_budget_backend = state_backend<B> &&
    requires(B& b, std::string_view s, const provider_day& day, std::uint32_t n) {
  { b.reserve_daily(s, s, day, n, n) }
  noexcept->std::same_as<std::optional<std::uint32_t>>;
};

}  // namespace keypool

namespace keypool::state {

/// Keys are shared with nobody.
struct local {
  void publish(const state_change&) noexcept {}
};

static_assert(state_backend<local>);

}  // namespace keypool::state
