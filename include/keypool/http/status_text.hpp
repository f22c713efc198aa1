#pragma once
/// The reason phrase of an HTTP status code ("Too Many Requests"), for
/// status lines written by hand and for bodies that quote the phrase. It is
/// Beast's table, the one its response writer puts on every status line it
/// serializes, so a phrase reads the same whichever way a response is written.

// Before Beast's header, which defines an inline operator<< for its status
// (needing a complete std::ostream) without including <ostream>.
#include <ostream>
#include <string_view>

#include <boost/beast/http/status.hpp>

namespace keypool::http {

/// "OK", "Too Many Requests", ...; "<unknown-status>" for a code outside the
/// registry (Anthropic's 529), as on a status line Beast writes.
inline std::string_view status_text(unsigned status) {
  const auto text = boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  return {text.data(), text.size()};
}

}  // namespace keypool::http
