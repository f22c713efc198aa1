#pragma once
/// basic_pool: the keys of one provider, handed out by a selection strategy,
/// locked out by a lockout policy, counted per thread.
///
/// Progress guarantees:
///  - acquire(): lock-free; wait-free when the chosen key is available (a
///    reload publishes a new immutable key set: pickers never retry). Writes
///    only the calling thread's shard (plus one CAS when a lockout expired,
///    and the shared counters of strategies/keys that need them:
///    strict_round_robin, least_loaded, daily limits).
///  - report(): lock-free; a success on a healthy key writes only the calling
///    thread's shard.
///  - snapshot(), reload(), enable(): take a mutex among themselves, never
///    one that acquire() or report() wait for.

#include <keypool/clock/concept.hpp>
#include <keypool/core/detail/attributes.hpp>
#include <keypool/core/detail/key_state.hpp>
#include <keypool/core/detail/key_view.hpp>
#include <keypool/core/detail/single_writer.hpp>
#include <keypool/core/detail/thread_slot.hpp>
#include <keypool/core/error.hpp>
#include <keypool/core/key.hpp>
#include <keypool/core/lease.hpp>
#include <keypool/core/outcome.hpp>
#include <keypool/core/policy.hpp>
#include <keypool/core/provider.hpp>
#include <keypool/core/result.hpp>
#include <keypool/core/stats.hpp>
#include <keypool/lockout/concept.hpp>
#include <keypool/selection/concept.hpp>
#include <keypool/state/concept.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace keypool {

/// Run-time settings of a pool; the policy objects carry their own knobs
/// (e.g. lockout::fixed{std::chrono::seconds{30}}).
template <class Selection, class Lockout, class Clock, class State = state::local>
struct pool_options {
  Selection selection{};
  Lockout lockout{};
  Clock clock{};
  State state{};
  /// How long a disabled key (invalid, forbidden, out of credit) waits before
  /// a single probe re-checks it. Zero: never; only enable() brings it back
  /// (a reload keeps a key's state, also when it was removed and is listed
  /// again).
  std::chrono::milliseconds recheck_disabled_after{std::chrono::minutes{15}};
  /// A probe not reported within this time passes to another caller, so a
  /// lost lease cannot keep a key out of rotation for good.
  std::chrono::milliseconds probe_timeout{std::chrono::seconds{30}};
  /// Distinct keys the pool can ever hold. Slots are never recycled (a lease
  /// may still point at a removed key), so each new secret a reload brings in
  /// takes one. 0: max(64, 4 × the initial key count).
  std::uint32_t capacity = 0;
  /// Longest weighted schedule; larger weight sums are scaled down.
  std::uint32_t max_schedule = 4096;
  /// Keys with a daily_limit, with a backend that shares budgets
  /// (shared_budget_backend, e.g. state::redis): units reserved from the
  /// fleet per round trip. 1: exact, one round trip per such request; N: one
  /// round trip per N requests, and at most N-1 units per instance and key
  /// left unused at the end of the day (never more than the limit granted).
  std::uint32_t daily_chunk = 1;
};

/// What reload() changed, by variable name.
struct reload_result {
  std::vector<std::string> added, kept, removed;
};

template <class Provider = runtime_provider, class... Policies>
class basic_pool {
  static_assert(provider<Provider>,
                "keypool::basic_pool: the first parameter must be a provider: a type with "
                "`static provider_info info()` (see keypool/providers) or keypool::runtime_provider");
  static_assert((detail::is_policy_tag_v<Policies> && ...),
                "keypool::basic_pool: every policy must be wrapped in a tag: "
                "policy::selection<S>, policy::lockout<L>, policy::clock<C> or policy::state<B>");
  using sel_find = detail::find_policy<policy::selection, policy::default_selection, Policies...>;
  using lock_find = detail::find_policy<policy::lockout, policy::default_lockout, Policies...>;
  using clock_find = detail::find_policy<policy::clock, policy::default_clock, Policies...>;
  using state_find = detail::find_policy<policy::state, policy::default_state, Policies...>;
  static_assert(sel_find::count <= 1, "keypool::basic_pool: policy::selection<> given more than once");
  static_assert(lock_find::count <= 1, "keypool::basic_pool: policy::lockout<> given more than once");
  static_assert(clock_find::count <= 1, "keypool::basic_pool: policy::clock<> given more than once");
  static_assert(state_find::count <= 1, "keypool::basic_pool: policy::state<> given more than once");

 public:
  using provider_type = Provider;
  using selection_type = typename sel_find::type;
  using lockout_type = typename lock_find::type;
  using clock_type = typename clock_find::type;
  using state_type = typename state_find::type;
  using options = pool_options<selection_type, lockout_type, clock_type, state_type>;
  using acquire_result = result<lease, unavailable_error>;

  static_assert(selection_strategy<selection_type>,
                "keypool::basic_pool: policy::selection<S>: S is not a keypool::selection_strategy "
                "(it needs a default-constructible `thread_state` and "
                "`std::uint32_t next(thread_state&, const keypool::candidates&) noexcept`)");
  static_assert(lockout_policy<lockout_type>,
                "keypool::basic_pool: policy::lockout<L>: L is not a keypool::lockout_policy "
                "(it needs `std::chrono::milliseconds lockout_for(const outcome&, const "
                "lockout_context&) const noexcept`)");
  static_assert(clock_source<clock_type>,
                "keypool::basic_pool: policy::clock<C>: C is not a keypool::clock_source (it needs "
                "now(), coarse_now(), coarse_lag() and wall_now(), all const noexcept)");
  static_assert(state_backend<state_type>,
                "keypool::basic_pool: policy::state<B>: B is not a keypool::state_backend (it needs "
                "`void publish(const state_change&) noexcept`)");

 private:
  template <class... New>
  struct rebind {
    static_assert((detail::is_policy_tag_v<New> && ...),
                  "keypool::basic_pool::with<>: every argument must be a policy tag");
    using type =
        basic_pool<Provider,
                   policy::selection<typename detail::find_policy<policy::selection, selection_type, New...>::type>,
                   policy::lockout<typename detail::find_policy<policy::lockout, lockout_type, New...>::type>,
                   policy::clock<typename detail::find_policy<policy::clock, clock_type, New...>::type>,
                   policy::state<typename detail::find_policy<policy::state, state_type, New...>::type>>;
  };

 public:
  /// The same pool with some policies replaced: pool::with<policy::clock<clock::manual>>.
  template <class... New>
  using with = typename rebind<New...>::type;

  /// A pool of a compile-time provider. Throws invalid_key_spec (naming the
  /// variable, never the secret) for an unusable key list.
  explicit basic_pool(std::vector<key_spec> keys, options opts = {}) requires static_provider<Provider>
      : basic_pool(init_tag{}, Provider::info(), std::move(keys), std::move(opts)) {}

  /// pool({{"GROQ_API_KEY_1", "gsk_…"}, …}): preferred over the copy
  /// constructor for brace lists, which would otherwise be ambiguous.
  basic_pool(std::initializer_list<key_spec> keys, options opts = {}) requires static_provider<Provider>
      : basic_pool(init_tag{}, Provider::info(), std::vector<key_spec>(keys), std::move(opts)) {}

  /// A pool of a provider described at run time (basic_pool<runtime_provider>).
  basic_pool(provider_info info, std::vector<key_spec> keys,
             options opts = {}) requires std::same_as<Provider, runtime_provider>
      : basic_pool(init_tag{}, std::move(info), std::move(keys), std::move(opts)) {}

 private:
  struct init_tag {};
  basic_pool(init_tag, provider_info info, std::vector<key_spec> keys, options opts)
      : info_(std::move(info)),
        sel_(std::move(opts.selection)),
        lockout_(std::move(opts.lockout)),
        clock_(std::move(opts.clock)),
        state_(std::move(opts.state)),
        recheck_(opts.recheck_disabled_after),
        probe_timeout_(opts.probe_timeout),
        coarse_lag_(clock_.coarse_lag()),
        capacity_(opts.capacity ? opts.capacity
                                : std::max<std::uint32_t>(64, static_cast<std::uint32_t>(keys.size()) * 4)),
        max_schedule_(std::max<std::uint32_t>(opts.max_schedule, 1)),
        daily_chunk_(std::max<std::uint32_t>(opts.daily_chunk, 1)),
        slots_(new slot_data[capacity_]),
        overflow_(make_shard(capacity_)) {
    overflow_->shared = true;
    reload(std::move(keys));
  }

 public:
  basic_pool(const basic_pool&) = delete;
  basic_pool& operator=(const basic_pool&) = delete;

  ~basic_pool() {
    for (auto& s : shards_) shard_deleter{}(s.load(std::memory_order_acquire));
  }

  const provider_info& provider() const noexcept { return info_; }
  const clock_type& clock() const noexcept { return clock_; }
  state_type& backend() noexcept { return state_; }
  selection_type& selection() noexcept { return sel_; }

  /// A key to use for one request, or why there is none. Lock-free.
  /// Inlined into the caller: the common pick is a few dozen instructions,
  /// and a call with its register saves cost a third of it.
  KEYPOOL_ALWAYS_INLINE acquire_result acquire() {
    // Null for a thread's first pick and for threads on the overflow shard.
    shard* sh = shards_[detail::current_thread_slot()].load(std::memory_order_acquire);
    if (sh) [[likely]] {
      // The common pick: the strategy's choice is available. No clock, no
      // shared write; everything else is acquire_next's business.
      std::uint32_t slot = 0, n = 0;
      if (pick_slot(*sh, slot, n)) [[likely]] {
        slot_data& k = slots_[slot];
        if (handed_out_plainly(k)) [[likely]]
          return hand_out(*sh, k, slot, 0, false, /*own_shard=*/true);
      }
      return acquire_next(*sh, slot, n);
    }
    return acquire_without_shard();
  }

  /// acquire(), throwing unavailable_exception instead of returning the error.
  lease acquire_or_throw() {
    auto r = acquire();
    if (!r) throw unavailable_exception(std::move(r).error());
    return std::move(r).value();
  }

  /// Feed back what happened with a lease. Lock-free. Call once per lease.
  /// Inlined like acquire(); a success on a healthy key is counted here,
  /// everything else goes to report_slow.
  KEYPOOL_ALWAYS_INLINE void report(const lease& l, const outcome& o) {
    const std::uint32_t slot = l.slot();
    const auto stamp = static_cast<std::uint64_t>(clock_.coarse_now().count());
    if (shard* sh = shards_[detail::current_thread_slot()].load(std::memory_order_acquire)) [[likely]] {
      count_report(*sh, slot, o.kind, stamp, /*own_shard=*/true);
    } else {
      count_without_shard(slot, o.kind, stamp);
    }
    slot_data& k = slots_[slot];
    if constexpr (tracks_in_flight_v<selection_type>) k.in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (o.kind == outcome_kind::success && !l.is_probe() && k.consecutive.load(std::memory_order_relaxed) == 0 &&
        k.ejections.load(std::memory_order_relaxed) == 0) [[likely]]
      return;
    report_slow(l, o);
  }

 private:
  /// report() from a thread without a shard of its own yet, or on the
  /// overflow shard.
  [[gnu::noinline]] void count_without_shard(std::uint32_t slot, outcome_kind kind, std::uint64_t stamp) {
    shard& sh = shard_of(detail::this_thread_slot());
    count_report(sh, slot, kind, stamp, /*own_shard=*/false);
  }

  /// The lease's outcome changes the key's record: a failure, a probe's
  /// verdict, or the first success after failures.
  [[gnu::noinline]] void report_slow(const lease& l, const outcome& o) {
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
    const bool shared_limit =
        !l.account().empty() && o.kind != outcome_kind::invalid_key && o.kind != outcome_kind::forbidden;
    if (disables_key(o.kind)) {
      const std::uint64_t until =
          recheck_.count() <= 0 ? detail::key_state::never : detail::key_state::until_after(now, recheck_);
      apply(slot, key_status::disabled, o.kind, until);
      if (shared_limit) apply_to_account(slot, l.account(), key_status::disabled, o.kind, until);
      return;
    }
    // Requests in flight when the key was locked report their 429s after the
    // lockout began: they are the same event, not further lockouts, so they
    // neither escalate (ejections) nor shorten it (apply keeps the longer).
    const bool late = !l.is_probe() && !detail::key_state::is_available(k.state.load(std::memory_order_acquire));
    std::uint32_t ejections = k.ejections.load(std::memory_order_relaxed);
    if (late && ejections != 0) --ejections;  // the level of the lockout in place
    const lockout_context ctx{consecutive, ejections, static_cast<std::uint64_t>(now.count()) * 31 + slot};
    const std::chrono::milliseconds d = lockout_.lockout_for(o, ctx);
    if (d.count() <= 0) {
      if (l.is_probe()) finish_probe(k, l);
      return;
    }
    if (!late && ejections < 64) k.ejections.fetch_add(1, std::memory_order_relaxed);
    const std::uint64_t until = detail::key_state::until_after(now, d);
    apply(slot, key_status::locked, o.kind, until);
    if (shared_limit) apply_to_account(slot, l.account(), key_status::locked, o.kind, until);
  }

 public:
  /// Put a disabled or locked key back into rotation now. Returns false when
  /// no key of that variable is configured.
  bool enable(std::string_view variable) {
    std::lock_guard g(mu_);
    for (std::uint32_t s : active_) {
      if (slots_[s].record.load(std::memory_order_acquire)->variable != variable) continue;
      enable_slot(s);
      return true;
    }
    return false;
  }

  /// Replace the key set. Keys whose secret stays keep their state and
  /// statistics (matched by fingerprint); new keys start fresh; removed keys
  /// stop being handed out. A key removed earlier and listed again counts as
  /// added, and keeps what the pool knew of it: a lockout runs on, a
  /// disabled key stays disabled (enable() brings it back). Pickers are
  /// never blocked. Throws (and changes nothing) for an invalid list or when
  /// capacity would be exceeded.
  reload_result reload(std::vector<key_spec> keys) {
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
      throw std::length_error("keypool: the " + info_.display_name + " pool holds at most " +
                              std::to_string(capacity_) +
                              " distinct keys over its lifetime; construct it with a larger "
                              "options.capacity");
    reload_result res;
    std::vector<std::uint32_t> weights;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      key_spec& spec = keys[i];
      if (ids[i] == no_slot || std::find(active_.begin(), active_.end(), ids[i]) == active_.end()) {
        if (ids[i] == no_slot) ids[i] = used_++;
        res.added.push_back(spec.variable);  // new, or back after an earlier reload removed it
      } else {
        res.kept.push_back(spec.variable);
      }
      slot_data& k = slots_[ids[i]];
      const auto* old = k.record.load(std::memory_order_acquire);
      if (!old || old->variable != spec.variable || old->weight != spec.weight || old->account != spec.account ||
          old->daily_limit != spec.daily_limit) {
        auto rec = std::make_unique<detail::key_record>();
        rec->variable = spec.variable;
        rec->redacted = redact(spec.secret);
        rec->fingerprint = fps[i];
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
      weights.push_back(spec.weight);
    }
    for (std::uint32_t s : active_)
      if (std::find(ids.begin(), ids.end(), s) == ids.end())
        res.removed.push_back(slots_[s].record.load(std::memory_order_acquire)->variable);

    std::vector<std::uint32_t> sched;
    if constexpr (uses_weights_v<selection_type>) sched = detail::weighted_schedule(weights, max_schedule_);
    publish_view(detail::key_view::encode(ids, sched));
    active_ = std::move(ids);
    return res;
  }

  /// A transition another process made (through the state backend): lock,
  /// disable or release the key with that fingerprint here too, without
  /// publishing it again. A remote lockout never shortens a local one.
  /// Returns false when no key of this pool has that fingerprint.
  bool apply_remote(std::string_view fp, key_status status, outcome_kind reason,
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

  /// Every key in rotation with its counters and state. Never blocks pickers.
  pool_snapshot snapshot() const {
    std::lock_guard g(mu_);
    pool_snapshot snap;
    snap.provider = info_.display_name;
    snap.provider_id = info_.id;
    const clock_ms now = clock_.now();
    for (std::uint32_t s : active_) {
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
        const auto* c = counters_of(*sh, s);
        ks.requests += c[counter_requests].load(std::memory_order_relaxed);
        for (std::size_t o = 0; o < outcome_kind_count; ++o)
          ks.outcomes[o] += c[counter_outcome + o].load(std::memory_order_relaxed);
        last = std::max(last, c[counter_last_used].load(std::memory_order_relaxed));
      }
      if (last) {
        ks.last_used = clock_ms(static_cast<long long>(last));
        ks.last_used_ago = std::max(clock_ms(0), clock_.coarse_now() - *ks.last_used);
      }
      snap.keys.push_back(std::move(ks));
    }
    return snap;
  }

 private:
  static constexpr std::uint32_t no_slot = ~std::uint32_t{0};
  static constexpr std::size_t counter_requests = 0;
  static constexpr std::size_t counter_last_used = 1;
  static constexpr std::size_t counter_outcome = 2;
  /// One key's counters in a shard fill one 128-byte block: a report touches
  /// one block, and the block's offset is the slot's offset in slots_ (both
  /// slot << 7), computed once on the pick path.
  static constexpr std::size_t counters_per_key = 16;
  static_assert(counter_outcome + outcome_kind_count <= counters_per_key);

  /// Everything shared about one key, on its own 128-byte block (adjacent-line
  /// prefetch pairs 64-byte lines on x86). Read on every pick, written only on
  /// transitions.
  struct alignas(128) slot_data {
    std::atomic<std::uint64_t> state{0};
    std::atomic<const detail::key_record*> record{nullptr};
    std::atomic<std::uint32_t> consecutive{0};
    std::atomic<std::uint32_t> ejections{0};
    std::atomic<std::uint32_t> daily_limit{0};
    std::atomic<std::int32_t> in_flight{0};
    std::atomic<std::uint64_t> daily{0};          ///< day << 32 | count
    std::atomic<std::uint64_t> daily_granted{0};  ///< day << 32 | units the backend granted
  };
  static_assert(sizeof(slot_data) == 128);
  static_assert(counters_per_key * sizeof(std::atomic<std::uint64_t>) == sizeof(slot_data));

  /// One thread's private counters and strategy state. Single writer (its
  /// thread), so counters are bumped without an atomic read-modify-write; the overflow
  /// shard (shared == true) uses fetch_add and a lock for the strategy state.
  ///
  /// The counters (counters_per_key per slot) follow the shard in the same
  /// 128-byte-aligned block: the pick finds a key's block at a fixed offset
  /// from the shard pointer it already holds, without loading an array
  /// pointer first. Written on every pick, so no other thread's data shares
  /// a line at either end. Made by make_shard().
  struct alignas(128) shard {
    typename selection_type::thread_state ts{};
    std::uint32_t scan_start = 0;  ///< where acquire_slow's next fallback scan begins (position)
    bool shared = false;
    std::mutex mu;

    std::atomic<std::uint64_t>* counters() noexcept {
      return std::launder(
          reinterpret_cast<std::atomic<std::uint64_t>*>(reinterpret_cast<std::byte*>(this) + sizeof(shard)));
    }
    const std::atomic<std::uint64_t>* counters() const noexcept { return const_cast<shard*>(this)->counters(); }
  };
  static_assert(sizeof(shard) % 128 == 0);

  struct shard_deleter {
    void operator()(shard* s) const noexcept {
      if (!s) return;
      s->~shard();  // the counters are trivially destructible
      ::operator delete (static_cast<void*>(s), std::align_val_t{alignof(shard)});
    }
  };
  using shard_ptr = std::unique_ptr<shard, shard_deleter>;

  /// A shard with room for the counters of `capacity` slots, all zero.
  static shard_ptr make_shard(std::uint32_t capacity) {
    const std::size_t n = std::size_t{capacity} * counters_per_key;
    void* raw =
        ::operator new (sizeof(shard) + n * sizeof(std::atomic<std::uint64_t>), std::align_val_t{alignof(shard)});
    shard_ptr s(new (raw) shard);
    auto* c = reinterpret_cast<std::byte*>(raw) + sizeof(shard);
    for (std::size_t i = 0; i < n; ++i) new (c + i * sizeof(std::atomic<std::uint64_t>)) std::atomic<std::uint64_t>(0);
    return s;
  }

  /// Reads each clock at most once per acquire, and only if needed: a locked
  /// key whose lockout is clearly not over (beyond the coarse clock's lag) is
  /// skipped on the coarse clock alone (4 ns instead of 20).
  struct lazy_now {
    const clock_type& clock;
    clock_ms lag;  ///< the pool's copy of clock.coarse_lag()
    std::uint64_t value = 0, coarse_value = 0;
    bool read = false, coarse_read = false;
    KEYPOOL_ALWAYS_INLINE std::uint64_t get() noexcept {
      if (!read) {
        value = detail::key_state::to_until(clock.now());
        read = true;
      }
      return value;
    }
    /// A time no earlier than now().
    KEYPOOL_ALWAYS_INLINE std::uint64_t upper_bound() noexcept {
      if (read) return value;
      if (!coarse_read) {
        coarse_value = detail::key_state::to_until(clock.coarse_now() + lag);
        coarse_read = true;
      }
      return coarse_value;
    }
  };

  /// The shard of thread slot `s`, made on the thread's first pick on this
  /// pool; the shared overflow shard for overflow_slot.
  shard& shard_of(std::uint32_t s) {
    if (s >= detail::max_thread_slots) return *overflow_;
    if (shard* p = shards_[s].load(std::memory_order_acquire)) return *p;
    shard_ptr fresh = make_shard(capacity_);
    shard* expected = nullptr;
    // Only this thread owns slot s, but be safe against a racing reuse.
    if (shards_[s].compare_exchange_strong(expected, fresh.get(), std::memory_order_acq_rel)) return *fresh.release();
    return *expected;
  }

  /// The key can be handed out as it is: available, and no daily budget to
  /// count against (the pick paths' common case).
  KEYPOOL_ALWAYS_INLINE static bool handed_out_plainly(const slot_data& k) noexcept {
    return detail::key_state::is_plain(k.state.load(std::memory_order_acquire));
  }

  /// Key `slot`'s counter block in shard sh.
  KEYPOOL_ALWAYS_INLINE static std::atomic<std::uint64_t>* counters_of(shard& sh, std::uint32_t slot) noexcept {
    return sh.counters() + std::size_t{slot} * counters_per_key;
  }
  static const std::atomic<std::uint64_t>* counters_of(const shard& sh, std::uint32_t slot) noexcept {
    return sh.counters() + std::size_t{slot} * counters_per_key;
  }
  /// `own_shard`: the caller knows sh is its thread's own shard (single
  /// writer: a plain add). Otherwise it may be the shared overflow shard.
  KEYPOOL_ALWAYS_INLINE static void bump(const shard& sh, std::atomic<std::uint64_t>& a, bool own_shard) noexcept {
    if (!own_shard && sh.shared) [[unlikely]]
      a.fetch_add(1, std::memory_order_relaxed);
    else
      detail::single_writer_increment(a);
  }
  /// One report: its outcome and the "last used" stamp.
  KEYPOOL_ALWAYS_INLINE static void count_report(shard& sh, std::uint32_t slot, outcome_kind kind, std::uint64_t stamp,
                                                 bool own_shard) noexcept {
    std::atomic<std::uint64_t>* c = counters_of(sh, slot);
    bump(sh, c[counter_outcome + static_cast<std::size_t>(kind)], own_shard);
    c[counter_last_used].store(stamp, std::memory_order_relaxed);
  }

  candidates make_candidates(detail::key_view v) const noexcept {
    if constexpr (uses_weights_v<selection_type>)
      return candidates(v.order_size(), v.keys(), v.order(), &slots_[0].in_flight, sizeof(slot_data));
    else
      return candidates(v.size(), v.keys(), nullptr, &slots_[0].in_flight, sizeof(slot_data));
  }

  /// Asks the strategy for a key of the published key set and maps it to a
  /// slot. Wait-free: the set is immutable once published. False when the
  /// set is empty.
  KEYPOOL_ALWAYS_INLINE bool pick_slot(shard& sh, std::uint32_t& slot, std::uint32_t& n) noexcept {
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
  [[gnu::noinline]] acquire_result acquire_without_shard() {
    shard& sh = shard_of(detail::this_thread_slot());
    std::unique_lock g(sh.mu, std::defer_lock);
    if (sh.shared) g.lock();
    std::uint32_t slot = 0, n = 0;
    pick_slot(sh, slot, n);
    return acquire_slow(sh, slot, n);
  }

  /// Publishes a key set unless it equals the current one (a reload that
  /// changes nothing keeps no new block). Callers hold mu_.
  void publish_view(const std::vector<std::uint32_t>& words) {
    const std::uint32_t* cur = view_.load(std::memory_order_relaxed);
    const detail::key_view cv(cur);
    if (words.size() == std::size_t{2} + cv.size() + cv.order_size() && std::equal(words.begin(), words.end(), cur))
      return;
    auto block = std::make_unique<std::uint32_t[]>(words.size());
    std::copy(words.begin(), words.end(), block.get());
    views_.push_back(std::move(block));  // before publishing: a throw leaves the old set in place
    view_.store(views_.back().get(), std::memory_order_release);
  }

  /// The slots in rotation (error and scan paths).
  std::vector<std::uint32_t> read_active() const {
    const detail::key_view v(view_.load(std::memory_order_acquire));
    return std::vector<std::uint32_t>(v.keys(), v.keys() + v.size());
  }

  /// The strategy's first choice (`first`, of `n` keys) was not simply
  /// available. Its common case, kept small: the key is locked with time to
  /// run (one coarse read shows it) and the strategy's next choice is
  /// available. Anything else goes on to acquire_slow. Marked cold for the
  /// caller's sake: acquire() is inlined there, and otherwise GCC makes this
  /// call the fall-through and jumps to the common pick (four taken branches
  /// a pick instead of two, and ±0.25 ns with the loop's alignment).
  [[gnu::noinline, gnu::cold]] acquire_result acquire_next(shard& sh, std::uint32_t first, std::uint32_t n) {
    if (n > 1) [[likely]] {
      const std::uint64_t w = slots_[first].state.load(std::memory_order_acquire);
      if (!detail::key_state::is_available(w) &&
          (w & detail::key_state::until_mask) > detail::key_state::to_until(clock_.coarse_now() + coarse_lag_)) {
        std::uint32_t slot = 0;
        if (!pick_slot(sh, slot, n)) [[unlikely]]
          return acquire_slow(sh, slot, n);  // the set was emptied meanwhile
        slot_data& k = slots_[slot];
        if (handed_out_plainly(k)) [[likely]]
          return hand_out(sh, k, slot, 0, false, /*own_shard=*/true);
        return acquire_slow(sh, slot, n);
      }
    }
    return acquire_slow(sh, first, n);
  }

  /// The strategy's first choice (`first`, of `n` keys) was not simply
  /// available: probe it if its lockout is over, else ask the strategy again
  /// (once per key), then scan, then build the error.
  [[gnu::noinline]] acquire_result acquire_slow(shard& sh, std::uint32_t first, std::uint32_t n) {
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
  [[gnu::noinline, gnu::cold]] acquire_result acquire_scan(shard& sh, lazy_now& now) {
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

  KEYPOOL_ALWAYS_INLINE std::optional<lease> try_take(shard& sh, std::uint32_t slot, lazy_now& now) noexcept {
    slot_data& k = slots_[slot];
    std::uint64_t w = k.state.load(std::memory_order_acquire);
    // Read once: a reload may change it at any time, and a limit of 0 read
    // the second time would count as spent.
    const std::uint32_t limit = k.daily_limit.load(std::memory_order_relaxed);
    if (detail::key_state::is_available(w)) [[likely]] {
      if (limit != 0 && !take_daily(k, limit, now)) [[unlikely]]
        return std::nullopt;
      return hand_out(sh, k, slot, 0, false);
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
    return hand_out(sh, k, slot, probe.gen & detail::key_state::gen_mask, true);
  }

  /// `own_shard`: the caller already knows sh is its thread's own shard.
  KEYPOOL_ALWAYS_INLINE lease hand_out(shard& sh, slot_data& k, std::uint32_t slot, std::uint32_t gen, bool probe,
                                       bool own_shard = false) noexcept {
    if constexpr (tracks_in_flight_v<selection_type>) k.in_flight.fetch_add(1, std::memory_order_relaxed);
    bump(sh, counters_of(sh, slot)[counter_requests], own_shard);
    return lease(slot, gen, probe, k.record.load(std::memory_order_acquire));
  }

  std::uint32_t day_index(std::chrono::system_clock::time_point wall) const noexcept {
    return provider_day::at(wall, info_.day_boundary_utc).index;
  }

  bool daily_left(slot_data& k, std::uint32_t limit) const noexcept {
    const auto d = k.daily.load(std::memory_order_relaxed);
    return (d >> 32) != day_index(clock_.wall_now()) || static_cast<std::uint32_t>(d) < limit;
  }

  /// Counts one request against the key's daily limit. When the day's budget
  /// is spent the key is locked (quota_exhausted) until the provider's day
  /// boundary instead of being sent to a certain 429.
  [[gnu::noinline]] bool take_daily(slot_data& k, std::uint32_t limit, lazy_now& now) noexcept {
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

  /// Puts a slot back into rotation with a clean record, and tells the
  /// backend.
  void enable_slot(std::uint32_t s) {
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

  /// Locks a key whose daily budget is spent (quota_exhausted) until the
  /// provider's day boundary, unless its state moved on from `w` (a reload
  /// flipping only the daily-limit flag is not such a move).
  /// Out of line and cold: try_take is inlined at every acquire_slow step.
  [[gnu::noinline, gnu::cold]] void lock_for_the_day(slot_data& k, std::uint64_t w,
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
  bool shared_allows(slot_data& k, const provider_day& pd, std::uint32_t count, std::uint32_t limit) noexcept {
    const std::uint64_t day = pd.index;
    std::uint64_t g = k.daily_granted.load(std::memory_order_acquire);
    if (count < ((g >> 32) == day ? static_cast<std::uint32_t>(g) : 0)) return true;
    const auto* rec = k.record.load(std::memory_order_acquire);
    const std::optional<std::uint32_t> got = state_.reserve_daily(info_.id, rec->fingerprint, pd, limit, daily_chunk_);
    if (!got) return true;
    if (*got == 0) return false;
    for (;;) {
      const std::uint32_t granted = (g >> 32) == day ? static_cast<std::uint32_t>(g) : 0;
      if (k.daily_granted.compare_exchange_weak(g, day << 32 | (granted + *got), std::memory_order_acq_rel))
        return true;
    }
  }

  /// Moves a key to a worse state. Never shortens a lockout: a later, longer
  /// hint extends it, a shorter one leaves it. A disabled key stays disabled
  /// when a late rate limit arrives.
  void apply(std::uint32_t slot, key_status st, outcome_kind reason, std::uint64_t until,
             bool publish_change = true) noexcept {
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
  void apply_to_account(std::uint32_t origin, std::string_view account, key_status st, outcome_kind reason,
                        std::uint64_t until) {
    for (std::uint32_t s : read_active()) {
      if (s == origin) continue;
      const auto* rec = slots_[s].record.load(std::memory_order_acquire);
      if (rec && rec->account == account) apply(s, st, reason, until);
    }
  }

  /// The probe's verdict: the key works. Ignored when the probe is stale
  /// (expired and handed to someone else, or the state moved on).
  void finish_probe(slot_data& k, const lease& l) noexcept {
    std::uint64_t w = k.state.load(std::memory_order_acquire);
    for (;;) {
      const auto cur = detail::key_state::decode(w);
      if (cur.status != key_status::probing || cur.gen != l.gen()) return;
      const detail::key_state nx = cur.next(key_status::available, outcome_kind::success, 0);
      // Retried: a reload may have flipped the daily-limit flag meanwhile (any
      // other change ends the loop above), or the weak CAS failed spuriously.
      if (k.state.compare_exchange_weak(w, nx.encode(), std::memory_order_acq_rel, std::memory_order_acquire)) {
        publish(*k.record.load(std::memory_order_acquire), nx);
        return;
      }
    }
  }

  /// Tells the state backend, in wall-clock time.
  void publish(const detail::key_record& rec, const detail::key_state& st) noexcept {
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

  std::optional<std::chrono::milliseconds> wait_of(const detail::key_state& st, clock_ms now) const noexcept {
    if (st.status == key_status::available) return std::nullopt;
    if (st.until == detail::key_state::never) return std::nullopt;
    const auto left = static_cast<long long>(st.until) - now.count();
    return std::chrono::milliseconds(std::max<long long>(left, 0));
  }

  /// Empty when some key turned out to be available after all (unless
  /// `always`, which builds the error whatever it finds).
  std::optional<unavailable_error> make_error(const std::vector<std::uint32_t>& active, lazy_now& now,
                                              bool always) const {
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

  std::uint32_t find_slot(const std::string& fp, const std::string& secret) const {
    for (std::uint32_t s = 0; s < used_; ++s) {
      const auto* rec = slots_[s].record.load(std::memory_order_acquire);
      if (rec && rec->fingerprint == fp && rec->secret == secret) return s;
    }
    return no_slot;
  }

  provider_info info_;
  selection_type sel_;
  lockout_type lockout_;
  clock_type clock_;
  state_type state_;
  std::chrono::milliseconds recheck_;
  std::chrono::milliseconds probe_timeout_;
  clock_ms coarse_lag_;  ///< read once: a constant of the clock, off the pick path
  std::uint32_t capacity_;
  std::uint32_t max_schedule_;
  std::uint32_t daily_chunk_;
  std::unique_ptr<slot_data[]> slots_;
  /// The published key set (detail::key_view words); read on every pick, so
  /// on a block of its own with the shards (never written by a pick).
  alignas(128) std::atomic<const std::uint32_t*> view_{empty_view_};
  /// Per-thread shards by thread slot; null at overflow_slot and
  /// unassigned_slot, so the pick path tests for null only.
  std::atomic<shard*> shards_[detail::max_thread_slots + 2] = {};
  shard_ptr overflow_;

  // Writers' side (reload, enable, snapshot), never taken by pickers.
  mutable std::mutex mu_;
  std::uint32_t used_ = 0;
  std::vector<std::uint32_t> active_;
  std::vector<std::unique_ptr<detail::key_record>> records_;
  /// Every key set ever published: pickers may still read an older one.
  std::vector<std::unique_ptr<std::uint32_t[]>> views_;
  static constexpr std::uint32_t empty_view_[2] = {0, 0};
};

/// The common composition: round-robin, 60 s fixed lockout, steady clock.
template <class Provider>
using pool = basic_pool<Provider>;

/// A pool whose provider is described at run time.
using dynamic_pool = basic_pool<runtime_provider>;

}  // namespace keypool
