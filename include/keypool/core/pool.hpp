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
///
/// This header declares the pool and holds its two inlined entry points;
/// the rest is out of line, by concern, in core/impl/: pick.hpp (the rest of
/// acquire()), report.hpp (lockouts, probes, the backend), reload.hpp (key
/// sets and snapshots) and daily.hpp (daily budgets). The per-thread counter
/// layout is core/detail/shard.hpp; a key's shared record core/detail/key_slot.hpp.

#include <keypool/clock/concept.hpp>
#include <keypool/core/detail/attributes.hpp>
#include <keypool/core/detail/key_slot.hpp>
#include <keypool/core/detail/key_state.hpp>
#include <keypool/core/detail/key_view.hpp>
#include <keypool/core/detail/lazy_now.hpp>
#include <keypool/core/detail/shard.hpp>
#include <keypool/core/detail/thread_slot.hpp>
#include <keypool/core/error.hpp>
#include <keypool/core/key.hpp>
#include <keypool/core/key_status.hpp>
#include <keypool/core/lease.hpp>
#include <keypool/core/outcome.hpp>
#include <keypool/core/policy.hpp>
#include <keypool/core/pool_options.hpp>
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
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace keypool {

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
        probe_timeout_(std::clamp(opts.probe_timeout, std::chrono::milliseconds{1}, longest_probe_timeout)),
        coarse_lag_(clock_.coarse_lag()),
        capacity_(opts.capacity ? opts.capacity
                                : std::max<std::uint32_t>(64, static_cast<std::uint32_t>(keys.size()) * 4)),
        daily_chunk_(std::max<std::uint32_t>(opts.daily_chunk, 1)),
        slots_(new slot_data[capacity_]),
        overflow_(detail::make_shard<thread_state>(capacity_)) {
    overflow_->shared = true;
    reload(std::move(keys));
  }

 public:
  basic_pool(const basic_pool&) = delete;
  basic_pool& operator=(const basic_pool&) = delete;

  ~basic_pool() {
    for (auto& s : shards_) detail::shard_deleter<thread_state>{}(s.load(std::memory_order_acquire));
  }

  const provider_info& provider() const noexcept { return info_; }
  const clock_type& clock() const noexcept { return clock_; }
  state_type& backend() noexcept { return state_; }
  selection_type& selection() noexcept { return sel_; }

  /// A key to use for one request, or why there is none. Lock-free.
  /// Inlined into the caller: the common pick is a few dozen instructions,
  /// and a call with its register saves would cost a good share of it.
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
          return hand_out(*sh, k, slot, 0, /*own_shard=*/true);
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

  /// Feed back what happened with a lease. Lock-free. Call once per lease,
  /// from one thread: a lease of another pool, an empty lease or one
  /// reported already is ignored and counted (pool_snapshot::misuse).
  /// Inlined like acquire(); a success on a healthy key is counted here,
  /// everything else goes to report_slow.
  KEYPOOL_ALWAYS_INLINE void report(const lease& l, const outcome& o) {
    const std::uint32_t slot = l.slot();
    // A lease of another pool, an empty one or one reported already: it
    // names no slot of this pool, and must not touch one.
    if (l.pool_ != this || slot >= capacity_) [[unlikely]]
      return count_misuse();
    l.pool_ = nullptr;
    const auto stamp = static_cast<std::uint64_t>(clock_.coarse_now().count());
    if (shard* sh = shards_[detail::current_thread_slot()].load(std::memory_order_acquire)) [[likely]] {
      detail::count_report(*sh, slot, o.kind, stamp, /*own_shard=*/true);
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

  /// One attempt made with the lease ended with `o` and the lease goes on to
  /// another attempt on the same key (a retired model, then the next one):
  /// counts `o` and one more request against the key without ending the
  /// lease, so the statistics count HTTP requests, not leases. Lock-free;
  /// changes no key state. A lease of another pool or one reported already
  /// counts as misuse.
  void note_attempt(const lease& l, const outcome& o);

  /// Put a disabled or locked key back into rotation now. Returns false when
  /// no key of that variable is configured.
  bool enable(std::string_view variable);

  /// Replace the key set. Keys whose secret stays keep their state and
  /// statistics (matched by fingerprint); new keys start fresh; removed keys
  /// stop being handed out. A key removed earlier and listed again counts as
  /// added, and keeps what the pool knew of it: a lockout runs on, a
  /// disabled key stays disabled (enable() brings it back). Pickers are
  /// never blocked. Throws (and changes nothing) for an invalid list or when
  /// capacity would be exceeded.
  reload_result reload(std::vector<key_spec> keys);

  /// A transition another process made (through the state backend): lock,
  /// disable or release the key with that fingerprint here too, without
  /// publishing it again. A remote lockout never shortens a local one.
  /// Returns false when no key of this pool has that fingerprint.
  bool apply_remote(std::string_view fp, key_status status, outcome_kind reason,
                    std::chrono::system_clock::time_point until);

  /// Every key in rotation with its counters and state. Never blocks pickers.
  pool_snapshot snapshot() const;

 private:
  using slot_data = detail::key_slot;
  using thread_state = typename selection_type::thread_state;
  using shard = detail::shard<thread_state>;
  using shard_ptr = detail::shard_ptr<thread_state>;
  using lazy_now = detail::lazy_now<clock_type>;
  static constexpr std::uint32_t no_slot = ~std::uint32_t{0};
  /// Probes end at the latest this long after they start, so each probe's
  /// state word holds a later `until` than the one before and names it alone
  /// (lease::probe_); a longer timeout means "never" all the same.
  static constexpr std::chrono::milliseconds longest_probe_timeout{std::chrono::hours{24 * 365 * 1000}};

  // The pick (core/impl/pick.hpp).
  shard& shard_of(std::uint32_t s);
  KEYPOOL_ALWAYS_INLINE static bool handed_out_plainly(const slot_data& k) noexcept;
  candidates make_candidates(detail::key_view v) const noexcept;
  KEYPOOL_ALWAYS_INLINE bool pick_slot(shard& sh, std::uint32_t& slot, std::uint32_t& n) noexcept;
  [[gnu::noinline]] acquire_result acquire_without_shard();
  [[gnu::noinline, gnu::cold]] acquire_result acquire_next(shard& sh, std::uint32_t first, std::uint32_t n);
  [[gnu::noinline]] acquire_result acquire_slow(shard& sh, std::uint32_t first, std::uint32_t n);
  [[gnu::noinline, gnu::cold]] acquire_result acquire_scan(shard& sh, lazy_now& now);
  KEYPOOL_ALWAYS_INLINE std::optional<lease> try_take(shard& sh, std::uint32_t slot, lazy_now& now) noexcept;
  KEYPOOL_ALWAYS_INLINE lease hand_out(shard& sh, slot_data& k, std::uint32_t slot, std::uint64_t probe,
                                       bool own_shard = false) noexcept;
  std::vector<std::uint32_t> read_active() const;
  std::optional<std::chrono::milliseconds> wait_of(const detail::key_state& st, clock_ms now) const noexcept;
  std::optional<unavailable_error> make_error(const std::vector<std::uint32_t>& active, lazy_now& now,
                                              bool always) const;

  // Reports, lockouts and probes (core/impl/report.hpp).
  [[gnu::noinline]] void count_without_shard(std::uint32_t slot, outcome_kind kind, std::uint64_t stamp);
  [[gnu::noinline]] void report_slow(const lease& l, const outcome& o);
  [[gnu::noinline, gnu::cold]] void count_misuse() noexcept;
  void lock_after(const lease& l, const outcome& o, std::uint32_t consecutive, clock_ms now);
  bool probe_is_current(std::uint64_t w, const lease& l) const noexcept;
  void enable_slot(std::uint32_t s);
  void apply(std::uint32_t slot, key_status st, outcome_kind reason, std::uint64_t until,
             bool publish_change = true) noexcept;
  void apply_to_account(std::uint32_t origin, std::string_view account, key_status st, outcome_kind reason,
                        std::uint64_t until);
  void finish_probe(slot_data& k, const lease& l) noexcept;
  void publish(const detail::key_record& rec, const detail::key_state& st) noexcept;

  // Key sets (core/impl/reload.hpp).
  void refresh_record(slot_data& k, key_spec& spec, const std::string& fp);
  void share_account_limits(const std::vector<std::uint32_t>& added);
  void publish_view(const std::vector<std::uint32_t>& words);
  std::uint32_t find_slot(const std::string& fp, const std::string& secret) const;
  key_snapshot snapshot_key(std::uint32_t s, clock_ms now) const;

  // Daily budgets (core/impl/daily.hpp).
  std::uint32_t day_index(std::chrono::system_clock::time_point wall) const noexcept;
  bool daily_left(slot_data& k, std::uint32_t limit) const noexcept;
  [[gnu::noinline]] bool take_daily(slot_data& k, std::uint32_t limit, lazy_now& now) noexcept;
  [[gnu::noinline, gnu::cold]] void lock_for_the_day(slot_data& k, std::uint64_t w,
                                                     std::chrono::system_clock::time_point wall,
                                                     lazy_now& now) noexcept;
  bool shared_allows(slot_data& k, const provider_day& pd, std::uint32_t count, std::uint32_t limit) noexcept;

  provider_info info_;
  selection_type sel_;
  lockout_type lockout_;
  clock_type clock_;
  state_type state_;
  std::chrono::milliseconds recheck_;
  std::chrono::milliseconds probe_timeout_;
  clock_ms coarse_lag_;  ///< read once: a constant of the clock, off the pick path
  std::uint32_t capacity_;
  std::uint32_t daily_chunk_;
  std::unique_ptr<slot_data[]> slots_;
  /// The published key set (detail::key_view words); read on every pick, so
  /// on a block of its own with the shards (never written by a pick).
  alignas(128) std::atomic<const std::uint32_t*> view_{empty_view_};
  /// Per-thread shards by thread slot; null at overflow_slot and
  /// unassigned_slot, so the pick path tests for null only.
  std::atomic<shard*> shards_[detail::max_thread_slots + 2] = {};
  shard_ptr overflow_;

  /// Reports ignored as misuse (count_misuse).
  std::atomic<std::uint64_t> misuse_{0};

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

#include <keypool/core/impl/daily.hpp>
#include <keypool/core/impl/pick.hpp>
#include <keypool/core/impl/reload.hpp>
#include <keypool/core/impl/report.hpp>
