#pragma once
/// The seam where a request in one API's format reaches a provider that
/// speaks another (OpenAI in, Anthropic or Gemini out; Anthropic in, an
/// OpenAI-compatible or Gemini provider out): the caller's body is decoded
/// once into the provider-neutral chat request (wire/openai_request.hpp,
/// wire/anthropic_request.hpp), each provider's codec says what it cannot
/// express (that provider is then left out, with the reason), and a whole
/// answer is written back in the caller's format (wire/answer_encode.hpp).
/// Streamed answers go through translate_stream.hpp.

#include <keypool/core/result.hpp>
#include <keypool/http/client.hpp>
#include <keypool/http/codec.hpp>
#include <keypool/serve/detail/errors.hpp>
#include <keypool/wire/answer_encode.hpp>
#include <keypool/wire/anthropic_request.hpp>
#include <keypool/wire/decoded_request.hpp>
#include <keypool/wire/openai_request.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keypool::serve::detail {

/// The caller's body as a chat request, or why not (the field named).
inline wire::request_decode_result to_chat_request(api_format in, std::string_view body) {
  return in == api_format::anthropic ? wire::decode_anthropic_request(body) : wire::decode_openai_request(body);
}

/// Why route `rt`'s provider cannot take `r` ("gemini_generate_content: an
/// image by URL … is not supported by this provider"), or nullopt.
inline std::optional<std::string> untranslatable_for(const http::route& rt, const wire::chat_request& r) {
  if (auto e = http::unsupported_by(rt.provider, r, {{}, rt.image_form, false})) return e->message;
  return std::nullopt;
}

/// The id and timestamp of a translated answer: a process-wide sequence, so
/// answers are told apart in logs.
inline wire::answer_meta answer_meta_for(api_format f, std::string_view model) {
  static std::atomic<std::uint64_t> next{1};
  const auto n = std::to_string(next.fetch_add(1, std::memory_order_relaxed));
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return {(f == api_format::anthropic ? "msg_keypool_" : "chatcmpl-keypool-") + n, std::string(model),
          std::chrono::duration_cast<std::chrono::seconds>(now).count()};
}

/// A whole answer in the caller's format.
inline std::string from_chat_response(api_format f, const wire::chat_response& r, std::string_view model) {
  const auto meta = answer_meta_for(f, model);
  return f == api_format::anthropic ? wire::anthropic_answer_json(r, meta) : wire::openai_answer_json(r, meta);
}

}  // namespace keypool::serve::detail
