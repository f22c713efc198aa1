/// libFuzzer target: every provider's response classifier.
///
/// Input: byte 0 → provider (of the seven built-ins), bytes 1–2 → HTTP
/// status (0..599), byte 3 → caps (tight or default); then header lines
/// "name: value" up to an empty line; the rest is the body.
///
/// Invariants: no exception; a 2xx is success; retry hints are never
/// negative and never above the cap of their kind (rate limit / transient:
/// rate_limit_cap, quota: quota_cap); the reason is short printable ASCII
/// (log-line safe) and never quotes the error message.

#include "fuzz_check.hpp"

#include <keypool/classify/classifier.hpp>
#include <keypool/providers/builtin.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 4) return 0;
  namespace cl = keypool::classify;
  using std::chrono::milliseconds;
  const auto providers = keypool::providers::builtin_descriptors();
  const auto& provider = providers[data[0] % providers.size()];
  const int status = ((data[1] << 8) | data[2]) % 600;
  cl::classify_options opts;
  if (data[3] & 1) {
    opts.rate_limit_cap = milliseconds(1 + (data[3] >> 1) * 1000);
    opts.quota_cap = milliseconds(2 + (data[3] >> 1) * 60'000);
  }
  std::string_view rest(reinterpret_cast<const char*>(data) + 4, size - 4);

  cl::headers headers;
  while (!rest.empty()) {
    const auto eol = rest.find('\n');
    const std::string_view line = rest.substr(0, eol);
    rest = eol == std::string_view::npos ? std::string_view{} : rest.substr(eol + 1);
    if (line.empty()) break;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    headers.add(line.substr(0, colon), value);
  }
  const std::string_view body = rest;
  // A fixed "now" keeps runs reproducible: 2026-11-26T10:00:00Z.
  const cl::sys_time now{std::chrono::seconds(1795687200)};

  const cl::classification c = cl::classify(provider, status, headers, body, now, opts);
  const auto& o = c.result;
  if (status >= 200 && status < 300)
    KEYPOOL_FUZZ_CHECK(o.kind == keypool::outcome_kind::success, "2xx not classified as success");
  if (o.retry_after) {
    KEYPOOL_FUZZ_CHECK(o.retry_after->count() >= 0, "negative retry hint");
    switch (o.kind) {
      case keypool::outcome_kind::rate_limited:
      case keypool::outcome_kind::transient:
        KEYPOOL_FUZZ_CHECK(*o.retry_after <= opts.rate_limit_cap, "rate-limit hint above its cap");
        break;
      case keypool::outcome_kind::quota_exhausted:
        KEYPOOL_FUZZ_CHECK(*o.retry_after <= opts.quota_cap, "quota hint above its cap");
        break;
      default:
        KEYPOOL_FUZZ_CHECK(*o.retry_after <= std::max(opts.rate_limit_cap, opts.quota_cap), "hint above every cap");
    }
  }
  KEYPOOL_FUZZ_CHECK(!c.reason.empty() && c.reason.size() <= 64, "reason empty or too long");
  KEYPOOL_FUZZ_CHECK(keypool::fuzz::printable_ascii(c.reason), "reason has control or non-ASCII bytes");
  KEYPOOL_FUZZ_CHECK(!keypool::fuzz::contains(c.reason, "\""), "reason quotes text");
  if (o.account_wide)
    KEYPOOL_FUZZ_CHECK(o.kind != keypool::outcome_kind::invalid_key && o.kind != keypool::outcome_kind::forbidden,
                       "a key's own problem marked account-wide");

  // The compile-time overload must agree with the run-time one.
  const auto again = cl::classify(provider, status, headers, body, now, opts);
  KEYPOOL_FUZZ_CHECK(again.result == c.result && again.reason == c.reason, "classification not deterministic");
  return 0;
}
