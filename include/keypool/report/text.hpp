#pragma once
/// The console statistics table:
///
///   📊 API KEY STATISTICS
///   ================================================================================
///
///   🔑 NVIDIA
///      Total keys: 5
///      Available: 5
///      Rate limited: 0
///      ✅ NVIDIA_API_KEY_1: 10 requests, 0 failures
///
/// Keys that are not available get another mark and say why and for how long.

#include <keypool/core/error.hpp>
#include <keypool/core/stats.hpp>

#include <initializer_list>
#include <span>
#include <string>

namespace keypool::report {

/// One key's line, without indentation or newline.
inline std::string key_line(const key_snapshot& k) {
  std::string mark;
  switch (k.status) {
    case key_status::available: mark = "\xE2\x9C\x85"; break;    // ✅
    case key_status::locked: mark = "\xE2\x8F\xB3"; break;       // ⏳
    case key_status::disabled: mark = "\xE2\x9D\x8C"; break;     // ❌
    case key_status::probing: mark = "\xF0\x9F\x94\x84"; break;  // 🔄
  }
  std::string line = mark + " " + k.variable + ": " + std::to_string(k.requests) + " requests, " +
                     std::to_string(k.failures()) + " failures";
  if (!k.available()) {
    line += " (";
    line += describe(k.status, k.reason);
    if (k.available_in && k.available_in->count() == 0)
      line += ", re-checked on next use";
    else if (k.available_in)  // a disabled key is only re-checked then: it may still be invalid
      line +=
          (k.status == key_status::disabled ? ", re-checked in " : ", available in ") + format_wait(*k.available_in);
    line += ")";
  }
  return line;
}

/// One provider's block.
inline std::string provider_block(const pool_snapshot& p) {
  std::string out = "\xF0\x9F\x94\x91 " + p.provider + "\n";  // 🔑
  out += "   Total keys: " + std::to_string(p.total_keys()) + "\n";
  out += "   Available: " + std::to_string(p.available()) + "\n";
  out += "   Rate limited: " + std::to_string(p.rate_limited()) + "\n";
  for (const auto& k : p.keys) out += "   " + key_line(k) + "\n";
  // Only when there is some: a caller bug to fix, not a figure to watch.
  if (p.misuse != 0) out += "   Misused leases (ignored): " + std::to_string(p.misuse) + "\n";
  return out;
}

/// The whole table for several providers, in the order given.
inline std::string text(std::span<const pool_snapshot> pools) {
  std::string out = "\xF0\x9F\x93\x8A API KEY STATISTICS\n";  // 📊
  out += std::string(80, '=') + "\n";
  for (const auto& p : pools) {
    out += '\n';  // appended, not prepended: `"\n" + s` trips a false -Wrestrict at -O3
    out += provider_block(p);
  }
  return out;
}

inline std::string text(const pool_snapshot& p) { return text(std::span<const pool_snapshot>(&p, 1)); }

}  // namespace keypool::report
