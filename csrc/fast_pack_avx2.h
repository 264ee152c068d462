/*
 * fast_pack_avx2.h -- the transposing copy of packing (fast_impl.h's
 * fast_pack, for operands whose panel runs across rows: X and W in the
 * forward product, D in the delta product) with AVX2 register transposes,
 * 8 x 8 floats or 4 x 4 doubles at a time, instead of one element at a
 * time.  For fast_avx2.c and fast_avx512.c (every AVX-512F CPU has AVX2);
 * include it only from a file compiled with -mavx2 or wider.  Packing is a
 * copy: the products' bits do not depend on how it is done.
 *
 * Each defines, for fast_instantiate.h (FAST_PACK_T_F64, FAST_PACK_T_F32):
 *   void (REAL *dst, int width, const REAL *src, int64_t ts, int64_t kc,
 *         int64_t valid)
 *   dst[p * width + t] = src[t * ts + p] for t < valid, 0 for valid <= t <
 *   width, p < kc; src row t is read only for t < valid.
 */
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__) && !defined(__AVX2__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/* r[q] becomes column q of the 8 x 8 block whose rows are r[0..7] */
static void fpack_transpose8_ps(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

/* r[q] becomes column q of the 4 x 4 block whose rows are r[0..3] */
static void fpack_transpose4_pd(__m256d r[4])
{
    __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
    __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
    r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
    r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
    r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
    r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

/* Groups of G rows of the panel (the last one may be shorter: a 6-row
 * tile), whole blocks of G values of p by register transposes, the rest of
 * p one value at a time.  A group's rows past `valid` are zeros; a short
 * group's (a 6-row tile's) columns are stored through a stack copy. */
#define FPACK_T(NAME, REAL, VEC, G, LOAD, ZERO, TRANSPOSE, STORE)             \
    static void NAME(REAL *dst, int width, const REAL *src, int64_t ts,       \
                     int64_t kc, int64_t valid)                               \
    {                                                                         \
        int t0, i;                                                            \
        int64_t p;                                                            \
        for (t0 = 0; t0 < width; t0 += G) {                                   \
            const int rows = width - t0 < G ? width - t0 : G;                 \
            const int have = valid - t0 < (int64_t)rows                       \
                                 ? (valid > t0 ? (int)(valid - t0) : 0)       \
                                 : rows;                                      \
            for (p = 0; p + G <= kc; p += G) {                                \
                VEC r[G];                                                     \
                for (i = 0; i < G; ++i)                                       \
                    r[i] = i < have ? LOAD(src + (t0 + i) * ts + p) : ZERO(); \
                TRANSPOSE(r);                                                 \
                for (i = 0; i < G; ++i) {                                     \
                    REAL *d = dst + (p + i) * width + t0;                     \
                    if (rows == G) {                                          \
                        STORE(d, r[i]);                                       \
                    } else { /* a stack copy: masked stores are slow on */    \
                        REAL part[G]; /* some AMD CPUs; copies of constant */ \
                        int k;        /* length (the 6-row tile's 6 or 2  */ \
                        STORE(part, r[i]); /* values) inline, a memcpy  */   \
                        if (rows == 6) /* call per row would not */          \
                            memcpy(d, part, 6 * sizeof(REAL));                \
                        else if (rows == 2)                                   \
                            memcpy(d, part, 2 * sizeof(REAL));                \
                        else                                                  \
                            for (k = 0; k < rows; ++k) d[k] = part[k];        \
                    }                                                         \
                }                                                             \
            }                                                                 \
            for (; p < kc; ++p)                                               \
                for (i = 0; i < rows; ++i)                                    \
                    dst[p * width + t0 + i] =                                 \
                        i < have ? src[(t0 + i) * ts + p] : (REAL)0;          \
        }                                                                     \
    }

FPACK_T(fpack_t_f32_avx2, float, __m256, 8, _mm256_loadu_ps,
        _mm256_setzero_ps, fpack_transpose8_ps, _mm256_storeu_ps)
FPACK_T(fpack_t_f64_avx2, double, __m256d, 4, _mm256_loadu_pd,
        _mm256_setzero_pd, fpack_transpose4_pd, _mm256_storeu_pd)
#undef FPACK_T

#define FAST_PACK_T_F64 fpack_t_f64_avx2
#define FAST_PACK_T_F32 fpack_t_f32_avx2
