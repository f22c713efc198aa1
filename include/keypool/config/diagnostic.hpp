#pragma once
/// A problem found while reading configuration, pointing at the place
/// (file:line and variable) and saying what is wrong. A diagnostic never
/// carries a value from the file: values may be secrets.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::config {

enum class severity : std::uint8_t {
  error,    ///< something was ignored or rejected
  warning,  ///< loaded, but probably not what the user meant
  note,     ///< informational (e.g. a value overridden by the environment)
};

constexpr std::string_view to_string(severity s) noexcept {
  switch (s) {
    case severity::error: return "error";
    case severity::warning: return "warning";
    case severity::note: return "note";
  }
  return "unknown";
}

/// The file name used for values taken from the process environment.
inline constexpr std::string_view environment_source = "<environment>";

struct diagnostic {
  std::string file;      ///< path as given, or "<environment>"
  std::size_t line = 0;  ///< 1-based; 0 when there is no line
  std::string variable;  ///< may be empty when the line had no readable name
  std::string message;   ///< never contains a value
  severity level = severity::error;

  /// "file:line: error: VAR: message", the compiler-style form editors jump to.
  std::string to_string() const {
    std::string out = file;
    if (line != 0) out += ":" + std::to_string(line);
    out += ": ";
    out += keypool::config::to_string(level);
    out += ": ";
    if (!variable.empty()) out += variable + ": ";
    out += message;
    return out;
  }
};

/// Count of diagnostics at `level`.
inline std::size_t count(const std::vector<diagnostic>& ds, severity level) {
  std::size_t n = 0;
  for (const auto& d : ds) n += d.level == level;
  return n;
}

}  // namespace keypool::config
