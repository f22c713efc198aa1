#pragma once
/// basic_pool's daily budgets: keys with a daily_limit count their requests
/// per provider day, locally or fleet-wide through a shared_budget_backend,
/// and sit out the rest of the day once the budget is spent. Included at
/// the end of core/pool.hpp.

namespace keypool {

template <class Provider, class... Policies>
inline std::uint32_t basic_pool<Provider, Policies...>::day_index(
    std::chrono::system_clock::time_point wall) const noexcept {
  return provider_day::at(wall, info_.day_boundary_utc).index;
}

template <class Provider, class... Policies>
inline bool basic_pool<Provider, Policies...>::daily_left(slot_data& k, std::uint32_t limit) const noexcept {
  const auto d = k.daily.load(std::memory_order_relaxed);
  return (d >> 32) != day_index(clock_.wall_now()) || static_cast<std::uint32_t>(d) < limit;
}

/// Counts one request against the key's daily limit. When the day's budget
/// is spent the key is locked (quota_exhausted) until the provider's day
/// boundary instead of being sent to a certain 429.
template <class Provider, class... Policies>
bool basic_pool<Provider, Policies...>::take_daily(slot_data& k, std::uint32_t limit, lazy_now& now) noexcept {
  const auto wall = clock_.wall_now();
  const provider_day pd = provider_day::at(wall, info_.day_boundary_utc);
  const std::uint64_t day = pd.index;
  std::uint64_t cur = k.daily.load(std::memory_order_relaxed);
  for (;;) {
    std::uint32_t count = (cur >> 32) == day ? static_cast<std::uint32_t>(cur) : 0;
    bool spent = count >= limit;
    if constexpr (shared_budget_backend<state_type>)
      if (!spent && !shared_allows(k, pd, count, limit)) spent = true;
    if (spent) {
      const std::uint64_t w = k.state.load(std::memory_order_acquire);
      if (detail::key_state::is_available(w)) lock_for_the_day(k, w, wall, now);
      return false;
    }
    if (k.daily.compare_exchange_weak(cur, day << 32 | (count + 1), std::memory_order_relaxed)) return true;
  }
}

/// Locks a key whose daily budget is spent (quota_exhausted) until the
/// provider's day boundary, unless its state moved on from `w` (a reload
/// flipping only the daily-limit flag is not such a move).
/// Out of line and cold: try_take is inlined at every acquire_slow step.
template <class Provider, class... Policies>
void basic_pool<Provider, Policies...>::lock_for_the_day(slot_data& k, std::uint64_t w,
                                                         std::chrono::system_clock::time_point wall,
                                                         lazy_now& now) noexcept {
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(provider_day::at(wall, info_.day_boundary_utc).end() - wall);
  const std::uint64_t until = detail::key_state::until_after(clock_ms(static_cast<long long>(now.get())), left);
  const std::uint64_t seen = w & ~detail::key_state::metered_bit;
  while (!k.state.compare_exchange_weak(
      w, detail::key_state::decode(w).next(key_status::locked, outcome_kind::quota_exhausted, until).encode(),
      std::memory_order_acq_rel, std::memory_order_acquire)) {
    if ((w & ~detail::key_state::metered_bit) != seen) return;
  }
}

/// Whether the fleet-wide budget has a unit for local request count + 1;
/// reserves daily_chunk units from the backend when those granted so far
/// are used up. Without an answer from the backend (Redis down), the local
/// count decides alone.
template <class Provider, class... Policies>
inline bool basic_pool<Provider, Policies...>::shared_allows(slot_data& k, const provider_day& pd, std::uint32_t count,
                                                             std::uint32_t limit) noexcept {
  const std::uint64_t day = pd.index;
  std::uint64_t g = k.daily_granted.load(std::memory_order_acquire);
  if (count < ((g >> 32) == day ? static_cast<std::uint32_t>(g) : 0)) return true;
  const auto* rec = k.record.load(std::memory_order_acquire);
  const std::optional<std::uint32_t> got = state_.reserve_daily(info_.id, rec->fingerprint, pd, limit, daily_chunk_);
  if (!got) return true;
  if (*got == 0) return false;
  for (;;) {
    const std::uint32_t granted = (g >> 32) == day ? static_cast<std::uint32_t>(g) : 0;
    if (k.daily_granted.compare_exchange_weak(g, day << 32 | (granted + *got), std::memory_order_acq_rel)) return true;
  }
}

}  // namespace keypool
