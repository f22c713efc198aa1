#pragma once
/// The provider's wire codec, picked at run time from its descriptor: what the
/// failover client (and the CLI's key check) use to turn a chat request into
/// an HTTP request for any provider and its answer back into a response.

#include <keypool/core/result.hpp>
#include <keypool/providers/descriptor.hpp>
#include <keypool/wire/format.hpp>
#include <keypool/wire/openai_chat.hpp>
#include <keypool/wire/request.hpp>

#include <optional>
#include <string_view>
#include <type_traits>

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
  return wire::visit_format(
      provider.wire,
      [&](auto codec) -> wire::encode_result {
        using C = typename decltype(codec)::type;
        typename C::options w;
        if (!o.base_path.empty()) w.base_path = o.base_path;
        if constexpr (std::is_same_v<C, wire::openai_chat>) {
          w.images = o.images;
          w.dialect = wire::openai_dialect::of(provider.id);
        }
        w.stream = o.stream;
        return C::encode(req, secret, w);
      },
      []() -> wire::encode_result {
        return ::keypool::unexpected<wire::encode_error>{{wire::encode_errc::invalid_model, "unknown wire format"}};
      });
}

/// What the provider cannot express in `req` (an image URL for Gemini, a
/// seed for Anthropic, json_schema for Z.AI), if anything: the failover
/// client skips such a provider for this request instead of failing it.
inline std::optional<wire::encode_error> unsupported_by(const providers::provider_descriptor& provider,
                                                        const wire::chat_request& req, const codec_options& o = {}) {
  return wire::visit_format(
      provider.wire,
      [&](auto codec) -> std::optional<wire::encode_error> {
        using C = typename decltype(codec)::type;
        typename C::options w;
        if constexpr (std::is_same_v<C, wire::openai_chat>) {
          w.images = o.images;
          w.dialect = wire::openai_dialect::of(provider.id);
        }
        return C::unsupported(req, w);
      },
      []() -> std::optional<wire::encode_error> { return std::nullopt; });
}

/// Decodes a (non-streamed) 2xx body in the provider's wire format.
inline wire::decode_result decode_chat(const providers::provider_descriptor& provider, std::string_view body) {
  return wire::visit_format(
      provider.wire, [&](auto codec) -> wire::decode_result { return decltype(codec)::type::decode(body); },
      []() -> wire::decode_result {
        return ::keypool::unexpected<wire::decode_error>{{wire::decode_errc::internal, "unknown wire format"}};
      });
}

}  // namespace keypool::http
