#pragma once
/// A value or an error, for C++20 (std::expected is C++23). The error lives
/// on the heap: failures are rare and slow anyway, and it keeps the success
/// path (acquire() on the hot path) a plain value plus a null pointer.

#include <memory>
#include <type_traits>
#include <utility>

namespace keypool {

template <class T, class E>
class result {
 public:
  result(T v) noexcept(std::is_nothrow_move_constructible_v<T>) : value_(std::move(v)) {}
  result(E e) : error_(std::make_unique<E>(std::move(e))) {}

  bool has_value() const noexcept { return !error_; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return value_; }
  const T& value() const& { return value_; }
  T&& value() && { return std::move(value_); }
  const E& error() const& { return *error_; }
  E&& error() && { return std::move(*error_); }

  T* operator->() noexcept { return &value_; }
  const T* operator->() const noexcept { return &value_; }
  T& operator*() & noexcept { return value_; }
  const T& operator*() const& noexcept { return value_; }

 private:
  T value_{};
  std::unique_ptr<E> error_;
};

}  // namespace keypool
