#pragma once
/// The thoughtSignature the mock's Gemini gives each function call, and
/// checks when the call comes back: a Gemini 3 model refuses a conversation
/// whose current turn holds a function call without its signature, or with
/// one changed (ai.google.dev/gemini-api/docs/thought-signatures). Standard
/// base64 with '+', '/' and padding, as Gemini's are, so a careless
/// re-encoding on the way back shows.

#include <keypool/wire/base64.hpp>

#include <string>
#include <string_view>

namespace keypool::mock::detail {

inline std::string gemini_signature(std::string_view function) {
  return wire::base64::encode("\xfb\xff\xbe mock thought about " + std::string(function));
}

/// Gemini 3 models check signatures; earlier ones accept calls without.
inline bool gemini_checks_signatures(std::string_view model) noexcept { return model.starts_with("gemini-3"); }

}  // namespace keypool::mock::detail
