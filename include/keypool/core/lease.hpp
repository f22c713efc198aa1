#pragma once
/// What acquire() hands out: the right to use one key for one request. Give
/// it back to the same pool with report(), once. Cheap to copy; valid as long
/// as the pool lives (a reload never frees key records while the pool
/// exists). A lease reported to another pool, an empty lease, or the same
/// lease object reported again is ignored and counted as misuse
/// (pool_snapshot::misuse).

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
  std::uint32_t slot() const noexcept { return slot_; }
  /// "GROQ_API_KEY_2"
  std::string_view variable() const noexcept { return rec_->variable; }
  /// The secret, for the request's auth header only. Never log it.
  std::string_view secret() const noexcept { return rec_->secret; }
  std::string_view redacted() const noexcept { return rec_->redacted; }
  std::string_view fingerprint() const noexcept { return rec_->fingerprint; }
  std::string_view account() const noexcept { return rec_->account; }
  /// True when this request is the single probe of a key whose lockout just
  /// ended: its report decides whether the key goes back into rotation.
  bool is_probe() const noexcept { return probe_ != 0; }
  explicit operator bool() const noexcept { return rec_ != nullptr; }

 private:
  template <class, class...>
  friend class basic_pool;
  lease(std::uint32_t slot, std::uint64_t probe, const detail::key_record* rec, const void* pool) noexcept
      : slot_(slot), rec_(rec), pool_(pool), probe_(probe) {}

  std::uint32_t slot_ = 0;
  const detail::key_record* rec_ = nullptr;
  /// The pool that handed the lease out, until it is reported there: report()
  /// accepts a lease only from its own pool and only once (it clears this on
  /// the object it is given; a copy taken before still carries it).
  mutable const void* pool_ = nullptr;
  /// A probe's key state word as the probe took it (0: not a probe). The
  /// whole word, not a generation that wraps: a probe's verdict counts only
  /// while the key is still in this very probe, however many times its state
  /// changed meanwhile (a stale probe's verdict is ignored).
  std::uint64_t probe_ = 0;
};

}  // namespace keypool

#include <keypool/core/detail/sha256.hpp>

inline keypool::detail::key_record::~key_record() {
  if (!secret.empty()) secure_wipe(secret.data(), secret.size());
}
