#pragma once
/// One turn of a conversation, provider-neutral: who speaks (role), what they
/// say (text and image parts), and for tool use the calls an assistant made
/// and the result a tool turn answers. The codecs translate it per format.

#include <keypool/wire/tool_call.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::wire {

/// An image sent inline: raw bytes (not base64) and their MIME type.
struct image {
  std::string bytes;                     ///< binary file content
  std::string mime_type = "image/jpeg";  ///< image/jpeg, image/png, image/webp, image/gif
};

enum class role : std::uint8_t {
  system,     ///< instructions; Anthropic and Gemini take them out of the turns
  developer,  ///< OpenAI's newer name for system (sent as system where not understood)
  user,
  assistant,  ///< the model's earlier answers, with the tool calls it made
  tool,       ///< the result of one tool call (tool_call_id)
};

constexpr std::string_view to_string(role r) noexcept {
  switch (r) {
    case role::system: return "system";
    case role::developer: return "developer";
    case role::user: return "user";
    case role::assistant: return "assistant";
    case role::tool: return "tool";
  }
  return "unknown";
}

/// One piece of a turn's content: text, an inline image, or an image by URL
/// (https only; formats that need inline bytes refuse it).
struct content_part {
  enum class kind_t : std::uint8_t { text, image, image_url };
  kind_t kind = kind_t::text;
  std::string text{};       ///< kind text
  wire::image image{};      ///< kind image
  std::string url{};        ///< kind image_url: "https://…"
  std::string mime_type{};  ///< kind image_url, optional: what the URL serves

  static content_part of_text(std::string t) { return {kind_t::text, std::move(t), {}, {}, {}}; }
  static content_part of_image(wire::image img) { return {kind_t::image, {}, std::move(img), {}, {}}; }
  static content_part of_url(std::string url, std::string mime = {}) {
    return {kind_t::image_url, {}, {}, std::move(url), std::move(mime)};
  }
};

struct message {
  wire::role role = role::user;
  std::vector<content_part> content{};
  std::vector<tool_call> tool_calls{};  ///< assistant turns: the calls the model made
  std::string tool_call_id{};           ///< tool turns: the call this result answers
  /// Tool turns, optional: the function's name (else taken from the call with
  /// tool_call_id; Gemini needs it).
  std::string name{};

  static message of(wire::role r, std::string text) {
    message m;
    m.role = r;
    m.content.push_back(content_part::of_text(std::move(text)));
    return m;
  }
  static message system(std::string text) { return of(role::system, std::move(text)); }
  static message user(std::string text) { return of(role::user, std::move(text)); }
  static message assistant(std::string text, std::vector<tool_call> calls = {}) {
    message m;
    m.role = role::assistant;
    if (!text.empty()) m.content.push_back(content_part::of_text(std::move(text)));
    m.tool_calls = std::move(calls);
    return m;
  }
  static message tool_result(std::string call_id, std::string text) {
    message m = of(role::tool, std::move(text));
    m.tool_call_id = std::move(call_id);
    return m;
  }
};

}  // namespace keypool::wire
