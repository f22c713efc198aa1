#pragma once
/// The default: the provider's own time when it gives one (Retry-After,
/// retryDelay, x-ratelimit-reset-*, "try again in 1m30s", a quota's reset),
/// 60 s when it gives none. A hint is clamped to [1 s, 24 h] for a rate
/// limit and [1 s, 31 days] for a spent quota (a monthly cap), the same caps
/// the classifier applies, so an absurd value is never trusted as-is.
///
/// Built from `lockout::fixed{d}` it is exactly `fixed` (d, whatever the
/// hint says), and from `lockout::retry_after{...}` it follows those bounds:
/// code that set `options.lockout = lockout::fixed{30s}` on a default pool
/// keeps its behaviour.

#include <keypool/lockout/concept.hpp>
#include <keypool/lockout/fixed.hpp>
#include <keypool/lockout/retry_after.hpp>

#include <chrono>
#include <variant>

namespace keypool::lockout {

class hinted {
 public:
  /// 60 s without a hint; hints clamped to [1 s, 24 h], quotas to [1 s, 31 days].
  static constexpr retry_after default_bounds{.fallback = std::chrono::seconds{60},
                                              .min = std::chrono::seconds{1},
                                              .max = std::chrono::hours{24},
                                              .max_quota = std::chrono::hours{31 * 24}};

  hinted() noexcept = default;
  hinted(retry_after r) noexcept : rule_(r) {}  // NOLINT(google-explicit-constructor): options.lockout = retry_after{}
  hinted(fixed f) noexcept : rule_(f) {}        // NOLINT(google-explicit-constructor): options.lockout = fixed{30s}

  std::chrono::milliseconds lockout_for(const outcome& o, const lockout_context& c) const noexcept {
    if (const auto* f = std::get_if<fixed>(&rule_)) return f->lockout_for(o, c);
    return std::get_if<retry_after>(&rule_)->lockout_for(o, c);
  }

 private:
  std::variant<retry_after, fixed> rule_{default_bounds};
};

static_assert(lockout_policy<hinted>);

}  // namespace keypool::lockout
