/*
 * fast_avx512.c -- the fast kernels for x86-64 CPUs with AVX-512F.  This
 * file alone is compiled with -mavx512f -mfma (or /arch:AVX512), for x86-64
 * targets only; fast_dispatch.c calls it only after checking that the CPU
 * has AVX-512F and that the OS saves the ZMM and opmask registers.
 *
 * Micro-kernels: 6 rows of two 512-bit accumulators (6 x 16 doubles,
 * 6 x 32 floats), 12 FMA chains: the AVX2 kernel's shape at twice the
 * width.  (The 32 ZMM registers would allow
 * a taller tile; left for measurement on a CPU that has AVX-512.)
 */
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#include <stdint.h>

#define ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

static void ukr_f64_avx512(int64_t kc, const double *a, const double *b,
                           double *tile)
{
#define DECL(r) __m512d c##r##0 = _mm512_setzero_pd(), c##r##1 = _mm512_setzero_pd();
#define STEP(r) { __m512d ar = _mm512_set1_pd(a[r]);                          \
                  c##r##0 = _mm512_fmadd_pd(ar, b0, c##r##0);                 \
                  c##r##1 = _mm512_fmadd_pd(ar, b1, c##r##1); }
#define STORE(r) _mm512_storeu_pd(tile + r * 16, c##r##0);                    \
                 _mm512_storeu_pd(tile + r * 16 + 8, c##r##1);
    int64_t p;
    ROWS(DECL)
    for (p = 0; p < kc; ++p) {
        __m512d b0 = _mm512_loadu_pd(b), b1 = _mm512_loadu_pd(b + 8);
        ROWS(STEP)
        a += 6;
        b += 16;
    }
    ROWS(STORE)
#undef DECL
#undef STEP
#undef STORE
}

static void ukr_f32_avx512(int64_t kc, const float *a, const float *b,
                           float *tile)
{
#define DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps();
#define STEP(r) { __m512 ar = _mm512_set1_ps(a[r]);                           \
                  c##r##0 = _mm512_fmadd_ps(ar, b0, c##r##0);                 \
                  c##r##1 = _mm512_fmadd_ps(ar, b1, c##r##1); }
#define STORE(r) _mm512_storeu_ps(tile + r * 32, c##r##0);                    \
                 _mm512_storeu_ps(tile + r * 32 + 16, c##r##1);
    int64_t p;
    ROWS(DECL)
    for (p = 0; p < kc; ++p) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        ROWS(STEP)
        a += 6;
        b += 32;
    }
    ROWS(STORE)
#undef DECL
#undef STEP
#undef STORE
}

#define PYBP_FAST_ISA avx512
#define FAST_MR_F64 6
#define FAST_NR_F64 16
#define FAST_UKR_F64 ukr_f64_avx512
#define FAST_MR_F32 6
#define FAST_NR_F32 32
#define FAST_UKR_F32 ukr_f32_avx512
#include "fast_instantiate.h"
#else
typedef int pybp_fast_avx512_empty; /* ISO C wants a declaration per file */
#endif
