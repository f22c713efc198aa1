#pragma once
/// Counting on a counter that only its own thread writes (a shard's); other
/// threads only read it, with relaxed loads.

#include <keypool/core/detail/attributes.hpp>

#include <atomic>
#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#if defined(__SANITIZE_THREAD__)
#define KEYPOOL_DETAIL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KEYPOOL_DETAIL_TSAN 1
#endif
#endif
#if !defined(KEYPOOL_DETAIL_TSAN)
#define KEYPOOL_DETAIL_ADD_IN_MEMORY 1
#endif
#endif

namespace keypool::detail {

/// Adds one. Not a read-modify-write atomic: correct only with one writer.
/// Wait-free.
KEYPOOL_ALWAYS_INLINE void single_writer_increment(std::atomic<std::uint64_t>& a) noexcept {
#if defined(KEYPOOL_DETAIL_ADD_IN_MEMORY)
  // Compilers never merge an atomic load and store into one instruction; an
  // add to memory is one instruction where they emit three (load, add,
  // store), and the pick is bound by what it issues. An aligned 8-byte store
  // is single-copy atomic on x86-64, so a reader sees the old count or the
  // new. Under ThreadSanitizer the portable form below, which it can check.
  asm volatile("addq $1, %0" : "+m"(a) : : "cc");
#else
  a.store(a.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
#endif
}

}  // namespace keypool::detail

#undef KEYPOOL_DETAIL_ADD_IN_MEMORY
#undef KEYPOOL_DETAIL_TSAN
