#pragma once
/// POST /v1/describe: an image (multipart/form-data field `image`, or the
/// raw bytes with an image Content-Type) and an optional prompt (form field
/// `prompt`, or `?prompt=`) become one chat request with the image inline,
/// sent through the client's failover over the whole chain (encoded for
/// each provider's format). The answer names who served it:
/// {"description","provider","model","key","attempts","usage"}; errors are
/// in the OpenAI error format, as for /v1/chat/completions.

#include <keypool/http/client.hpp>
#include <keypool/serve/detail/answer.hpp>
#include <keypool/serve/detail/core.hpp>
#include <keypool/serve/detail/multipart.hpp>
#include <keypool/wire/request.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace keypool::serve::detail {

inline constexpr std::string_view default_describe_prompt = "Describe this image.";

/// The MIME type the bytes start like (PNG, JPEG, GIF, WebP); nullopt:
/// none of them.
inline std::optional<std::string_view> sniff_image(std::string_view b) noexcept {
  if (b.starts_with("\x89PNG\r\n\x1a\n")) return "image/png";
  if (b.starts_with("\xff\xd8\xff")) return "image/jpeg";
  if (b.starts_with("GIF87a") || b.starts_with("GIF89a")) return "image/gif";
  if (b.size() >= 12 && b.starts_with("RIFF") && b.substr(8, 4) == "WEBP") return "image/webp";
  return std::nullopt;
}

/// `%41` and `+` decoded (a query parameter's value).
inline std::string percent_decode(std::string_view s) {
  std::string out;
  const auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

/// The decoded value of query parameter `name` in `target`.
inline std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  auto rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

struct describe_input {
  wire::image image;
  std::string prompt;
};

/// Checks that `bytes` are an image of a supported type (the bytes decide;
/// a declared type that says otherwise is an error).
inline result<wire::image, std::string> checked_image(std::string_view bytes, std::string_view declared,
                                                      std::string_view where) {
  using fail = ::keypool::unexpected<std::string>;
  if (bytes.empty()) return fail{std::string(where) + " is empty: no image to describe"};
  const auto sniffed = sniff_image(bytes);
  if (!sniffed)
    return fail{std::string(where) + " is not a PNG, JPEG, WebP or GIF image" +
                (declared.empty() ? std::string() : " (declared " + std::string(declared) + ")")};
  const bool generic = declared.empty() || declared == "application/octet-stream";
  if (!generic && declared != *sniffed && !(declared == "image/jpg" && *sniffed == "image/jpeg"))
    return fail{std::string(where) + " is declared " + std::string(declared) + " but its bytes are " +
                std::string(*sniffed)};
  return wire::image{std::string(bytes), std::string(*sniffed)};
}

/// The image and prompt of the request, or why it has none.
template <class Body, class Fields>
result<describe_input, std::string> describe_input_of(const boost::beast::http::request<Body, Fields>& req) {
  using fail = ::keypool::unexpected<std::string>;
  const auto ct_it = req.find(boost::beast::http::field::content_type);
  const std::string ct = ct_it == req.end() ? std::string() : std::string(ct_it->value());
  const auto type = lower_ascii(trim_ascii(std::string_view(ct).substr(0, std::string_view(ct).find(';'))));
  const std::string_view target(req.target().data(), req.target().size());
  describe_input in;
  in.prompt = query_param(target, "prompt").value_or("");
  if (type == "multipart/form-data") {
    auto parts = parse_multipart(ct, req.body());
    if (!parts) return fail{std::move(parts.error())};
    const form_part* img = nullptr;
    for (const auto& p : *parts) {
      if (p.name == "image" && !img) img = &p;
      if (p.name == "prompt") in.prompt = std::string(p.data);
    }
    if (!img) return fail{"the form has no field 'image' (multipart/form-data with the file as 'image')"};
    auto checked = checked_image(img->data, img->content_type, "the form field 'image'");
    if (!checked) return fail{std::move(checked.error())};
    in.image = std::move(*checked);
  } else if (type.starts_with("image/") || type == "application/octet-stream") {
    auto checked = checked_image(req.body(), type, "the request body");
    if (!checked) return fail{std::move(checked.error())};
    in.image = std::move(*checked);
  } else {
    return fail{
        "send an image: multipart/form-data with a field 'image', or the raw bytes with Content-Type "
        "image/png, image/jpeg, image/webp or image/gif" +
        (type.empty() ? std::string(" (no Content-Type)") : " (got " + type + ")")};
  }
  if (in.prompt.find_first_not_of(" \t\r\n") == std::string::npos) in.prompt = default_describe_prompt;
  return in;
}

/// The failover's outcome as the caller's answer.
inline answer described(const http::chat_outcome& out) {
  answer a;
  const auto& attempts = out ? out->attempts : out.error().attempts;
  a.attempts = static_cast<unsigned>(attempts.size());
  if (!attempts.empty()) {
    a.provider = attempts.back().provider;
    a.model = attempts.back().model;
    a.key = attempts.back().key_variable;
  }
  if (out) {
    const auto& r = out->response;
    a.input_tokens = r.usage.input_tokens;
    a.output_tokens = r.usage.output_tokens;
    a.body = boost::json::serialize(boost::json::object{
        {"description", r.text},
        {"provider", out->provider},
        {"model", out->model},
        {"key", out->key_variable},
        {"attempts", a.attempts},
        {"usage",
         boost::json::object{{"input_tokens", r.usage.input_tokens}, {"output_tokens", r.usage.output_tokens}}}});
    return a;
  }
  const auto& e = out.error();
  unsigned status = 502;
  std::string_view code = "upstream_failed";
  std::optional<std::chrono::milliseconds> wait;
  switch (e.code) {
    case http::failover_errc::bad_request:
    case http::failover_errc::invalid_request: status = 400, code = to_string(e.code); break;
    case http::failover_errc::deadline_exceeded: status = 504; break;
    case http::failover_errc::all_unavailable:
      code = "all_keys_unavailable";
      if (e.unavailable) wait = e.unavailable->next_available();
      status = wait ? 429 : (attempts.empty() ? 503 : 502);
      break;
    default: break;
  }
  answer err = error_answer(api_format::openai, status, e.message, code, attempts);
  if (wait)
    err.headers.emplace_back("Retry-After", std::to_string(std::max<long long>(1, (wait->count() + 999) / 1000)));
  err.provider = std::move(a.provider);
  err.model = std::move(a.model);
  err.key = std::move(a.key);
  err.attempts = a.attempts;
  return err;
}

/// POST /v1/describe.
template <class Chain, class Request>
boost::asio::awaitable<answer> describe(core<Chain>& c, const Request& req) {
  auto in = describe_input_of(req);
  if (!in) co_return error_answer(api_format::openai, 400, std::move(in.error()), "invalid_image");
  wire::chat_request chat;
  chat.prompt = std::move(in->prompt);
  chat.images.push_back(std::move(in->image));
  http::failover_options fo;
  fo.max_attempts = c.opts.max_attempts;
  fo.deadline = c.opts.deadline;
  fo.classify = c.opts.classify;
  // A client per request: cheap next to an image upload, and it keeps the
  // gateway's shared state free of the client's own (spend ledger, models).
  http::client<Chain> client(c.chain, c.transport, c.routes, std::move(fo));
  const http::chat_outcome out = co_await client.co_chat(std::move(chat));
  co_return described(out);
}

}  // namespace keypool::serve::detail
