#pragma once
/// Compiler attributes for the pick path.

/// Small helpers of acquire()/report(): an optimiser's size heuristics may
/// leave some of them as calls, which cost more than their bodies.
#if defined(__GNUC__) || defined(__clang__)
#define KEYPOOL_ALWAYS_INLINE [[gnu::always_inline]] inline
#else
#define KEYPOOL_ALWAYS_INLINE inline
#endif
