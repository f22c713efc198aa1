#pragma once
/// What the request-shape checks share: the request as far as the mock
/// cares, the refusal they return, and the image checks (base64, data URLs)
/// every wire format needs. The checks themselves, one per wire format, are
/// in openai_shape.hpp, anthropic_shape.hpp and gemini_shape.hpp.

#include <keypool/mock/detail/conversation.hpp>

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace keypool::mock::detail {

/// The request as far as the mock cares.
struct parsed_request {
  std::string model;
  std::string prompt;
  std::size_t images = 0;
  std::size_t image_bytes = 0;
  conversation chat{};  ///< turns, tools, structured output, streaming
};

struct shape_error {
  std::string message;
  unsigned status = 400;
  std::string param{};  ///< OpenAI's error.param ("messages.[2].role"), when the API names one
};

using check_result = std::pair<std::optional<shape_error>, parsed_request>;

/// Valid base64 (RFC 4648, padded): returns the decoded size.
inline std::optional<std::size_t> base64_size(std::string_view s) {
  if (s.empty() || s.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
    if (ok && pad == 0) continue;
    if (c == '=' && i + 2 >= s.size()) {
      ++pad;
      continue;
    }
    return std::nullopt;
  }
  return s.size() / 4 * 3 - pad;
}

inline bool image_mime(std::string_view m) {
  return m == "image/jpeg" || m == "image/png" || m == "image/webp" || m == "image/gif";
}

/// "data:image/png;base64,...": the decoded size, or why not.
inline std::optional<std::string> check_data_url(std::string_view url, std::size_t& bytes) {
  if (url.substr(0, 5) != "data:") return "image url must be a data: URL";
  const auto semi = url.find(";base64,");
  if (semi == std::string_view::npos) return "image data URL must be base64 (data:<mime>;base64,<data>)";
  if (!image_mime(url.substr(5, semi - 5)))
    return "unsupported image type '" + std::string(url.substr(5, std::min<std::size_t>(semi - 5, 40))) + "'";
  const auto n = base64_size(url.substr(semi + 8));
  if (!n) return "image data is not valid base64";
  bytes += *n;
  return std::nullopt;
}

}  // namespace keypool::mock::detail
