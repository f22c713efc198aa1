#pragma once
/// The provider's wire codec, picked at run time from its descriptor: what the
/// failover client (and the CLI's key check) use to turn a chat request into
/// an HTTP request for any provider and its answer back into a response.

#include <keypool/providers/descriptor.hpp>
#include <keypool/wire/anthropic_messages.hpp>
#include <keypool/wire/gemini_generate_content.hpp>
#include <keypool/wire/openai_chat.hpp>

#include <string_view>

namespace keypool::http {

struct codec_options {
  /// The base URL's path ("/v1", "/openai/v1", …); the codec appends its
  /// endpoint. Empty: the codec's default.
  std::string_view base_path{};
  /// How images go into an openai_chat request (ignored by the other formats).
  wire::openai_chat::image_form images = wire::openai_chat::image_form::data_url_object;
  /// Ask for a server-sent-event stream.
  bool stream = false;
};

/// Encodes `req` in the provider's wire format with `secret` as its key.
inline wire::encode_result encode_chat(const providers::provider_descriptor& provider, const wire::chat_request& req,
                                       std::string_view secret, const codec_options& o = {}) {
  switch (provider.wire) {
    case providers::wire_format::openai_chat: {
      wire::openai_chat::options w;
      if (!o.base_path.empty()) w.base_path = o.base_path;
      w.images = o.images;
      w.stream = o.stream;
      return wire::openai_chat::encode(req, secret, w);
    }
    case providers::wire_format::anthropic_messages: {
      wire::anthropic_messages::options w;
      if (!o.base_path.empty()) w.base_path = o.base_path;
      w.stream = o.stream;
      return wire::anthropic_messages::encode(req, secret, w);
    }
    case providers::wire_format::gemini_generate_content: {
      wire::gemini_generate_content::options w;
      if (!o.base_path.empty()) w.base_path = o.base_path;
      w.stream = o.stream;
      return wire::gemini_generate_content::encode(req, secret, w);
    }
  }
  return ::keypool::detail::unexpected<wire::encode_error>{{wire::encode_errc::invalid_model, "unknown wire format"}};
}

/// Decodes a (non-streamed) 2xx body in the provider's wire format.
inline wire::decode_result decode_chat(const providers::provider_descriptor& provider, std::string_view body) {
  switch (provider.wire) {
    case providers::wire_format::openai_chat: return wire::openai_chat::decode(body);
    case providers::wire_format::anthropic_messages: return wire::anthropic_messages::decode(body);
    case providers::wire_format::gemini_generate_content: return wire::gemini_generate_content::decode(body);
  }
  return ::keypool::detail::unexpected<wire::decode_error>{{wire::decode_errc::internal, "unknown wire format"}};
}

}  // namespace keypool::http
