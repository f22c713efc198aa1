#pragma once
/// `ask --image FILE`: the image types the providers take, reading the
/// files, and the per-request image limits the providers document. A
/// provider answers an image it cannot take with 400 or 413, a bad_request
/// that ends the chat without trying the next provider, so the tool refuses
/// such a request before sending it.

#include "../options.hpp"
#include "load.hpp"

#include <keypool/core/detail/ascii.hpp>
#include <keypool/wire/request.hpp>

#include <array>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace keypool::cli::detail {

inline std::string mime_of(const std::string& path) {
  auto ext = std::filesystem::path(path).extension().string();
  ::keypool::detail::to_lower_in_place(ext);
  if (ext == ".jpg" || ext == ".jpeg") return "image/jpeg";
  if (ext == ".png") return "image/png";
  if (ext == ".webp") return "image/webp";
  if (ext == ".gif") return "image/gif";
  return {};
}

/// Reads every --image. Throws usage_error for a type no provider takes and
/// file_error for a file that cannot be read (a directory included).
inline std::vector<wire::image> read_images(const std::vector<std::string>& paths) {
  std::vector<wire::image> out;
  for (const auto& path : paths) {
    const auto mime = mime_of(path);
    if (mime.empty()) throw usage_error("--image " + path + ": not a .jpg, .jpeg, .png, .webp or .gif file");
    if (const auto why = unreadable(path); !why.empty()) throw file_error("--image " + path + ": " + why);
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    if (!in && !in.eof()) throw file_error("--image " + path + ": cannot be read");
    out.push_back({ss.str(), mime});
  }
  return out;
}

/// What one provider takes in one request, as its documentation states (0:
/// no limit stated). Sizes are of the request's base64 text where the
/// provider counts the encoded request, of the file otherwise.
struct image_limit {
  std::string_view provider;
  std::size_t max_images = 0;
  std::size_t max_image_bytes = 0;    ///< one image file
  std::size_t max_encoded_bytes = 0;  ///< all images, base64-encoded
  std::string_view source;            ///< where the provider says so
};

inline constexpr std::size_t mib = 1024 * 1024;

/// The limits of the providers' vision documentation (docs/cli.md lists
/// them with their sources). NVIDIA and Z.AI state none for their APIs, so
/// nothing is checked for them.
inline constexpr std::array<image_limit, 5> image_limits{{
    {"groq", 5, 0, 4 * mib, "Groq vision docs: 5 images, 4 MB of base64 per request"},
    {"mistral", 8, 10 * mib, 0, "Mistral vision docs: 8 images per request, 10 MB per image"},
    {"anthropic", 100, 5 * mib, 0, "Anthropic vision docs: 100 images per API request, 5 MB per image"},
    {"openai", 500, 0, 50 * mib, "OpenAI vision docs: 500 images, 50 MB of payload per request"},
    {"google", 0, 0, 20 * mib, "Gemini docs: 20 MB of inline data per request"},
}};

inline std::size_t base64_size(std::size_t n) { return (n + 2) / 3 * 4; }

/// Why `provider` cannot take `images` in one request; empty when it can.
inline std::string image_limit_problem(std::string_view provider, const std::vector<wire::image>& images,
                                       const std::vector<std::string>& paths) {
  for (const auto& l : image_limits) {
    if (l.provider != provider) continue;
    if (l.max_images && images.size() > l.max_images)
      return std::to_string(images.size()) + " images, but " + std::string(provider) + " takes at most " +
             std::to_string(l.max_images) + " per request (" + std::string(l.source) + ")";
    std::size_t encoded = 0;
    for (std::size_t i = 0; i < images.size(); ++i) {
      encoded += base64_size(images[i].bytes.size());
      if (l.max_image_bytes && images[i].bytes.size() > l.max_image_bytes)
        return paths[i] + " is " + std::to_string(images[i].bytes.size()) + " bytes, more than " +
               std::string(provider) + " takes (" + std::string(l.source) + ")";
    }
    if (l.max_encoded_bytes && encoded > l.max_encoded_bytes)
      return "the images are " + std::to_string(encoded) + " bytes in base64, more than " + std::string(provider) +
             " takes (" + std::string(l.source) + ")";
  }
  return {};
}

}  // namespace keypool::cli::detail
