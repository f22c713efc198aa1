#pragma once
/// What `ask` says when the failover client gives up: the library's error,
/// the last attempt, and when the chain's earliest key frees (or how many
/// were left untried).

#include "../options.hpp"

#include <keypool/chain/chain.hpp>
#include <keypool/core/error.hpp>
#include <keypool/core/stats.hpp>
#include <keypool/http/client.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace keypool::cli::detail {

/// The chain's keys after a chat: how many are still available, and which
/// of the others frees first.
struct key_outlook {
  std::size_t available = 0;
  std::optional<std::chrono::milliseconds> next;  ///< the earliest time a locked key frees
  std::string next_variable;
};

/// `snaps` are the pools of the chain that have keys.
inline key_outlook outlook_of(std::span<const pool_snapshot> snaps) {
  key_outlook o;
  for (const auto& p : snaps)
    for (const auto& k : p.keys) {
      if (k.available()) {
        ++o.available;
      } else if (k.available_in && (!o.next || *k.available_in < *o.next)) {
        o.next = k.available_in;
        o.next_variable = k.variable;
      }
    }
  return o;
}

/// What to do about the earliest key: "; --wait waits for it" when it
/// frees within the deadline (`deadline`, of the whole chat), else nothing
/// without --wait; with --wait, that it frees too late.
inline std::string wait_hint(const key_outlook& k, const options& o, std::chrono::milliseconds deadline) {
  if (!k.next) return {};
  if (o.wait) return ", after the deadline of " + format_wait(deadline);
  return *k.next < deadline ? "; --wait waits for it" : "";
}

/// "; next available in 42 s (GROQ_API_KEY_1)", with wait_hint.
inline std::string next_available_text(const key_outlook& k, const options& o, std::chrono::milliseconds deadline) {
  if (!k.next) return {};
  return "; next available in " + format_wait(*k.next) + " (" + k.next_variable + ")" + wait_hint(k, o, deadline);
}

/// "groq qwen/qwen3.6-27b with GROQ_API_KEY_1: transient (invalid JSON at byte 0)".
inline std::string attempt_text(const http::attempt& a) {
  return a.provider + " " + a.model + " with " + a.key_variable + ": " + std::string(to_string(a.outcome.kind)) + " (" +
         a.reason + ")";
}

/// No key to hand out. The chain has one pool per built-in provider, most of
/// them empty (not in the chain, or without keys): those are left out of the
/// message. When none is left, every provider that has keys failed on a
/// transient error (it is skipped for the rest of the chat), and the last
/// attempt says why.
inline std::string unavailable_text(const chain_error& why, const std::vector<http::attempt>& attempts,
                                    const key_outlook& keys, const options& o, std::chrono::milliseconds deadline) {
  std::vector<unavailable_error> kept;
  for (const auto& p : why.providers())
    if (!p.keys().empty()) kept.push_back(p);
  if (!kept.empty()) return chain_error(std::move(kept)).message() + wait_hint(keys, o, deadline);
  if (attempts.empty()) return "No provider configured: no keys for the providers of the chain (see `keypool keys`)";
  return "every provider of the chain failed; last: " + attempt_text(attempts.back()) +
         next_available_text(keys, o, deadline);
}

/// The message of a failed `ask` (text and --json).
/// `deadline` is the whole chat's.
inline std::string give_up_message(const http::failover_error& e, std::span<const pool_snapshot> snaps,
                                   const options& o, std::chrono::milliseconds deadline) {
  const auto keys = outlook_of(snaps);
  if (e.unavailable) return unavailable_text(*e.unavailable, e.attempts, keys, o, deadline);
  if (e.code != http::failover_errc::attempts_exhausted && e.code != http::failover_errc::deadline_exceeded)
    return e.message;
  std::string m = e.message;
  if (keys.available)
    m += "; " + std::to_string(keys.available) + " key" + (keys.available == 1 ? "" : "s") +
         " still available (raise --max-attempts or --deadline)";
  return m + next_available_text(keys, o, deadline);
}

}  // namespace keypool::cli::detail
