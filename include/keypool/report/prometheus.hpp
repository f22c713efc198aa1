#pragma once
/// Statistics in the Prometheus text exposition format (version 0.0.4), for
/// a /metrics endpoint. Labels: provider, key (the variable name) and
/// fingerprint; never the secret. Counters end in _total.

#include <keypool/core/outcome.hpp>
#include <keypool/core/stats.hpp>

#include <chrono>
#include <span>
#include <string>

namespace keypool::report {

namespace detail {
/// Label values: escape backslash, quote and newline, as the format requires.
inline std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}
inline std::string labels(const pool_snapshot& p, const key_snapshot& k) {
  return "provider=\"" + label_value(p.provider_id) + "\",key=\"" + label_value(k.variable) + "\",fingerprint=\"" +
         label_value(k.fingerprint) + "\"";
}
/// Milliseconds as decimal seconds ("60.000"), exact and locale-free
/// (std::to_string(double) follows the C locale: "60,000000" under de_DE).
inline std::string seconds(std::chrono::milliseconds ms) {
  const auto v = ms.count() < 0 ? 0 : ms.count();
  std::string frac = std::to_string(v % 1000);
  return std::to_string(v / 1000) + "." + std::string(3 - frac.size(), '0') + frac;
}

}  // namespace detail

/// Every series for the given pools. Custom telemetry: take snapshot() and
/// read the same fields (or register a callback on the HTTP client).
inline std::string prometheus(std::span<const pool_snapshot> pools) {
  std::string out;
  out += "# HELP keypool_requests_total Requests per key: each attempt made with one of its leases.\n";
  out += "# TYPE keypool_requests_total counter\n";
  for (const auto& p : pools)
    for (const auto& k : p.keys)
      out += "keypool_requests_total{" + detail::labels(p, k) + "} " + std::to_string(k.requests) + "\n";
  out += "# HELP keypool_outcomes_total Reported outcomes per key and kind.\n";
  out += "# TYPE keypool_outcomes_total counter\n";
  for (const auto& p : pools)
    for (const auto& k : p.keys)
      for (std::size_t i = 0; i < outcome_kind_count; ++i)
        out += "keypool_outcomes_total{" + detail::labels(p, k) + ",outcome=\"" +
               std::string(to_string(static_cast<outcome_kind>(i))) + "\"} " + std::to_string(k.outcomes[i]) + "\n";
  out += "# HELP keypool_key_available 1 when the key is in rotation.\n";
  out += "# TYPE keypool_key_available gauge\n";
  for (const auto& p : pools)
    for (const auto& k : p.keys)
      out += "keypool_key_available{" + detail::labels(p, k) + ",state=\"" + std::string(k.state_name()) + "\"} " +
             (k.available() ? "1" : "0") + "\n";
  out += "# HELP keypool_key_available_in_seconds Time until a locked key is back.\n";
  out += "# TYPE keypool_key_available_in_seconds gauge\n";
  for (const auto& p : pools)
    for (const auto& k : p.keys)
      if (k.available_in)
        out +=
            "keypool_key_available_in_seconds{" + detail::labels(p, k) + "} " + detail::seconds(*k.available_in) + "\n";
  out += "# HELP keypool_consecutive_failures Failures since the key's last success.\n";
  out += "# TYPE keypool_consecutive_failures gauge\n";
  for (const auto& p : pools)
    for (const auto& k : p.keys)
      out +=
          "keypool_consecutive_failures{" + detail::labels(p, k) + "} " + std::to_string(k.consecutive_failures) + "\n";
  out +=
      "# HELP keypool_misuse_total Reports a pool ignored: a lease of another pool, an empty lease, or one "
      "reported twice.\n";
  out += "# TYPE keypool_misuse_total counter\n";
  for (const auto& p : pools)
    out += "keypool_misuse_total{provider=\"" + detail::label_value(p.provider_id) + "\"} " + std::to_string(p.misuse) +
           "\n";
  return out;
}

inline std::string prometheus(const pool_snapshot& p) { return prometheus(std::span<const pool_snapshot>(&p, 1)); }

}  // namespace keypool::report
