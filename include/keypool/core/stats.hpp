#pragma once
/// Snapshots of a pool's statistics. Taking one reads per-thread shards and
/// key state words with plain atomic loads: it never blocks a picker.

#include <keypool/core/error.hpp>
#include <keypool/core/key_status.hpp>
#include <keypool/core/outcome.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace keypool {

struct key_snapshot {
  std::string variable;
  std::string redacted;
  std::string fingerprint;
  std::string account;
  std::uint32_t weight = 1;
  std::uint32_t daily_limit = 0;
  std::uint32_t slot = 0;

  key_status status = key_status::available;
  outcome_kind reason = outcome_kind::success;  ///< why locked / disabled
  /// Time until the key is back (locked / disabled / probing); empty when
  /// available, or disabled with no automatic re-check.
  std::optional<std::chrono::milliseconds> available_in;

  std::uint64_t requests = 0;                                ///< HTTP attempts (leases and note_attempt)
  std::array<std::uint64_t, outcome_kind_count> outcomes{};  ///< reports by kind
  std::uint32_t consecutive_failures = 0;                    ///< reset by a success
  std::uint32_t daily_used = 0;                              ///< today's requests (keys with a daily limit)
  /// Clock time of the last report; empty if never used.
  std::optional<std::chrono::milliseconds> last_used;
  /// How long ago that was, at snapshot time.
  std::optional<std::chrono::milliseconds> last_used_ago;

  std::uint64_t successes() const noexcept { return outcomes[0]; }
  /// Every report that was not a success.
  std::uint64_t failures() const noexcept {
    std::uint64_t f = 0;
    for (std::size_t i = 1; i < outcomes.size(); ++i) f += outcomes[i];
    return f;
  }
  std::uint64_t count(outcome_kind k) const noexcept { return outcomes[static_cast<std::size_t>(k)]; }
  bool available() const noexcept { return status == key_status::available; }
  bool rate_limited() const noexcept { return status == key_status::locked && reason == outcome_kind::rate_limited; }
  /// One word per state, stable for JSON and the CLI: available rate_limited
  /// quota_exhausted out_of_credit invalid forbidden disabled (probing keys
  /// show the state they are being re-checked from).
  std::string_view state_name() const noexcept {
    if (status == key_status::available) return "available";
    switch (reason) {
      case outcome_kind::rate_limited: return "rate_limited";
      case outcome_kind::quota_exhausted: return "quota_exhausted";
      case outcome_kind::out_of_credit: return "out_of_credit";
      case outcome_kind::invalid_key: return "invalid";
      case outcome_kind::forbidden: return "forbidden";
      default: return "disabled";
    }
  }
};

struct pool_snapshot {
  std::string provider;  ///< display name, "NVIDIA"
  std::string provider_id;
  std::vector<key_snapshot> keys;
  /// Reports the pool ignored: a lease of another pool, an empty lease, or a
  /// lease object reported a second time. Nonzero means a caller bug.
  std::uint64_t misuse = 0;

  std::size_t total_keys() const noexcept { return keys.size(); }
  std::size_t available() const noexcept {
    std::size_t n = 0;
    for (const auto& k : keys) n += k.available();
    return n;
  }
  std::size_t rate_limited() const noexcept {
    std::size_t n = 0;
    for (const auto& k : keys) n += k.rate_limited();
    return n;
  }
  std::uint64_t requests() const noexcept {
    std::uint64_t n = 0;
    for (const auto& k : keys) n += k.requests;
    return n;
  }
  std::uint64_t failures() const noexcept {
    std::uint64_t n = 0;
    for (const auto& k : keys) n += k.failures();
    return n;
  }
  std::uint64_t successes() const noexcept {
    std::uint64_t n = 0;
    for (const auto& k : keys) n += k.successes();
    return n;
  }
};

}  // namespace keypool
