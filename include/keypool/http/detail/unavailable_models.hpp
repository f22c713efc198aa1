#pragma once
/// The failover client's memory of models that answered model_unavailable:
/// per provider, account (or key variable) and model, until a deadline.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>

namespace keypool::http::detail {

/// Thread-safe. A lookup takes no lock while nothing is remembered (the
/// common case); otherwise one short mutex.
class unavailable_models {
 public:
  using clock = std::chrono::steady_clock;

  /// True while `model` is remembered for this provider and account; an
  /// expired entry is forgotten on the way.
  bool contains(std::string_view provider, std::string_view account, std::string_view model) {
    if (size_.load(std::memory_order_acquire) == 0) return false;
    std::lock_guard lock(mu_);
    const auto it = gone_.find(view_t{provider, account, model});
    if (it == gone_.end()) return false;
    if (clock::now() < it->second) return true;
    gone_.erase(it);
    size_.store(gone_.size(), std::memory_order_release);
    return false;
  }

  void remember(std::string_view provider, std::string_view account, std::string_view model, clock::time_point until) {
    std::lock_guard lock(mu_);
    gone_[key_t{provider, account, model}] = until;
    size_.store(gone_.size(), std::memory_order_release);
  }

  void clear() {
    std::lock_guard lock(mu_);
    gone_.clear();
    size_.store(0, std::memory_order_release);
  }

 private:
  using key_t = std::tuple<std::string, std::string, std::string>;  // provider, account-or-variable, model
  using view_t = std::tuple<std::string_view, std::string_view, std::string_view>;
  /// Orders keys and views alike, so a lookup needs no strings built.
  struct less {
    using is_transparent = void;
    static view_t view(const key_t& k) noexcept { return {std::get<0>(k), std::get<1>(k), std::get<2>(k)}; }
    static const view_t& view(const view_t& v) noexcept { return v; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return view(a) < view(b);
    }
  };

  std::mutex mu_;
  std::map<key_t, clock::time_point, less> gone_;  ///< looked up by view_t
  std::atomic<std::size_t> size_{0};               ///< gone_.size(), read without mu_
};

}  // namespace keypool::http::detail
