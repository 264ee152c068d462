/*
 * peak_avx2.c -- the single-core FMA peak: independent chains of 256-bit
 * FMAs (enough of them to hide the latency on two FMA ports), no memory
 * traffic.  Compiled alone with -mavx2 -mfma; called only on CPUs with both.
 */
#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

/* The vector and scalar type of each precision, named by the suffix of its
 * intrinsics (pd: 4 doubles, ps: 8 floats), so that one body serves both. */
typedef __m256d pd_vec;
typedef double pd_scalar;
typedef __m256 ps_vec;
typedef float ps_scalar;

#define CHAINS(X, P) X(0, P) X(1, P) X(2, P) X(3, P) X(4, P) X(5, P) \
    X(6, P) X(7, P) X(8, P) X(9, P) X(10, P) X(11, P)
#define DECLARE(i, P) P##_vec c##i = _mm256_set1_##P((P##_scalar)i);
#define STEP(i, P) c##i = _mm256_fmadd_##P(c##i, m, a);
#define SUM(i, P) s = _mm256_add_##P(s, c##i);

/* NAME(iters): runs `iters` rounds of 12 FMAs c <- c * MUL + ADDEND in
 * precision P; returns the sum of the chains so that nothing is dropped. */
#define PEAK_FMA(NAME, P, MUL, ADDEND)                                      \
    double NAME(int64_t iters)                                              \
    {                                                                       \
        P##_vec m = _mm256_set1_##P(MUL), a = _mm256_set1_##P(ADDEND);      \
        P##_vec s = _mm256_setzero_##P();                                   \
        P##_scalar out[sizeof(P##_vec) / sizeof(P##_scalar)];               \
        double total = 0.0;                                                 \
        int64_t k;                                                          \
        size_t j;                                                           \
        CHAINS(DECLARE, P)                                                  \
        for (k = 0; k < iters; ++k) { CHAINS(STEP, P) }                     \
        CHAINS(SUM, P)                                                      \
        _mm256_storeu_##P(out, s);                                          \
        for (j = 0; j < sizeof out / sizeof out[0]; ++j)                    \
            total += out[j];                                                \
        return total;                                                       \
    }

PEAK_FMA(peak_fma_f64, pd, 0.999999, 1e-7)
PEAK_FMA(peak_fma_f32, ps, 0.9999f, 1e-4f)
