#pragma once
/// Where a key stands in its pool: the status a snapshot, an error and a
/// state backend report.

#include <cstdint>

namespace keypool {

/// Where a key stands.
enum class key_status : std::uint8_t {
  available,  ///< in rotation
  locked,     ///< timed lockout (rate_limited / quota_exhausted) until `until`
  disabled,   ///< invalid / forbidden / out of credit; re-checked at `until`
  probing,    ///< a single caller holds it to find out whether it recovered
};

}  // namespace keypool
