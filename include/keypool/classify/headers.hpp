#pragma once
/// The header access the classifier needs: "the value of header X, if any",
/// case-insensitively. `headers` owns a small list; `header_lookup` is a
/// non-owning view over it or over any callable, so an HTTP layer can pass
/// its own header container without copying.

#include <keypool/core/detail/ascii.hpp>

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace keypool::classify {

/// ASCII case-insensitive equality (header names are ASCII tokens).
using ::keypool::detail::iequals;

/// An owned list of (name, value) pairs; lookup returns the first match.
class headers {
 public:
  headers() = default;
  headers(std::initializer_list<std::pair<std::string_view, std::string_view>> list) {
    for (const auto& [n, v] : list) add(n, v);
  }
  void add(std::string_view name, std::string_view value) {
    items_.emplace_back(std::string(name), std::string(value));
  }
  std::optional<std::string_view> find(std::string_view name) const {
    for (const auto& [n, v] : items_)
      if (iequals(n, name)) return std::string_view(v);
    return std::nullopt;
  }
  std::size_t size() const noexcept { return items_.size(); }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

/// Non-owning, type-erased "find header by name". The referenced object
/// must outlive the lookup (use it as a function parameter).
class header_lookup {
 public:
  /// No headers at all.
  header_lookup() noexcept = default;

  header_lookup(const headers& h) noexcept  // NOLINT: implicit on purpose
      : obj_(&h), fn_([](const void* o, std::string_view n) { return static_cast<const headers*>(o)->find(n); }) {}

  /// Any callable `std::optional<std::string_view>(std::string_view)`.
  template <class F>
  requires(!std::is_same_v<std::remove_cvref_t<F>, header_lookup> && !std::is_same_v<std::remove_cvref_t<F>, headers> &&
           std::is_invocable_r_v<std::optional<std::string_view>, const F&, std::string_view>) header_lookup(const F& f)
  noexcept  // NOLINT: implicit on purpose
      : obj_(&f), fn_([](const void* o, std::string_view n) -> std::optional<std::string_view> {
          return (*static_cast<const F*>(o))(n);
        }) {}

  std::optional<std::string_view> operator()(std::string_view name) const {
    if (!fn_) return std::nullopt;
    return fn_(obj_, name);
  }

 private:
  const void* obj_ = nullptr;
  std::optional<std::string_view> (*fn_)(const void*, std::string_view) = nullptr;
};

}  // namespace keypool::classify
