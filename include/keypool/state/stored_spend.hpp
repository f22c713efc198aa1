#pragma once
/// state::stored_spend — one key × model's accumulated spend as a state
/// store keeps it (state::sqlite::add_spend / load_spend): by provider and
/// fingerprint, never the secret or its variable name. The HTTP layer's
/// spend ledger (spend/spend.hpp) converts to and from it; the state layer
/// does not depend on that ledger.

#include <cstdint>
#include <string>

namespace keypool::state {

struct stored_spend {
  std::string provider;     ///< "openai"
  std::string fingerprint;  ///< 12 hex digits of the key's SHA-256
  std::string model;        ///< the api identifier sent
  std::uint64_t requests = 0;
  std::uint64_t input_tokens = 0;
  std::uint64_t output_tokens = 0;
  std::uint64_t cost_nusd = 0;  ///< nano-dollars (1e-9 USD), as the ledger counts
  bool priced = true;           ///< false: some request's model had no price (cost 0)
};

}  // namespace keypool::state
