#pragma once
/// basic_pool's writer side for the key set: reload() and the immutable key
/// sets it publishes, transitions from other processes (apply_remote) and
/// snapshots. These take the pool's mutex among themselves, never one a
/// picker waits for. Included at the end of core/pool.hpp.

namespace keypool {

template <class Provider, class... Policies>
inline reload_result basic_pool<Provider, Policies...>::reload(std::vector<key_spec> keys) {
  // The pool keeps its own copies; wipe every secret it was handed,
  // whether the reload succeeds or throws.
  struct wipe_on_exit {
    std::vector<key_spec>& specs;
    ~wipe_on_exit() {
      for (auto& k : specs) {
        k.secret.resize(k.secret.capacity());
        detail::secure_wipe(k.secret.data(), k.secret.size());
      }
    }
  } wipe{keys};
  validate(keys);
  std::lock_guard g(mu_);
  std::vector<std::uint32_t> ids(keys.size(), 0);
  std::vector<std::string> fps(keys.size());
  std::uint32_t fresh = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    fps[i] = fingerprint(keys[i].secret);
    ids[i] = find_slot(fps[i], keys[i].secret);
    if (ids[i] == no_slot) ++fresh;
  }
  if (used_ + fresh > capacity_)
    throw std::length_error("keypool: the " + info_.display_name + " pool holds at most " + std::to_string(capacity_) +
                            " distinct keys over its lifetime; construct it with a larger "
                            "options.capacity");
  reload_result res;
  std::vector<std::uint32_t> weights, added;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    key_spec& spec = keys[i];
    if (ids[i] == no_slot || std::find(active_.begin(), active_.end(), ids[i]) == active_.end()) {
      if (ids[i] == no_slot) ids[i] = used_++;
      res.added.push_back(spec.variable);  // new, or back after an earlier reload removed it
      added.push_back(ids[i]);
    } else {
      res.kept.push_back(spec.variable);
    }
    refresh_record(slots_[ids[i]], spec, fps[i]);
    weights.push_back(spec.weight);
  }
  for (std::uint32_t s : active_)
    if (std::find(ids.begin(), ids.end(), s) == ids.end())
      res.removed.push_back(slots_[s].record.load(std::memory_order_acquire)->variable);

  share_account_limits(added);  // before the new set is published: no pick sees them unlimited

  std::vector<std::uint32_t> sched;
  if constexpr (uses_weights_v<selection_type>)
    sched = detail::weighted_schedule(weights, max_schedule_v<selection_type>);
  publish_view(detail::key_view::encode(ids, sched));
  active_ = std::move(ids);
  return res;
}

/// Gives slot k a new record when the spec renames or reconfigures its key
/// (the secret moves into the record); keeps the record otherwise. Callers
/// hold mu_.
template <class Provider, class... Policies>
inline void basic_pool<Provider, Policies...>::refresh_record(slot_data& k, key_spec& spec, const std::string& fp) {
  const auto* old = k.record.load(std::memory_order_acquire);
  if (old && old->variable == spec.variable && old->weight == spec.weight && old->account == spec.account &&
      old->daily_limit == spec.daily_limit)
    return;
  auto rec = std::make_unique<detail::key_record>();
  rec->variable = spec.variable;
  rec->redacted = redact(spec.secret);
  rec->fingerprint = fp;
  rec->account = spec.account;
  rec->weight = spec.weight;
  rec->daily_limit = spec.daily_limit;
  rec->secret = std::move(spec.secret);
  k.daily_limit.store(rec->daily_limit, std::memory_order_relaxed);
  // The fast path's copy of "has a daily limit" (key_state::metered_bit).
  if (rec->daily_limit != 0)
    k.state.fetch_or(detail::key_state::metered_bit, std::memory_order_acq_rel);
  else
    k.state.fetch_and(~detail::key_state::metered_bit, std::memory_order_acq_rel);
  // The old record stays alive: leases may still point at it.
  k.record.store(rec.get(), std::memory_order_release);
  records_.push_back(std::move(rec));
}

/// Keys that join the rotation (new, or listed again) into an account whose
/// limit holds share its lockout: the account walk of a lockout covered only
/// the keys in rotation then. A key's own spent daily budget is no account
/// limit. Callers hold mu_; `active_` is still the previous set.
template <class Provider, class... Policies>
inline void basic_pool<Provider, Policies...>::share_account_limits(const std::vector<std::uint32_t>& added) {
  if (added.empty()) return;
  const std::uint64_t now = detail::key_state::to_until(clock_.now());
  for (std::uint32_t a : added) {
    const std::string& account = slots_[a].record.load(std::memory_order_acquire)->account;
    if (account.empty()) continue;
    for (std::uint32_t s : active_) {
      slot_data& k = slots_[s];
      const auto* rec = k.record.load(std::memory_order_acquire);
      if (s == a || rec->account != account) continue;
      const auto st = detail::key_state::decode(k.state.load(std::memory_order_acquire));
      const bool account_limit = st.status == key_status::locked ||
                                 (st.status == key_status::disabled && st.reason == outcome_kind::out_of_credit);
      if (!account_limit || st.until <= now) continue;
      if (st.reason == outcome_kind::quota_exhausted && rec->daily_limit != 0 && !daily_left(k, rec->daily_limit))
        continue;
      apply(a, st.status, st.reason, st.until);
    }
  }
}

/// Publishes a key set unless it equals the current one (a reload that
/// changes nothing keeps no new block). Callers hold mu_.
template <class Provider, class... Policies>
inline void basic_pool<Provider, Policies...>::publish_view(const std::vector<std::uint32_t>& words) {
  const std::uint32_t* cur = view_.load(std::memory_order_relaxed);
  const detail::key_view cv(cur);
  if (words.size() == std::size_t{2} + cv.size() + cv.order_size() && std::equal(words.begin(), words.end(), cur))
    return;
  auto block = std::make_unique<std::uint32_t[]>(words.size());
  std::copy(words.begin(), words.end(), block.get());
  views_.push_back(std::move(block));  // before publishing: a throw leaves the old set in place
  view_.store(views_.back().get(), std::memory_order_release);
}

template <class Provider, class... Policies>
inline std::uint32_t basic_pool<Provider, Policies...>::find_slot(const std::string& fp,
                                                                  const std::string& secret) const {
  for (std::uint32_t s = 0; s < used_; ++s) {
    const auto* rec = slots_[s].record.load(std::memory_order_acquire);
    if (rec && rec->fingerprint == fp && rec->secret == secret) return s;
  }
  return no_slot;
}

template <class Provider, class... Policies>
inline bool basic_pool<Provider, Policies...>::apply_remote(std::string_view fp, key_status status, outcome_kind reason,
                                                            std::chrono::system_clock::time_point until) {
  std::uint32_t slot = no_slot;
  {
    std::lock_guard g(mu_);
    for (std::uint32_t s = 0; s < used_; ++s)
      if (slots_[s].record.load(std::memory_order_acquire)->fingerprint == fp) slot = s;
  }
  if (slot == no_slot) return false;
  slot_data& k = slots_[slot];
  if (status == key_status::available) {
    std::uint64_t w = k.state.load(std::memory_order_acquire);
    for (;;) {
      const auto cur = detail::key_state::decode(w);
      if (cur.status == key_status::available) return true;
      if (k.state.compare_exchange_weak(w, cur.next(key_status::available, outcome_kind::success, 0).encode(),
                                        std::memory_order_acq_rel, std::memory_order_acquire))
        return true;
    }
  }
  std::uint64_t u = detail::key_state::never;
  if (until != std::chrono::system_clock::time_point::max()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_.wall_now());
    if (left.count() <= 0) return true;  // already over
    u = detail::key_state::to_until(clock_.now() + left);
  }
  apply(slot, status, reason, u, false);
  return true;
}

template <class Provider, class... Policies>
inline pool_snapshot basic_pool<Provider, Policies...>::snapshot() const {
  std::lock_guard g(mu_);
  pool_snapshot snap;
  snap.provider = info_.display_name;
  snap.provider_id = info_.id;
  snap.misuse = misuse_.load(std::memory_order_relaxed);
  const clock_ms now = clock_.now();
  for (std::uint32_t s : active_) snap.keys.push_back(snapshot_key(s, now));
  return snap;
}

/// One key of snapshot(): its record, its state as of `now`, and its
/// counters summed over every thread's shard. Callers hold mu_.
template <class Provider, class... Policies>
inline key_snapshot basic_pool<Provider, Policies...>::snapshot_key(std::uint32_t s, clock_ms now) const {
  const slot_data& k = slots_[s];
  const auto* rec = k.record.load(std::memory_order_acquire);
  key_snapshot ks;
  ks.variable = rec->variable;
  ks.redacted = rec->redacted;
  ks.fingerprint = rec->fingerprint;
  ks.account = rec->account;
  ks.weight = rec->weight;
  ks.daily_limit = rec->daily_limit;
  ks.slot = s;
  const auto st = detail::key_state::decode(k.state.load(std::memory_order_acquire));
  ks.status = st.status;
  ks.reason = st.reason;
  ks.available_in = wait_of(st, now);
  if (st.status == key_status::locked && ks.available_in && ks.available_in->count() == 0) {
    // The lockout is over: the next acquire() hands the key out (the
    // state word itself changes only then).
    ks.status = key_status::available;
    ks.reason = outcome_kind::success;
    ks.available_in.reset();
  }
  ks.consecutive_failures = k.consecutive.load(std::memory_order_relaxed);
  if (rec->daily_limit) {
    const auto d = k.daily.load(std::memory_order_relaxed);
    if ((d >> 32) == day_index(clock_.wall_now())) ks.daily_used = static_cast<std::uint32_t>(d);
  }
  std::uint64_t last = 0;
  for (std::uint32_t t = 0; t <= detail::max_thread_slots; ++t) {
    const shard* sh = t == detail::overflow_slot ? overflow_.get() : shards_[t].load(std::memory_order_acquire);
    if (!sh) continue;
    const auto* c = detail::counters_of(*sh, s);
    ks.requests += c[detail::counter_requests].load(std::memory_order_relaxed);
    for (std::size_t o = 0; o < outcome_kind_count; ++o)
      ks.outcomes[o] += c[detail::counter_outcome + o].load(std::memory_order_relaxed);
    last = std::max(last, c[detail::counter_last_used].load(std::memory_order_relaxed));
  }
  if (last) {
    ks.last_used = clock_ms(static_cast<long long>(last));
    ks.last_used_ago = std::max(clock_ms(0), clock_.coarse_now() - *ks.last_used);
  }
  return ks;
}

}  // namespace keypool
