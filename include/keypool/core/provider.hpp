#pragma once
/// What the core needs to know about a provider: how to name it and when its
/// day starts. Everything else (URLs, wire format, catalog) lives in
/// keypool/providers, above the core.

#include <chrono>
#include <concepts>
#include <string>

namespace keypool {

struct provider_info {
  std::string id;            ///< lower-case identifier: "groq"
  std::string display_name;  ///< as shown in messages and the report: "GROQ"
  /// Offset of the provider's day boundary from UTC midnight (daily limits).
  std::chrono::minutes day_boundary_utc{0};
};

/// A provider known at compile time: a type with a static `info()`.
template <class P>
concept static_provider = requires {
  { P::info() } -> std::convertible_to<provider_info>;
};

/// Marker for a provider described at run time: the pool's constructor takes
/// the provider_info.
struct runtime_provider {};

template <class P>
concept provider = static_provider<P> || std::same_as<P, runtime_provider>;

}  // namespace keypool
