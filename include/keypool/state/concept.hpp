#pragma once
/// Where key state is shared beyond one pool. A backend hears about every
/// state transition a pool makes (a lockout, a disable, a recovery) — never
/// about picks — and may feed transitions seen elsewhere back through
/// basic_pool::apply_remote(). The default, state::local, shares nothing.

#include <keypool/core/detail/key_state.hpp>
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

/// Optional: a backend that counts daily budgets for the whole fleet. The
/// pool asks it for up to `want` units of key `fingerprint`'s budget for
/// provider day `day` (never more than `limit` granted per day, fleet-wide);
/// 0 when spent, empty when it cannot answer (the pool then counts locally).
template <class B>
concept shared_budget_backend = state_backend<B> &&
    requires(B& b, std::string_view s, std::uint32_t n, std::chrono::minutes m) {
  { b.reserve_daily(s, s, n, n, n, m) }
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
