/*
 * shuffle.h -- the sample-order generator of pybp's training loops.
 *
 * SplitMix64 (Steele, Lea & Flood, "Fast splittable pseudorandom number
 * generators", OOPSLA 2014) for the 64-bit draws, Lemire's multiply-shift
 * bounded draw with rejection ("Fast random integer generation in an
 * interval", ACM TOMACS 2019) for an unbiased index below a bound, and a
 * Fisher-Yates shuffle of 0..n-1 from the last position down.
 *
 * One state word; each fit() seeds it from the Trainer's numpy stream (one
 * 64-bit draw) and every epoch's order continues it.  pybp._pycore.shuffle
 * is the same generator in Python, so both backends give the same orders.
 *
 * Static functions, included by kernels_impl.h and by the Cython boundary
 * (which calls pybp_shuffle_order directly); no allocation, no state but
 * the caller's.
 */
#ifndef PYBP_SHUFFLE_H
#define PYBP_SHUFFLE_H

#include <stdint.h>

#if defined(_MSC_VER) && defined(_M_X64)
#include <intrin.h>
#endif

/* static inline: no warning where a file includes these and uses few. */
#if defined(_MSC_VER) && !defined(__cplusplus)
#define PYBP_SHUFFLE_FN static __inline
#else
#define PYBP_SHUFFLE_FN static inline
#endif

/* The next 64-bit output; advances *state. */
PYBP_SHUFFLE_FN uint64_t pybp_rng_next(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* High and low 64 bits of the 128-bit product a * b. */
PYBP_SHUFFLE_FN uint64_t pybp_mul_128(uint64_t a, uint64_t b, uint64_t *low)
{
#if defined(__SIZEOF_INT128__) && !defined(PYBP_PORTABLE_MUL_128)
    __extension__ typedef unsigned __int128 u128;
    const u128 p = (u128)a * b;
    *low = (uint64_t)p;
    return (uint64_t)(p >> 64);
#elif defined(_MSC_VER) && defined(_M_X64) && !defined(PYBP_PORTABLE_MUL_128)
    uint64_t high;
    *low = _umul128(a, b, &high);
    return high;
#else
    const uint64_t a_lo = a & 0xFFFFFFFFu, a_hi = a >> 32;
    const uint64_t b_lo = b & 0xFFFFFFFFu, b_hi = b >> 32;
    const uint64_t ll = a_lo * b_lo, lh = a_lo * b_hi;
    const uint64_t hl = a_hi * b_lo, hh = a_hi * b_hi;
    const uint64_t mid = (ll >> 32) + (lh & 0xFFFFFFFFu) + (hl & 0xFFFFFFFFu);
    *low = (mid << 32) | (ll & 0xFFFFFFFFu);
    return hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
#endif
}

/* An index uniform in [0, bound), bound >= 1: the high word of x * bound,
 * redrawn while the low word falls in the (2^64 mod bound) values that
 * would bias it. */
PYBP_SHUFFLE_FN uint64_t pybp_rng_below(uint64_t *state, uint64_t bound)
{
    uint64_t low;
    uint64_t high = pybp_mul_128(pybp_rng_next(state), bound, &low);
    if (low < bound) {
        const uint64_t reject = (0 - bound) % bound; /* 2^64 mod bound */
        while (low < reject)
            high = pybp_mul_128(pybp_rng_next(state), bound, &low);
    }
    return high;
}

/* order[0..n-1] = a uniformly random permutation of 0..n-1 (n >= 0):
 * identity, then for i = n-1 down to 1 swap order[i] with order[j],
 * j = pybp_rng_below(state, i + 1).  n - 1 draws (more on rejection). */
PYBP_SHUFFLE_FN void pybp_shuffle_order(uint64_t *state, int64_t *order, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; ++i) order[i] = i;
    for (i = n - 1; i > 0; --i) {
        const int64_t j = (int64_t)pybp_rng_below(state, (uint64_t)i + 1);
        const int64_t tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
}

#endif /* PYBP_SHUFFLE_H */
