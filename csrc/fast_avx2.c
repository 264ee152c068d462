/*
 * fast_avx2.c -- the fast kernels for x86-64 CPUs with AVX2 and FMA.  This
 * file alone is compiled with -mavx2 -mfma (or /arch:AVX2), for x86-64
 * targets only; fast_dispatch.c calls it only after checking that the CPU
 * has AVX2 and FMA and that the OS saves the YMM registers.
 *
 * Micro-kernels: 6 x 8 doubles / 6 x 16 floats, i.e. 6 rows of two 256-bit
 * accumulators: 12 independent FMA chains, enough to cover the FMA latency
 * (4-5 cycles) on two FMA ports, leaving registers for the two B vectors and
 * the broadcast A element.  Each output is one chain of FMAs in increasing k.
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <stdint.h>

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

static void ukr_f64_avx2(int64_t kc, const double *a, const double *b,
                         double *tile)
{
#define DECL(r) __m256d c##r##0 = _mm256_setzero_pd(), c##r##1 = _mm256_setzero_pd();
#define STEP(r) { __m256d ar = _mm256_broadcast_sd(a + r);                    \
                  c##r##0 = _mm256_fmadd_pd(ar, b0, c##r##0);                 \
                  c##r##1 = _mm256_fmadd_pd(ar, b1, c##r##1); }
#define STORE(r) _mm256_storeu_pd(tile + r * 8, c##r##0);                     \
                 _mm256_storeu_pd(tile + r * 8 + 4, c##r##1);
    int64_t p;
    ROWS(DECL)
    for (p = 0; p < kc; ++p) {
        __m256d b0 = _mm256_loadu_pd(b), b1 = _mm256_loadu_pd(b + 4);
        ROWS(STEP)
        a += 6;
        b += 8;
    }
    ROWS(STORE)
#undef DECL
#undef STEP
#undef STORE
}

static void ukr_f32_avx2(int64_t kc, const float *a, const float *b,
                         float *tile)
{
#define DECL(r) __m256 c##r##0 = _mm256_setzero_ps(), c##r##1 = _mm256_setzero_ps();
#define STEP(r) { __m256 ar = _mm256_broadcast_ss(a + r);                     \
                  c##r##0 = _mm256_fmadd_ps(ar, b0, c##r##0);                 \
                  c##r##1 = _mm256_fmadd_ps(ar, b1, c##r##1); }
#define STORE(r) _mm256_storeu_ps(tile + r * 16, c##r##0);                    \
                 _mm256_storeu_ps(tile + r * 16 + 8, c##r##1);
    int64_t p;
    ROWS(DECL)
    for (p = 0; p < kc; ++p) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        ROWS(STEP)
        a += 6;
        b += 16;
    }
    ROWS(STORE)
#undef DECL
#undef STEP
#undef STORE
}

#define PYBP_FAST_ISA avx2
#define FAST_MR_F64 6
#define FAST_NR_F64 8
#define FAST_UKR_F64 ukr_f64_avx2
#define FAST_MR_F32 6
#define FAST_NR_F32 16
#define FAST_UKR_F32 ukr_f32_avx2
#include "fast_instantiate.h"
#else
typedef int pybp_fast_avx2_empty; /* ISO C wants a declaration per file */
#endif
