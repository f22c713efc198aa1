#pragma once
/// The run-time settings of a basic_pool, and what a reload reports back.

#include <keypool/state/concept.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace keypool {

/// Run-time settings of a pool; the policy objects carry their own knobs
/// (e.g. lockout::fixed{std::chrono::seconds{30}}; the weighted schedule's
/// length is selection::basic_weighted's parameter).
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

}  // namespace keypool
