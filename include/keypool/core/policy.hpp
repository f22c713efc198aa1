#pragma once
/// Named, order-independent policy tags for basic_pool:
///   basic_pool<providers::groq, policy::selection<selection::weighted>,
///              policy::lockout<lockout::retry_after>>
/// Anything not named takes its default. Boost.Hana finds the tags in the
/// pack; a wrong or repeated tag fails with a static_assert that says so.

#include <keypool/clock/steady.hpp>
#include <keypool/lockout/fixed.hpp>
#include <keypool/lockout/hinted.hpp>
#include <keypool/selection/round_robin.hpp>
#include <keypool/state/concept.hpp>

#include <boost/hana/count_if.hpp>
#include <boost/hana/find_if.hpp>
#include <boost/hana/optional.hpp>
#include <boost/hana/traits.hpp>
#include <boost/hana/tuple.hpp>
#include <boost/hana/type.hpp>

#include <type_traits>

namespace keypool::policy {

/// How the pool chooses the next key.
/// Concept: keypool::selection_strategy (keypool/selection/concept.hpp).
/// Default: selection::round_robin.
/// Shipped: selection::round_robin, strict_round_robin, random,
/// random_weighted, weighted (basic_weighted<MaxSchedule>), least_loaded.
template <class S>
struct selection {
  using type = S;
};

/// How long a key sits out after a rate limit or a spent quota.
/// Concept: keypool::lockout_policy (keypool/lockout/concept.hpp).
/// Default: lockout::hinted (the provider's time when it gives one, clamped
/// to [1 s, 24 h], quotas to 31 days; 60 s when it gives none).
/// Shipped: lockout::hinted, fixed (exactly 60 s), exponential, retry_after,
/// none.
template <class L>
struct lockout {
  using type = L;
};

/// Where lockouts, probes and statistics read the time.
/// Concept: keypool::clock_source (keypool/clock/concept.hpp).
/// Default: clock::steady.
/// Shipped: clock::steady, ticking, manual (tests).
template <class C>
struct clock {
  using type = C;
};

/// Where key state is shared beyond one pool.
/// Concept: keypool::state_backend, optionally shared_budget_backend
/// (keypool/state/concept.hpp).
/// Default: state::local (shares nothing).
/// Shipped: state::local, state::redis (keypool/state/redis.hpp, target
/// keypool::redis).
template <class B>
struct state {
  using type = B;
};

using default_selection = keypool::selection::round_robin;
using default_lockout = keypool::lockout::hinted;
using default_clock = keypool::clock::steady;
using default_state = keypool::state::local;

}  // namespace keypool::policy

namespace keypool::detail {

template <template <class> class Tag, class T>
struct is_tag : std::false_type {};
template <template <class> class Tag, class U>
struct is_tag<Tag, Tag<U>> : std::true_type {};

template <class T>
inline constexpr bool is_policy_tag_v = is_tag<policy::selection, T>::value || is_tag<policy::lockout, T>::value ||
                                        is_tag<policy::clock, T>::value || is_tag<policy::state, T>::value;

template <template <class> class Tag>
struct tag_pred {
  template <class T>
  constexpr auto operator()(T) const {
    return boost::hana::bool_c<is_tag<Tag, typename T::type>::value>;
  }
};

/// The type named by the first Tag<...> in Ps..., or Default.
template <template <class> class Tag, class Default, class... Ps>
struct find_policy {
  static constexpr auto found = boost::hana::find_if(boost::hana::tuple_t<Ps...>, tag_pred<Tag>{});
  using type = typename std::remove_cvref_t<decltype(found.value_or(boost::hana::type_c<Tag<Default>>))>::type::type;
  static constexpr std::size_t count =
      decltype(boost::hana::count_if(boost::hana::tuple_t<Ps...>, tag_pred<Tag>{}))::value;
};

}  // namespace keypool::detail
