#pragma once
/// chain: pools of different providers in priority order. acquire() walks
/// them in order and fails over to the next provider when one has nothing
/// available; the combined error lists every provider's reason and earliest
/// availability. The pools are Boost.Hana-composed, so each keeps its own
/// compile-time policies (a free provider round-robin, a paid one weighted).
///
/// Progress: acquire() and report() are lock-free (they call the pools').

#include <keypool/core/error.hpp>
#include <keypool/core/lease.hpp>
#include <keypool/core/outcome.hpp>
#include <keypool/core/result.hpp>
#include <keypool/core/stats.hpp>

#include <boost/hana/at.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/integral_constant.hpp>
#include <boost/hana/range.hpp>
#include <boost/hana/tuple.hpp>

#include <array>
#include <bitset>
#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace keypool {

/// A lease plus which provider of the chain it came from.
struct chain_lease {
  std::size_t index = 0;      ///< position in the chain
  std::string_view provider;  ///< display name, "GROQ"
  std::string_view provider_id;
  keypool::lease lease;
};

/// Nothing in the chain could serve: one unavailable_error per provider tried.
class chain_error {
 public:
  chain_error() = default;
  explicit chain_error(std::vector<unavailable_error> providers) : providers_(std::move(providers)) {}

  const std::vector<unavailable_error>& providers() const noexcept { return providers_; }

  std::optional<std::chrono::milliseconds> next_available() const noexcept {
    std::optional<std::chrono::milliseconds> best;
    for (const auto& p : providers_)
      if (auto n = p.next_available(); n && (!best || *n < *best)) best = n;
    return best;
  }

  /// "No provider available: All GROQ API keys are rate limited; next available
  /// in 42 s. All NVIDIA API keys are invalid."
  std::string message() const {
    if (providers_.empty()) return "No provider configured";
    std::string m = "No provider available: ";
    for (std::size_t i = 0; i < providers_.size(); ++i) {
      if (i) m += ". ";
      m += providers_[i].message();
    }
    return m;
  }

 private:
  std::vector<unavailable_error> providers_;
};

template <class... Pools>
class chain {
  static_assert(sizeof...(Pools) > 0, "keypool::chain needs at least one pool");

 public:
  static constexpr std::size_t size = sizeof...(Pools);
  using acquire_result = result<chain_lease, chain_error>;
  /// Providers to leave out of one acquire (e.g. those that just failed
  /// provider-wide); bit i is the chain's position i.
  using skip_set = std::bitset<sizeof...(Pools)>;

  /// The pools stay owned by the caller and must outlive the chain.
  explicit chain(Pools&... pools) : pools_(&pools...) {}

  /// First available key in priority order. Lock-free.
  acquire_result acquire(skip_set skip = {}) {
    std::optional<chain_lease> got;
    std::vector<unavailable_error> why;
    boost::hana::for_each(indices(), [&](auto i) {
      if (got || skip.test(i)) return;
      auto& pool = *boost::hana::at(pools_, i);
      auto r = pool.acquire();
      if (r)
        got = chain_lease{i, pool.provider().display_name, pool.provider().id, *r};
      else
        why.push_back(std::move(r).error());
    });
    if (got) return std::move(*got);
    return chain_error(std::move(why));
  }

  /// A key of the provider at position `index` only. Throws
  /// std::out_of_range for an index past the chain's end.
  result<chain_lease, unavailable_error> acquire_at(std::size_t index) {
    if (index >= size)
      throw std::out_of_range("keypool::chain::acquire_at: index " + std::to_string(index) + " but the chain has " +
                              std::to_string(size) + " providers");
    std::optional<result<chain_lease, unavailable_error>> out;
    visit(index, [&](auto& pool) {
      auto r = pool.acquire();
      if (r)
        out.emplace(chain_lease{index, pool.provider().display_name, pool.provider().id, *r});
      else
        out.emplace(std::move(r).error());
    });
    return std::move(*out);
  }

  /// Feed back the outcome to the pool the lease came from. Lock-free.
  void report(const chain_lease& l, const outcome& o) {
    visit(l.index, [&](auto& pool) { pool.report(l.lease, o); });
  }

  /// An attempt with the lease ended with `o`; the lease goes on to another
  /// (basic_pool::note_attempt). Lock-free.
  void note_attempt(const chain_lease& l, const outcome& o) {
    visit(l.index, [&](auto& pool) { pool.note_attempt(l.lease, o); });
  }

  /// Position of a provider by id ("groq"), if it is in the chain.
  std::optional<std::size_t> find(std::string_view provider_id) const {
    std::optional<std::size_t> found;
    boost::hana::for_each(indices(), [&](auto i) {
      if (!found && boost::hana::at(pools_, i)->provider().id == provider_id) found = i;
    });
    return found;
  }

  std::string_view provider_id(std::size_t index) const {
    std::string_view id;
    visit(index, [&](auto& pool) { id = pool.provider().id; });
    return id;
  }

  /// Every pool's snapshot, in chain order (feed to report::text).
  std::vector<pool_snapshot> snapshot() const {
    std::vector<pool_snapshot> out;
    boost::hana::for_each(pools_, [&](auto* pool) { out.push_back(pool->snapshot()); });
    return out;
  }

  /// Calls f(pool) for the pool at a run-time position.
  template <class F>
  void visit(std::size_t index, F&& f) const {
    boost::hana::for_each(indices(), [&](auto i) {
      if (i == index) f(*boost::hana::at(pools_, i));
    });
  }

 private:
  static constexpr auto indices() {
    return boost::hana::make_range(boost::hana::size_c<0>, boost::hana::size_c<sizeof...(Pools)>);
  }
  boost::hana::tuple<Pools*...> pools_;
};

/// Builds a chain, deducing the pool types: auto c = make_chain(groq, nvidia, openai);
template <class... Pools>
chain<Pools...> make_chain(Pools&... pools) {
  return chain<Pools...>(pools...);
}

}  // namespace keypool
