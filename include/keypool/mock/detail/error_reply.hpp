#pragma once
/// The provider's own answer to a refused request: the refusal (error_kind)
/// said in the provider's error dialect.

#include <keypool/mock/detail/anthropic_errors.hpp>
#include <keypool/mock/detail/error_kind.hpp>
#include <keypool/mock/detail/gemini_errors.hpp>
#include <keypool/mock/detail/mistral_errors.hpp>
#include <keypool/mock/detail/nvidia_errors.hpp>
#include <keypool/mock/detail/openai_errors.hpp>
#include <keypool/mock/detail/zai_errors.hpp>
#include <keypool/mock/reply.hpp>
#include <keypool/providers/descriptor.hpp>

#include <cstdint>

namespace keypool::mock::detail {

/// `request_id` is quoted by the dialects that echo one (Anthropic, Mistral).
inline reply error_reply(const providers::provider_descriptor& d, error_kind k, const error_context& c,
                         std::uint64_t request_id) {
  using providers::error_dialect;
  switch (d.errors) {
    case error_dialect::openai: return openai_error_reply(k, c, false);
    case error_dialect::groq: return openai_error_reply(k, c, true);
    case error_dialect::mistral: return mistral_error_reply(k, c, request_id);
    case error_dialect::anthropic: return anthropic_error_reply(k, c, request_id);
    case error_dialect::gemini: return gemini_error_reply(k, c);
    case error_dialect::zai: return zai_error_reply(k, c);
    case error_dialect::nvidia: return nvidia_error_reply(k, c);
  }
  return {};
}

}  // namespace keypool::mock::detail
