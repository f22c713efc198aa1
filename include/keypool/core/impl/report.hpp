#pragma once
/// basic_pool's writer side for one key: what a report changes beyond the
/// counters (lockouts, disables, escalation, a probe's verdict), enable(),
/// and the transitions told to the state backend. Included at the end of
/// core/pool.hpp.

namespace keypool {

/// report() from a thread without a shard of its own yet, or on the
/// overflow shard.
template <class Provider, class... Policies>
void basic_pool<Provider, Policies...>::count_without_shard(std::uint32_t slot, outcome_kind kind,
                                                            std::uint64_t stamp) {
  shard& sh = shard_of(detail::this_thread_slot());
  detail::count_report(sh, slot, kind, stamp, /*own_shard=*/false);
}

/// Counted into the caller's shard (made on first use, or the overflow
/// shard) like a report, off the pick and report paths.
template <class Provider, class... Policies>
void basic_pool<Provider, Policies...>::note_attempt(const lease& l, const outcome& o) {
  const std::uint32_t slot = l.slot();
  if (l.pool_ != this || slot >= capacity_) [[unlikely]]
    return count_misuse();
  const auto stamp = static_cast<std::uint64_t>(clock_.coarse_now().count());
  shard& sh = shard_of(detail::this_thread_slot());
  detail::bump(sh, detail::counters_of(sh, slot)[detail::counter_requests], /*own_shard=*/false);
  detail::count_report(sh, slot, o.kind, stamp, /*own_shard=*/false);
}

/// The lease's outcome changes the key's record: a failure, a probe's
/// verdict, or the first success after failures.
template <class Provider, class... Policies>
void basic_pool<Provider, Policies...>::report_slow(const lease& l, const outcome& o) {
  const std::uint32_t slot = l.slot();
  slot_data& k = slots_[slot];
  if (o.kind == outcome_kind::success) {
    if (k.consecutive.load(std::memory_order_relaxed) != 0) k.consecutive.store(0, std::memory_order_relaxed);
    // One decay step per success, also when successes race.
    for (auto e = k.ejections.load(std::memory_order_relaxed);
         e != 0 && !k.ejections.compare_exchange_weak(e, e - 1, std::memory_order_relaxed);) {
    }
    if (l.is_probe()) finish_probe(k, l);
    return;
  }
  if (!blames_key(o.kind)) {
    // Not the key's fault; a probe that got this far proved the key works.
    if (l.is_probe()) finish_probe(k, l);
    return;
  }
  const std::uint32_t consecutive = k.consecutive.fetch_add(1, std::memory_order_relaxed) + 1;
  const clock_ms now = clock_.now();
  if (disables_key(o.kind)) {
    const bool shared_limit = !l.account().empty() && o.kind == outcome_kind::out_of_credit;
    const std::uint64_t until =
        recheck_.count() <= 0 ? detail::key_state::never : detail::key_state::until_after(now, recheck_);
    apply(slot, key_status::disabled, o.kind, until);
    if (shared_limit) apply_to_account(slot, l.account(), key_status::disabled, o.kind, until);
    return;
  }
  lock_after(l, o, consecutive, now);
}

/// A rate limit or spent quota: lock the key (and its account) for the
/// lockout policy's time. Requests in flight when the key was locked report
/// their 429s after the lockout began: they are the same event, not further
/// lockouts, so they neither escalate (ejections) nor shorten it (apply
/// keeps the longer). Which report is the first is decided by the CAS that
/// takes the key out of rotation (or out of its current probe): two 429s at
/// the same moment escalate once.
template <class Provider, class... Policies>
inline void basic_pool<Provider, Policies...>::lock_after(const lease& l, const outcome& o, std::uint32_t consecutive,
                                                          clock_ms now) {
  const std::uint32_t slot = l.slot();
  slot_data& k = slots_[slot];
  std::uint64_t w = k.state.load(std::memory_order_acquire);
  std::uint64_t until = 0;
  for (;;) {
    const bool first = l.is_probe() ? probe_is_current(w, l) : detail::key_state::is_available(w);
    std::uint32_t ejections = k.ejections.load(std::memory_order_relaxed);
    if (!first && ejections != 0) --ejections;  // the level of the lockout in place
    const lockout_context ctx{consecutive, ejections, static_cast<std::uint64_t>(now.count()) * 31 + slot};
    const std::chrono::milliseconds d = lockout_.lockout_for(o, ctx);
    if (d.count() <= 0) {
      if (l.is_probe()) finish_probe(k, l);
      return;
    }
    until = detail::key_state::until_after(now, d);
    if (!first) {
      apply(slot, key_status::locked, o.kind, until);
      break;
    }
    const detail::key_state nx = detail::key_state::decode(w).next(key_status::locked, o.kind, until);
    if (k.state.compare_exchange_weak(w, nx.encode(), std::memory_order_acq_rel, std::memory_order_acquire)) {
      if (ejections < 64) k.ejections.fetch_add(1, std::memory_order_relaxed);
      publish(*k.record.load(std::memory_order_acquire), nx);
      break;
    }
    // The state moved (another report, a reload's daily-limit flag): decide again.
  }
  if (!l.account().empty()) apply_to_account(slot, l.account(), key_status::locked, o.kind, until);
}

/// A report that names no slot of this pool: counted, never applied.
template <class Provider, class... Policies>
void basic_pool<Provider, Policies...>::count_misuse() noexcept {
  misuse_.fetch_add(1, std::memory_order_relaxed);
}

template <class Provider, class... Policies>
inline bool basic_pool<Provider, Policies...>::enable(std::string_view variable) {
  std::lock_guard g(mu_);
  for (std::uint32_t s : active_) {
    if (slots_[s].record.load(std::memory_order_acquire)->variable != variable) continue;
    enable_slot(s);
    return true;
  }
  return false;
}

/// Puts a slot back into rotation with a clean record, and tells the
/// backend.
template <class Provider, class... Policies>
inline void basic_pool<Provider, Policies...>::enable_slot(std::uint32_t s) {
  slot_data& k = slots_[s];
  std::uint64_t w = k.state.load(std::memory_order_acquire);
  while (!k.state.compare_exchange_weak(
      w, detail::key_state::decode(w).next(key_status::available, outcome_kind::success, 0).encode(),
      std::memory_order_acq_rel, std::memory_order_acquire)) {
  }
  k.consecutive.store(0, std::memory_order_relaxed);
  k.ejections.store(0, std::memory_order_relaxed);
  publish(*k.record.load(std::memory_order_acquire),
          detail::key_state{key_status::available, outcome_kind::success, 0, 0});
}

/// Moves a key to a worse state. Never shortens a lockout: a later, longer
/// hint extends it, a shorter one leaves it. A disabled key stays disabled
/// when a late rate limit arrives.
template <class Provider, class... Policies>
inline void basic_pool<Provider, Policies...>::apply(std::uint32_t slot, key_status st, outcome_kind reason,
                                                     std::uint64_t until, bool publish_change) noexcept {
  slot_data& k = slots_[slot];
  std::uint64_t w = k.state.load(std::memory_order_acquire);
  for (;;) {
    const auto cur = detail::key_state::decode(w);
    const detail::key_state nx = cur.next(st, reason, until);
    if (cur.status == key_status::locked || cur.status == key_status::disabled) {
      if (cur.status == key_status::disabled && st == key_status::locked) return;
      if (cur.status == st && cur.until >= until) return;
    }
    if (k.state.compare_exchange_weak(w, nx.encode(), std::memory_order_acq_rel, std::memory_order_acquire)) {
      if (publish_change) publish(*k.record.load(std::memory_order_acquire), nx);
      return;
    }
  }
}

/// Keys of one account share its limits (Groq: organisation, Gemini:
/// project, Z.AI: account), so a limit seen on one holds for all.
template <class Provider, class... Policies>
inline void basic_pool<Provider, Policies...>::apply_to_account(std::uint32_t origin, std::string_view account,
                                                                key_status st, outcome_kind reason,
                                                                std::uint64_t until) {
  for (std::uint32_t s : read_active()) {
    if (s == origin) continue;
    const auto* rec = slots_[s].record.load(std::memory_order_acquire);
    if (rec && rec->account == account) apply(s, st, reason, until);
  }
}

/// Whether state word `w` is still the probe that lease `l` took: the same
/// word but for the daily-limit flag, which a reload may flip meanwhile.
/// Probe words never repeat (each holds its probe's later `until`), so a
/// stale probe never passes for the current one.
template <class Provider, class... Policies>
inline bool basic_pool<Provider, Policies...>::probe_is_current(std::uint64_t w, const lease& l) const noexcept {
  return l.probe_ != 0 && ((w ^ l.probe_) & ~detail::key_state::metered_bit) == 0;
}

/// The probe's verdict: the key works. Ignored when the probe is stale
/// (expired and handed to someone else, or the state moved on).
template <class Provider, class... Policies>
inline void basic_pool<Provider, Policies...>::finish_probe(slot_data& k, const lease& l) noexcept {
  std::uint64_t w = k.state.load(std::memory_order_acquire);
  while (probe_is_current(w, l)) {
    const detail::key_state nx = detail::key_state::decode(w).next(key_status::available, outcome_kind::success, 0);
    // Retried: a reload may have flipped the daily-limit flag meanwhile (any
    // other change ends the loop), or the weak CAS failed spuriously.
    if (k.state.compare_exchange_weak(w, nx.encode(), std::memory_order_acq_rel, std::memory_order_acquire)) {
      publish(*k.record.load(std::memory_order_acquire), nx);
      return;
    }
  }
}

/// Tells the state backend, in wall-clock time.
template <class Provider, class... Policies>
inline void basic_pool<Provider, Policies...>::publish(const detail::key_record& rec,
                                                       const detail::key_state& st) noexcept {
  if constexpr (!std::is_same_v<state_type, state::local>) {
    state_change c{info_.id, rec.fingerprint, st.status, st.reason, {}};
    if (st.status == key_status::available) {
      c.until = clock_.wall_now();
    } else if (st.until == detail::key_state::never) {
      c.until = std::chrono::system_clock::time_point::max();
    } else {
      const auto left = clock_ms(static_cast<long long>(st.until)) - clock_.now();
      // Beyond two centuries is "never" (and would overflow the nanoseconds).
      c.until = left >= std::chrono::years{200}
                    ? std::chrono::system_clock::time_point::max()
                    : clock_.wall_now() + std::chrono::duration_cast<std::chrono::system_clock::duration>(left);
    }
    state_.publish(c);
  }
}

}  // namespace keypool
