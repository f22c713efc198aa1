#pragma once
/// A value or an error, for C++20 (std::expected is C++23): the one
/// value-or-error type of the library, from the pool's acquire() to the
/// HTTP client's chat_outcome. The error lives on the heap: failures are rare
/// and slow anyway, and it keeps the success path (acquire() on the hot path)
/// a plain value plus a null pointer.

#include <concepts>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace keypool {

/// Wraps an error for construction of a result, as std::unexpected does; needed
/// where a braced error could also make a value.
template <class E>
struct unexpected {
  E error;
};
template <class E>
unexpected(E) -> unexpected<E>;

namespace detail {

/// The text of an error: its `message` member or `message()`, if it has one.
template <class E>
std::string error_text(const E& e) {
  if constexpr (requires {
                  { e.message } -> std::convertible_to<std::string>;
                })
    return e.message;
  else if constexpr (requires {
                       { e.message() } -> std::convertible_to<std::string>;
                     })
    return e.message();
  else
    return "bad result access";
}

}  // namespace detail

/// Thrown by result::value() on an error. what() is the error's message,
/// which by contract never contains a secret.
template <class E>
class bad_result_access : public std::runtime_error {
 public:
  explicit bad_result_access(E e) : std::runtime_error(detail::error_text(e)), error_(std::move(e)) {}
  const E& error() const noexcept { return error_; }

 private:
  E error_;
};

/// Either a T or an E. T must be default-constructible (the value slot is
/// always there). value() throws bad_result_access<E> on an error;
/// operator* and operator-> do not check.
template <class T, class E>
class result {
  static_assert(!std::is_same_v<T, E>, "value and error types must differ");

 public:
  using value_type = T;
  using error_type = E;

  result(T v) noexcept(std::is_nothrow_move_constructible_v<T>) : value_(std::move(v)) {}  // NOLINT: implicit
  result(E e) : error_(std::make_unique<E>(std::move(e))) {}                               // NOLINT: implicit
  result(unexpected<E> e) : error_(std::make_unique<E>(std::move(e.error))) {}             // NOLINT: implicit

  result(result&&) = default;
  result& operator=(result&&) = default;
  result(const result& o) requires std::is_copy_constructible_v<T> && std::is_copy_constructible_v<E>
      : value_(o.value_), error_(o.error_ ? std::make_unique<E>(*o.error_) : nullptr) {}
  result& operator=(const result& o) requires std::is_copy_assignable_v<T> && std::is_copy_constructible_v<E> {
    if (this != &o) {
      value_ = o.value_;
      error_ = o.error_ ? std::make_unique<E>(*o.error_) : nullptr;
    }
    return *this;
  }
  ~result() = default;

  bool has_value() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & {
    check();
    return value_;
  }
  const T& value() const& {
    check();
    return value_;
  }
  T&& value() && {
    check();
    return std::move(value_);
  }

  /// Precondition: !has_value().
  const E& error() const& noexcept { return *error_; }
  E& error() & noexcept { return *error_; }
  E&& error() && noexcept { return std::move(*error_); }

  T* operator->() noexcept { return &value_; }
  const T* operator->() const noexcept { return &value_; }
  T& operator*() & noexcept { return value_; }
  const T& operator*() const& noexcept { return value_; }

 private:
  void check() const {
    if (error_) [[unlikely]]
      throw bad_result_access<E>(*error_);
  }

  T value_{};
  std::unique_ptr<E> error_;
};

}  // namespace keypool
