#pragma once
/// What acquire() hands out: the right to use one key for one request. Give
/// it back to the same pool with report(). Cheap to copy; valid as long as the
/// pool lives (a reload never frees key records while the pool exists).

#include <cstdint>
#include <string>
#include <string_view>

namespace keypool {

namespace detail {
/// Immutable once published; replaced (not edited) when a reload renames a key.
struct key_record {
  std::string variable;
  std::string secret;
  std::string redacted;
  std::string fingerprint;
  std::string account;
  std::uint32_t weight = 1;
  std::uint32_t daily_limit = 0;
  ~key_record();
};
}  // namespace detail

class lease {
 public:
  lease() = default;

  /// Stable index of the key inside its pool (kept across reloads).
  std::uint32_t slot() const noexcept { return static_cast<std::uint32_t>(id_); }
  /// "GROQ_API_KEY_2"
  std::string_view variable() const noexcept { return rec_->variable; }
  /// The secret, for the request's auth header only. Never log it.
  std::string_view secret() const noexcept { return rec_->secret; }
  std::string_view redacted() const noexcept { return rec_->redacted; }
  std::string_view fingerprint() const noexcept { return rec_->fingerprint; }
  std::string_view account() const noexcept { return rec_->account; }
  /// True when this request is the single probe of a key whose lockout just
  /// ended: its report decides whether the key goes back into rotation.
  bool is_probe() const noexcept { return (id_ >> 63) != 0; }
  explicit operator bool() const noexcept { return rec_ != nullptr; }

 private:
  template <class, class...>
  friend class basic_pool;
  lease(std::uint32_t slot, std::uint32_t gen, bool probe, const detail::key_record* rec) noexcept
      : id_(std::uint64_t{slot} | std::uint64_t{gen & 0x7fffffff} << 32 | std::uint64_t{probe} << 63), rec_(rec) {}

  /// The probe's key-state generation (a stale probe's verdict is ignored).
  std::uint32_t gen() const noexcept { return static_cast<std::uint32_t>(id_ >> 32) & 0x7fffffff; }

  /// Slot (low half), probe generation and probe flag (top bit) in one word:
  /// handing out a lease is two stores, not four.
  std::uint64_t id_ = 0;
  const detail::key_record* rec_ = nullptr;
};

}  // namespace keypool

#include <keypool/core/detail/sha256.hpp>

inline keypool::detail::key_record::~key_record() {
  if (!secret.empty()) secure_wipe(secret.data(), secret.size());
}
