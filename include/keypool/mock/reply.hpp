#pragma once
/// What a mock provider answers and how the server delivers it: the one
/// type the providers' behaviour (providers.hpp) and the HTTP server
/// (server.hpp) share, so the server needs nothing else of the providers.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keypool::mock {

/// How the server should deliver a reply.
enum class fault_action : std::uint8_t {
  none,      ///< a normal HTTP response
  truncate,  ///< headers announce the whole body, half of it is sent, the connection closes
  reset,     ///< no response: the connection is reset
  stall,     ///< no response for `delay`, then the connection closes
};

struct reply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers{};
  std::string body{};
  std::string content_type = "application/json";
  std::chrono::milliseconds delay{0};  ///< latency before the answer
  fault_action action = fault_action::none;
};

/// Request headers by name (case-insensitive in the server's implementation).
using header_lookup = std::function<std::optional<std::string_view>(std::string_view)>;

}  // namespace keypool::mock
