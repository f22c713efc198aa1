#pragma once
/// state::stored_unavailable_model — a model a provider called unavailable
/// (retired, not found, no access) for one account or key, as a state store
/// keeps it (state::sqlite::add_unavailable_models /
/// load_unavailable_models), so the next run does not try it again. The HTTP
/// client's memory (http::unavailable_model) converts to and from it; the
/// state layer does not depend on the client.

#include <chrono>
#include <string>

namespace keypool::state {

struct stored_unavailable_model {
  std::string provider;  ///< "groq"
  std::string account;   ///< the key's account, or its 12-hex fingerprint when it has none
  std::string model;     ///< the api identifier sent
  /// Skipped until then; time_point::max(): for good.
  std::chrono::system_clock::time_point until{};
};

}  // namespace keypool::state
