#pragma once
/// One API key as configured: the variable it came from, the secret, and the
/// optional per-key settings. Also the only sanctioned ways to show a key:
/// its variable name, a redacted form and a short SHA-256 fingerprint.

#include <keypool/core/detail/sha256.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace keypool {

/// A key as the user configured it. `secret` is the only field that must
/// never be printed.
struct key_spec {
  std::string variable;           ///< e.g. "GROQ_API_KEY_2"
  std::string secret;             ///< the API key itself
  std::uint32_t weight = 1;       ///< for weighted selection (1..1000)
  std::string account{};          ///< keys sharing an account share its limits
  std::uint32_t daily_limit = 0;  ///< requests per provider day; 0 = unlimited
};

/// SHA-256 of the secret, first 12 hex digits: stable identity for logs,
/// statistics, Redis keys and reload matching.
inline std::string fingerprint(std::string_view secret) {
  const auto d = detail::sha256::hash(secret);
  return detail::to_hex(d.data(), 6);
}

/// A form of the key safe to show: a well-known vendor prefix, an ellipsis
/// and, for keys long enough that it gives nothing away, the last 4
/// characters ("gsk_…9xQz").
inline std::string redact(std::string_view secret) {
  static constexpr std::array<std::string_view, 8> prefixes = {"sk-ant-", "sk-proj-", "sk-", "gsk_",
                                                               "nvapi-",  "AIza",     "AQ.", "xai-"};
  std::string_view prefix;
  for (auto p : prefixes)
    if (secret.substr(0, p.size()) == p) {
      prefix = p;
      break;
    }
  std::string out(prefix);
  out += "\xE2\x80\xA6";  // U+2026 HORIZONTAL ELLIPSIS
  // Only reveal a tail when at least 12 characters stay hidden.
  if (secret.size() >= prefix.size() + 16) out.append(secret.substr(secret.size() - 4));
  return out;
}

/// The longest secret accepted. Provider keys are 40-200 characters; JWT-style
/// tokens reach a few KiB. Anything longer is a pasted file or an attack on the
/// request header (servers commonly cap a header block at 8 KiB).
inline constexpr std::size_t max_secret_bytes = 4096;

/// Why a secret cannot be used, or empty when it is fine. The message never
/// contains the secret.
inline std::optional<std::string> secret_problem(std::string_view secret) {
  if (secret.empty()) return std::string("empty value");
  if (secret.size() > max_secret_bytes)
    return std::to_string(secret.size()) + " bytes long; at most " + std::to_string(max_secret_bytes) + " are accepted";
  for (std::size_t i = 0; i < secret.size(); ++i) {
    const auto c = static_cast<unsigned char>(secret[i]);
    if (c == ' ' || c == '\t') return "whitespace at position " + std::to_string(i + 1);
    if (c < 0x20 || c == 0x7f) return "control character at position " + std::to_string(i + 1);
    // Keys are ASCII; a byte above 0x7f is a pasted non-breaking or
    // zero-width space, a smart quote or a C1 control character.
    if (c >= 0x80) return "non-ASCII character at position " + std::to_string(i + 1);
  }
  return std::nullopt;
}

/// Thrown when a key given to a pool cannot be used. Names the variable,
/// never the secret.
class invalid_key_spec : public std::invalid_argument {
 public:
  invalid_key_spec(std::string variable, const std::string& why)
      : std::invalid_argument(variable + ": " + why), variable_(std::move(variable)) {}
  const std::string& variable() const noexcept { return variable_; }

 private:
  std::string variable_;
};

/// Checks a whole key list (variables unique, secrets usable, weights sane);
/// throws invalid_key_spec for the first problem found.
inline void validate(const std::vector<key_spec>& keys) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto& k = keys[i];
    if (k.variable.empty()) throw invalid_key_spec("key #" + std::to_string(i + 1), "no variable name");
    if (auto why = secret_problem(k.secret)) throw invalid_key_spec(k.variable, *why);
    if (k.weight == 0 || k.weight > 1000)
      throw invalid_key_spec(k.variable, "weight must be 1..1000, got " + std::to_string(k.weight));
    for (std::size_t j = 0; j < i; ++j) {
      if (keys[j].variable == k.variable) throw invalid_key_spec(k.variable, "listed twice");
      if (keys[j].secret == k.secret) throw invalid_key_spec(k.variable, "same key as " + keys[j].variable);
    }
  }
}

}  // namespace keypool
