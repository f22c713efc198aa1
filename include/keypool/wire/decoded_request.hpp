#pragma once
/// What a request decoder (openai_request.hpp, anthropic_request.hpp) gives
/// back: the caller's chat request in the provider-neutral model with the
/// delivery it asked for (streamed, a final usage chunk), or why the body
/// is not a request, naming the field ("messages[2].content[1].image_url").

#include <keypool/core/result.hpp>
#include <keypool/wire/request.hpp>

#include <string>

namespace keypool::wire {

struct decoded_request {
  chat_request chat;
  bool stream = false;         ///< "stream": true
  bool include_usage = false;  ///< OpenAI stream_options.include_usage: a final usage chunk
};

/// Why a request body could not be decoded: `field` is the JSON path of the
/// offending value (empty for the body itself), `message` says what is wrong
/// and starts with the path.
struct request_error {
  std::string field;
  std::string message;
};

using request_decode_result = ::keypool::result<decoded_request, request_error>;

}  // namespace keypool::wire
