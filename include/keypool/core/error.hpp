#pragma once
/// The error a caller gets when no key can be used: which provider, why each
/// key is out, and when the first one comes back, as data and as text
/// ("All NVIDIA API keys are rate limited; next available in 42 s").

#include <keypool/core/detail/key_state.hpp>
#include <keypool/core/outcome.hpp>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace keypool {

/// "42 s", "3 min 5 s", "2 h 10 min": rounded up to whole seconds so "0 s"
/// never appears for a key that is still locked.
inline std::string format_wait(std::chrono::milliseconds d) {
  long long s = (d.count() + 999) / 1000;
  if (s < 0) s = 0;
  // Built by appending only: `" " + std::to_string(n)` prepends into a
  // temporary, which optimisers at -O3 misreport as an overlapping copy
  // (-Wrestrict).
  std::string out;
  auto append = [&out](long long n, char const* unit) {
    if (!out.empty()) out += ' ';
    out += std::to_string(n);
    out += ' ';
    out += unit;
  };
  if (s < 60) {
    append(s, "s");
  } else if (s < 3600) {
    append(s / 60, "min");
    if (s % 60) append(s % 60, "s");
  } else {
    append(s / 3600, "h");
    if ((s % 3600) / 60) append((s % 3600) / 60, "min");
  }
  return out;
}

/// Words for a state, as used in messages and the report.
inline std::string_view describe(key_status st, outcome_kind reason) noexcept {
  if (st == key_status::available) return "available";
  if (st == key_status::probing) return "being re-checked";
  switch (reason) {
    case outcome_kind::rate_limited: return "rate limited";
    case outcome_kind::quota_exhausted: return "out of quota";
    case outcome_kind::out_of_credit: return "out of credit";
    case outcome_kind::invalid_key: return "invalid";
    case outcome_kind::forbidden: return "forbidden";
    default: return st == key_status::disabled ? "disabled" : "locked";
  }
}

/// Why one key could not be handed out.
struct key_unavailability {
  std::string variable;
  key_status status = key_status::locked;
  outcome_kind reason = outcome_kind::rate_limited;
  /// Until it may be used (or probed) again; empty when it never comes back
  /// by itself (disabled with no re-check, or removed).
  std::optional<std::chrono::milliseconds> available_in;
};

class unavailable_error {
 public:
  unavailable_error() = default;
  unavailable_error(std::string provider, std::vector<key_unavailability> keys)
      : provider_(std::move(provider)), keys_(std::move(keys)) {}

  const std::string& provider() const noexcept { return provider_; }
  const std::vector<key_unavailability>& keys() const noexcept { return keys_; }

  /// The earliest time any key may be tried again.
  std::optional<std::chrono::milliseconds> next_available() const noexcept {
    std::optional<std::chrono::milliseconds> best;
    for (const auto& k : keys_)
      if (k.available_in && (!best || *k.available_in < *best)) best = k.available_in;
    return best;
  }

  std::string message() const {
    if (keys_.empty()) return "No " + provider_ + " API keys configured";
    std::string msg;
    const auto first = describe(keys_.front().status, keys_.front().reason);
    bool same = true;
    for (const auto& k : keys_) same = same && describe(k.status, k.reason) == first;
    if (same) {
      msg = "All " + provider_ + " API keys are " + std::string(first);
    } else {
      // "No GROQ API key is available (2 rate limited, 1 invalid)"
      std::vector<std::pair<std::string_view, int>> counts;
      for (const auto& k : keys_) {
        const auto d = describe(k.status, k.reason);
        auto it = counts.begin();
        while (it != counts.end() && it->first != d) ++it;
        if (it == counts.end())
          counts.emplace_back(d, 1);
        else
          ++it->second;
      }
      msg = "No " + provider_ + " API key is available (";
      for (std::size_t i = 0; i < counts.size(); ++i) {
        if (i) msg += ", ";
        msg += std::to_string(counts[i].second) + " " + std::string(counts[i].first);
      }
      msg += ")";
    }
    if (auto n = next_available()) msg += "; next available in " + format_wait(*n);
    return msg;
  }

 private:
  std::string provider_;
  std::vector<key_unavailability> keys_;
};

/// The exception form, for callers who prefer it (acquire_or_throw).
class unavailable_exception : public std::runtime_error {
 public:
  explicit unavailable_exception(unavailable_error e) : std::runtime_error(e.message()), error_(std::move(e)) {}
  const unavailable_error& error() const noexcept { return error_; }

 private:
  unavailable_error error_;
};

}  // namespace keypool
