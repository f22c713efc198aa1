#pragma once
/// A minimal value-or-error type (std::expected is C++23). Shared by the http
/// and wire layers so that nothing in them has to throw to report a failure.

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace keypool::detail {

/// Wraps an error for construction of an expected, as std::unexpected does.
template <class E>
struct unexpected {
  E error;
};
template <class E>
unexpected(E) -> unexpected<E>;

/// Thrown by expected::value() on an error. what() is the error's message,
/// which by contract never contains a secret.
template <class E>
class bad_expected_access : public std::runtime_error {
 public:
  explicit bad_expected_access(E e) : std::runtime_error(e.message), error_(std::move(e)) {}
  const E& error() const noexcept { return error_; }

 private:
  E error_;
};

/// Either a T or an E (which must have a `std::string message` member).
template <class T, class E>
class expected {
  static_assert(!std::is_same_v<T, E>, "value and error types must differ");

 public:
  using value_type = T;
  using error_type = E;

  expected(T v) : v_(std::in_place_index<0>, std::move(v)) {}                    // NOLINT: implicit by design
  expected(unexpected<E> e) : v_(std::in_place_index<1>, std::move(e.error)) {}  // NOLINT

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    check();
    return std::get<0>(v_);
  }
  const T& value() const& {
    check();
    return std::get<0>(v_);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(v_));
  }
  T& operator*() & noexcept { return *std::get_if<0>(&v_); }
  const T& operator*() const& noexcept { return *std::get_if<0>(&v_); }
  T* operator->() noexcept { return std::get_if<0>(&v_); }
  const T* operator->() const noexcept { return std::get_if<0>(&v_); }

  /// Precondition: !has_value().
  const E& error() const& noexcept { return *std::get_if<1>(&v_); }
  E& error() & noexcept { return *std::get_if<1>(&v_); }

 private:
  void check() const {
    if (!has_value()) throw bad_expected_access<E>(std::get<1>(v_));
  }
  std::variant<T, E> v_;
};

}  // namespace keypool::detail
