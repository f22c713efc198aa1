#pragma once
/// From a provider's wire format (a run-time value) to its codec (a type):
/// the one switch over `providers::wire_format`, which the run-time encode,
/// decode and stream decoders all go through.

#include <keypool/providers/descriptor.hpp>
#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/gemini_generate_content.hpp>
#include <keypool/wire/openai_chat.hpp>

#include <type_traits>
#include <utility>

namespace keypool::wire {

/// Calls `on_codec(std::type_identity<Codec>{})` with the codec of `format`,
/// or `otherwise()` for a value outside the enumeration; both must return
/// the same type.
template <class OnCodec, class Otherwise>
decltype(auto) visit_format(providers::wire_format format, OnCodec&& on_codec, Otherwise&& otherwise) {
  switch (format) {
    case providers::wire_format::openai_chat: return on_codec(std::type_identity<openai_chat>{});
    case providers::wire_format::anthropic_messages: return on_codec(std::type_identity<anthropic_messages>{});
    case providers::wire_format::gemini_generate_content:
      return on_codec(std::type_identity<gemini_generate_content>{});
  }
  return std::forward<Otherwise>(otherwise)();
}

}  // namespace keypool::wire
