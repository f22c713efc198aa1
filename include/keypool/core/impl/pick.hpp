#pragma once
/// basic_pool's pick, beyond the inlined common case in acquire(): a
/// thread's first pick, a locked first choice, lockouts that ran out (the
/// single probe), the scan over every key and the error that names why no
/// key is available. Included at the end of core/pool.hpp.

namespace keypool {

/// The shard of thread slot `s`, made on the thread's first pick on this
/// pool; the shared overflow shard for overflow_slot.
template <class Provider, class... Policies>
inline auto basic_pool<Provider, Policies...>::shard_of(std::uint32_t s) -> shard& {
  if (s >= detail::max_thread_slots) return *overflow_;
  if (shard* p = shards_[s].load(std::memory_order_acquire)) return *p;
  shard_ptr fresh = detail::make_shard<thread_state>(capacity_);
  shard* expected = nullptr;
  // Only this thread owns slot s, but be safe against a racing reuse.
  if (shards_[s].compare_exchange_strong(expected, fresh.get(), std::memory_order_acq_rel)) return *fresh.release();
  return *expected;
}

/// The key can be handed out as it is: available, and no daily budget to
/// count against (the pick paths' common case).
template <class Provider, class... Policies>
KEYPOOL_ALWAYS_INLINE bool basic_pool<Provider, Policies...>::handed_out_plainly(const slot_data& k) noexcept {
  return detail::key_state::is_plain(k.state.load(std::memory_order_acquire));
}

template <class Provider, class... Policies>
inline candidates basic_pool<Provider, Policies...>::make_candidates(detail::key_view v) const noexcept {
  if constexpr (uses_weights_v<selection_type>)
    return candidates(v.order_size(), v.keys(), v.order(), &slots_[0].in_flight, sizeof(slot_data));
  else
    return candidates(v.size(), v.keys(), nullptr, &slots_[0].in_flight, sizeof(slot_data));
}

/// Asks the strategy for a key of the published key set and maps it to a
/// slot. Wait-free: the set is immutable once published. False when the
/// set is empty.
template <class Provider, class... Policies>
KEYPOOL_ALWAYS_INLINE bool basic_pool<Provider, Policies...>::pick_slot(shard& sh, std::uint32_t& slot,
                                                                        std::uint32_t& n) noexcept {
  const detail::key_view v(view_.load(std::memory_order_acquire));
  n = v.size();
  if (n == 0) [[unlikely]]
    return false;
  const candidates c = make_candidates(v);
  std::uint32_t pos = c.size() ? sel_.next(sh.ts, c) : 0;
  if (pos >= c.size()) [[unlikely]]
    pos = 0;  // a strategy out of its contract must not read out of bounds
  if constexpr (uses_weights_v<selection_type>) pos = v.order()[pos];
  slot = v.keys()[pos];
  return true;
}

/// The first pick of a thread on this pool (make its shard), or a thread
/// beyond KEYPOOL_MAX_THREADS (the shared shard, under its lock).
template <class Provider, class... Policies>
auto basic_pool<Provider, Policies...>::acquire_without_shard() -> acquire_result {
  shard& sh = shard_of(detail::this_thread_slot());
  std::unique_lock g(sh.mu, std::defer_lock);
  if (sh.shared) g.lock();
  std::uint32_t slot = 0, n = 0;
  pick_slot(sh, slot, n);
  return acquire_slow(sh, slot, n);
}

/// The strategy's first choice (`first`, of `n` keys) was not simply
/// available. Its common case, kept small: the key is locked with time to
/// run (one coarse read shows it) and the strategy's next choice is
/// available. Anything else goes on to acquire_slow. Marked cold for the
/// caller's sake: acquire() is inlined there, and otherwise the compiler may
/// make this call the fall-through and jump to the common pick (four taken
/// branches a pick instead of two).
template <class Provider, class... Policies>
auto basic_pool<Provider, Policies...>::acquire_next(shard& sh, std::uint32_t first, std::uint32_t n)
    -> acquire_result {
  if (n > 1) [[likely]] {
    const std::uint64_t w = slots_[first].state.load(std::memory_order_acquire);
    if (!detail::key_state::is_available(w) &&
        (w & detail::key_state::until_mask) > detail::key_state::to_until(clock_.coarse_now() + coarse_lag_)) {
      std::uint32_t slot = 0;
      if (!pick_slot(sh, slot, n)) [[unlikely]]
        return acquire_slow(sh, slot, n);  // the set was emptied meanwhile
      slot_data& k = slots_[slot];
      if (handed_out_plainly(k)) [[likely]]
        return hand_out(sh, k, slot, 0, /*own_shard=*/true);
      return acquire_slow(sh, slot, n);
    }
  }
  return acquire_slow(sh, first, n);
}

/// The strategy's first choice (`first`, of `n` keys) was not simply
/// available: probe it if its lockout is over, else ask the strategy again
/// (once per key), then scan, then build the error.
template <class Provider, class... Policies>
auto basic_pool<Provider, Policies...>::acquire_slow(shard& sh, std::uint32_t first, std::uint32_t n)
    -> acquire_result {
  lazy_now now{clock_, coarse_lag_};
  if (n != 0) [[likely]] {
    if (auto l = try_take(sh, first, now)) return *l;
    for (std::uint32_t attempt = 1; attempt < n; ++attempt) {
      std::uint32_t slot = 0;
      if (!pick_slot(sh, slot, n)) break;
      if (auto l = try_take(sh, slot, now)) return *l;
    }
  }
  return acquire_scan(sh, now);
}

/// The strategy found nothing: scan every key, then build the error. Out of
/// line, so acquire_slow stays small for its common case (the first choice
/// is locked, the next one is not).
template <class Provider, class... Policies>
auto basic_pool<Provider, Policies...>::acquire_scan(shard& sh, lazy_now& now) -> acquire_result {
  for (int round = 0; round < 3; ++round) {
    const auto active = read_active();
    // Each scan starts after the key the thread's last scan took: the share
    // of a key that keeps winning the strategy while locked (a heavy weight)
    // is spread evenly over the others, not all given to the first in line.
    const std::size_t m = active.size();
    for (std::size_t j = 0; j < m; ++j) {
      const std::size_t at = (sh.scan_start + j) % m;
      if (auto l = try_take(sh, active[at], now)) {
        sh.scan_start = static_cast<std::uint32_t>(at + 1);
        return *l;
      }
    }
    auto err = make_error(active, now, false);
    if (err) return std::move(*err);
    // A key came back between the scan and the error: scan again.
  }
  // Keys keep flipping under us; report what we saw rather than spin.
  return std::move(*make_error(read_active(), now, true));
}

/// Takes key `slot` if it is available, or if its lockout is over (then as
/// the single probe that decides whether it recovered).
template <class Provider, class... Policies>
KEYPOOL_ALWAYS_INLINE std::optional<lease> basic_pool<Provider, Policies...>::try_take(shard& sh, std::uint32_t slot,
                                                                                       lazy_now& now) noexcept {
  slot_data& k = slots_[slot];
  std::uint64_t w = k.state.load(std::memory_order_acquire);
  // Read once: a reload may change it at any time, and a limit of 0 read
  // the second time would count as spent.
  const std::uint32_t limit = k.daily_limit.load(std::memory_order_relaxed);
  if (detail::key_state::is_available(w)) [[likely]] {
    if (limit != 0 && !take_daily(k, limit, now)) [[unlikely]]
      return std::nullopt;
    return hand_out(sh, k, slot, 0);
  }
  // Locked, disabled or probing: only now read the fine clock.
  const auto st = detail::key_state::decode(w);
  if (st.until > now.upper_bound()) return std::nullopt;
  const std::uint64_t t = now.get();
  if (st.until > t) return std::nullopt;
  if (limit != 0 && !daily_left(k, limit)) {
    // The day's budget ran out while the key was locked: lock it to the
    // day's end, so errors say when it really comes back.
    lock_for_the_day(k, w, clock_.wall_now(), now);
    return std::nullopt;
  }
  // The lockout is over: exactly one caller wins the CAS and probes.
  const detail::key_state probe =
      st.next(key_status::probing, st.reason,
              detail::key_state::until_after(clock_ms(static_cast<long long>(t)), probe_timeout_));
  if (!k.state.compare_exchange_strong(w, probe.encode(), std::memory_order_acq_rel, std::memory_order_relaxed))
    return std::nullopt;
  if (limit != 0 && !take_daily(k, limit, now)) {
    // The fleet's budget (shared_budget_backend) is spent: no probe today.
    lock_for_the_day(k, probe.encode(), clock_.wall_now(), now);
    return std::nullopt;
  }
  return hand_out(sh, k, slot, probe.encode());
}

/// `probe`: the probe's state word, 0 for a plain lease. `own_shard`: the
/// caller already knows sh is its thread's own shard.
template <class Provider, class... Policies>
KEYPOOL_ALWAYS_INLINE lease basic_pool<Provider, Policies...>::hand_out(shard& sh, slot_data& k, std::uint32_t slot,
                                                                        std::uint64_t probe, bool own_shard) noexcept {
  if constexpr (tracks_in_flight_v<selection_type>) k.in_flight.fetch_add(1, std::memory_order_relaxed);
  detail::bump(sh, detail::counters_of(sh, slot)[detail::counter_requests], own_shard);
  return lease(slot, probe, k.record.load(std::memory_order_acquire), this);
}

/// The slots in rotation (error and scan paths).
template <class Provider, class... Policies>
inline std::vector<std::uint32_t> basic_pool<Provider, Policies...>::read_active() const {
  const detail::key_view v(view_.load(std::memory_order_acquire));
  return std::vector<std::uint32_t>(v.keys(), v.keys() + v.size());
}

template <class Provider, class... Policies>
inline std::optional<std::chrono::milliseconds> basic_pool<Provider, Policies...>::wait_of(
    const detail::key_state& st, clock_ms now) const noexcept {
  if (st.status == key_status::available) return std::nullopt;
  if (st.until == detail::key_state::never) return std::nullopt;
  const auto left = static_cast<long long>(st.until) - now.count();
  return std::chrono::milliseconds(std::max<long long>(left, 0));
}

/// Empty when some key turned out to be available after all (unless
/// `always`, which builds the error whatever it finds).
template <class Provider, class... Policies>
inline std::optional<unavailable_error> basic_pool<Provider, Policies...>::make_error(
    const std::vector<std::uint32_t>& active, lazy_now& now, bool always) const {
  std::vector<key_unavailability> why;
  const clock_ms t(static_cast<long long>(now.get()));
  for (std::uint32_t s : active) {
    const slot_data& k = slots_[s];
    const auto st = detail::key_state::decode(k.state.load(std::memory_order_acquire));
    if (st.status == key_status::available && !always) return std::nullopt;
    key_unavailability u;
    u.variable = k.record.load(std::memory_order_acquire)->variable;
    u.status = st.status;
    u.reason = st.reason;
    u.available_in = wait_of(st, t);
    if (!always && st.status != key_status::probing && u.available_in && u.available_in->count() == 0)
      return std::nullopt;  // expired meanwhile: worth another scan
    why.push_back(std::move(u));
  }
  return unavailable_error(info_.display_name, std::move(why));
}

}  // namespace keypool
