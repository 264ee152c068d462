/*
 * fast_act_avx2.h -- the fast set's array activations (sigmoid, tanh) with
 * 256-bit AVX2 + FMA intrinsics, for fast_avx2.c and fast_avx512.c (the
 * AVX-512 variant reuses these 256-bit loops: every AVX-512F CPU has AVX2
 * and FMA, and the activation is a small part of a layer's time).  Include
 * it only from a file compiled with -mavx2 -mfma or wider.
 *
 * The scheme (fast_generic.c runs the same tanh in scalar C):
 *   exp(x), x <= 0:  k = round(x / ln2), r = x - k ln2 (Cody-Waite: ln2 in
 *     a high part with trailing zero bits, so k ln2_hi is exact, and a low
 *     part), |r| <= ln2/2; expm1(r) = r + r^2 q(r), q the Taylor polynomial
 *     of (e^r - 1 - r)/r^2 to r^11 (float: r^6), Estrin with FMA; then
 *     exp(x) = 2^k (1 + expm1(r)), 2^k written into the exponent bits.
 *   sigmoid(z) = 1/(1 + e) for z >= 0, e/(1 + e) for z < 0, e = exp(-|z|):
 *     exp only ever of -|z|, as kernels_impl.h's scalar sigmoid.  -|z| is
 *     clamped at -746 (float: -104), below which e rounds to 0; 2^k is
 *     applied as 2^(k - k/2) 2^(k/2), both normal, so a subnormal e is
 *     rounded once.
 *   tanh(z) = sign(z) (-em)/(2 + em), em = expm1(-2|z|) = 2^k expm1(r) +
 *     (2^k - 1): no cancellation for small |z| (em ~ -2|z| to a few ulps).
 *     -2|z| is clamped at -60 (float: -30), where tanh is 1 to the last bit.
 *   NaN in gives that NaN out (blended back at the end; the clamps turn NaN
 *   lanes into finite ones, so no float-to-int conversion sees a NaN or an
 *   out-of-range value).  +-inf give 0/1 and +-1; -0.0 gives 0.5 and -0.0.
 * Accuracy (tests/c/test_activation.c, dense sweeps of [-750, 750] against
 * the long-double functions): see docs/kernels.md, "Numerics: tolerance".
 *
 * A tail of fewer than one vector goes through the same steps on one lane
 * (fs_sigmoid_sd ... below), so every element's result is the same bits
 * wherever it sits in the array.
 */
#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#include "fast_act_consts.h"

/* The helpers pass vectors by value.  The real builds have AVX2 enabled;
 * without it (.ci/check_c.sh's syntax check of every file with the baseline
 * flags) GCC and Clang would warn that such a function's ABI differs. */
#if defined(__GNUC__) && !defined(__AVX2__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/* ---- double, 4 lanes ---------------------------------------------------- */

static __m256d fact_expm1_red_pd(__m256d r)
{
    /* Estrin's scheme: the pairs, then r^2, r^4, r^8 -- 5 multiply-adds
     * deep instead of Horner's 12 (latency is what a small layer waits on) */
    __m256d r2 = _mm256_mul_pd(r, r), r4 = _mm256_mul_pd(r2, r2);
    __m256d r8 = _mm256_mul_pd(r4, r4);
    __m256d p0 = _mm256_fmadd_pd(_mm256_set1_pd(PYBP_EXPM1_C3), r, _mm256_set1_pd(PYBP_EXPM1_C2));
    __m256d p1 = _mm256_fmadd_pd(_mm256_set1_pd(PYBP_EXPM1_C5), r, _mm256_set1_pd(PYBP_EXPM1_C4));
    __m256d p2 = _mm256_fmadd_pd(_mm256_set1_pd(PYBP_EXPM1_C7), r, _mm256_set1_pd(PYBP_EXPM1_C6));
    __m256d p3 = _mm256_fmadd_pd(_mm256_set1_pd(PYBP_EXPM1_C9), r, _mm256_set1_pd(PYBP_EXPM1_C8));
    __m256d p4 = _mm256_fmadd_pd(_mm256_set1_pd(PYBP_EXPM1_C11), r, _mm256_set1_pd(PYBP_EXPM1_C10));
    __m256d p5 = _mm256_fmadd_pd(_mm256_set1_pd(PYBP_EXPM1_C13), r, _mm256_set1_pd(PYBP_EXPM1_C12));
    __m256d q0 = _mm256_fmadd_pd(p1, r2, p0), q1 = _mm256_fmadd_pd(p3, r2, p2);
    __m256d q2 = _mm256_fmadd_pd(p5, r2, p4);
    __m256d q = _mm256_fmadd_pd(q2, r8, _mm256_fmadd_pd(q1, r4, q0));
    return _mm256_fmadd_pd(r2, q, r);
}

/* 2^k for int32 k in [-1022, 1023] */
static __m256d fact_pow2_pd(__m128i k)
{
    __m256i e = _mm256_add_epi64(_mm256_cvtepi32_epi64(k),
                                 _mm256_set1_epi64x(1023));
    return _mm256_castsi256_pd(_mm256_slli_epi64(e, 52));
}

/* x clamped to [lo, 0] already: k and r = x - k ln2 */
static __m256d fact_reduce_pd(__m256d x, __m128i *k)
{
    __m256d kf = _mm256_round_pd(
        _mm256_mul_pd(x, _mm256_set1_pd(PYBP_LOG2E)),
        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256d r = _mm256_fnmadd_pd(kf, _mm256_set1_pd(PYBP_LN2_HI), x);
    *k = _mm256_cvtpd_epi32(kf);
    return _mm256_fnmadd_pd(kf, _mm256_set1_pd(PYBP_LN2_LO), r);
}

/* exp(x) for x in [-PYBP_SIGMOID_CLAMP_F64, 0] (not NaN): 2^k applied as
 * 2^(k - k/2) 2^(k/2), both normal, so that a subnormal result is rounded
 * once */
static __m256d fact_exp_clamped_pd(__m256d x)
{
    __m128i k, k1;
    __m256d pm1 = fact_expm1_red_pd(fact_reduce_pd(x, &k)), s1;
    k1 = _mm_srai_epi32(k, 1);
    s1 = fact_pow2_pd(k1);
    return _mm256_mul_pd(_mm256_fmadd_pd(pm1, s1, s1),
                         fact_pow2_pd(_mm_sub_epi32(k, k1)));
}

/* exp(x) for x <= 0 or NaN (softmax's z - max z): NaN stays NaN, and below
 * the clamp the result is 0 */
static __m256d fact_exp_nonpos_pd(__m256d x)
{
    /* max returns its second operand for a NaN first one */
    __m256d e = fact_exp_clamped_pd(
        _mm256_max_pd(x, _mm256_set1_pd(-PYBP_SIGMOID_CLAMP_F64)));
    return _mm256_blendv_pd(e, x, _mm256_cmp_pd(x, x, _CMP_UNORD_Q));
}

static __m256d fact_sigmoid_pd(__m256d z)
{
    const __m256d sign = _mm256_set1_pd(-0.0), one = _mm256_set1_pd(1.0);
    /* max returns its second operand for a NaN first one */
    __m256d x = _mm256_max_pd(_mm256_or_pd(z, sign),
                              _mm256_set1_pd(-PYBP_SIGMOID_CLAMP_F64));
    __m256d e = fact_exp_clamped_pd(x), num, y;
    num = _mm256_blendv_pd(e, one,
                           _mm256_cmp_pd(z, _mm256_setzero_pd(), _CMP_GE_OQ));
    y = _mm256_div_pd(num, _mm256_add_pd(one, e));
    return _mm256_blendv_pd(y, z, _mm256_cmp_pd(z, z, _CMP_UNORD_Q));
}

static __m256d fact_tanh_pd(__m256d z)
{
    const __m256d sign = _mm256_set1_pd(-0.0), one = _mm256_set1_pd(1.0);
    __m256d a = _mm256_andnot_pd(sign, z);
    __m256d x = _mm256_max_pd(_mm256_sub_pd(_mm256_setzero_pd(),
                                            _mm256_add_pd(a, a)),
                              _mm256_set1_pd(-PYBP_TANH_CLAMP_F64));
    __m128i k;
    __m256d pm1 = fact_expm1_red_pd(fact_reduce_pd(x, &k));
    __m256d s = fact_pow2_pd(k);
    __m256d em = _mm256_fmadd_pd(s, pm1, _mm256_sub_pd(s, one));
    __m256d t = _mm256_div_pd(_mm256_sub_pd(_mm256_setzero_pd(), em),
                              _mm256_add_pd(_mm256_set1_pd(2.0), em));
    t = _mm256_or_pd(_mm256_andnot_pd(sign, t), _mm256_and_pd(z, sign));
    return _mm256_blendv_pd(t, z, _mm256_cmp_pd(z, z, _CMP_UNORD_Q));
}

/* ---- float, 8 lanes ----------------------------------------------------- */

static __m256 fact_expm1_red_ps(__m256 r)
{
    /* Estrin's scheme, as for double: 4 multiply-adds deep instead of 7 */
    __m256 r2 = _mm256_mul_ps(r, r), r4 = _mm256_mul_ps(r2, r2);
    __m256 p0 = _mm256_fmadd_ps(_mm256_set1_ps(PYBP_EXPM1F_C3), r, _mm256_set1_ps(PYBP_EXPM1F_C2));
    __m256 p1 = _mm256_fmadd_ps(_mm256_set1_ps(PYBP_EXPM1F_C5), r, _mm256_set1_ps(PYBP_EXPM1F_C4));
    __m256 p2 = _mm256_fmadd_ps(_mm256_set1_ps(PYBP_EXPM1F_C7), r, _mm256_set1_ps(PYBP_EXPM1F_C6));
    __m256 q0 = _mm256_fmadd_ps(p1, r2, p0);
    __m256 q1 = _mm256_fmadd_ps(_mm256_set1_ps(PYBP_EXPM1F_C8), r2, p2);
    __m256 q = _mm256_fmadd_ps(q1, r4, q0);
    return _mm256_fmadd_ps(r2, q, r);
}

/* 2^k for int32 k in [-126, 127] */
static __m256 fact_pow2_ps(__m256i k)
{
    return _mm256_castsi256_ps(
        _mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23));
}

static __m256 fact_reduce_ps(__m256 x, __m256i *k)
{
    __m256 kf = _mm256_round_ps(
        _mm256_mul_ps(x, _mm256_set1_ps(PYBP_LOG2EF)),
        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(kf, _mm256_set1_ps(PYBP_LN2F_HI), x);
    *k = _mm256_cvtps_epi32(kf);
    return _mm256_fnmadd_ps(kf, _mm256_set1_ps(PYBP_LN2F_LO), r);
}

static __m256 fact_exp_clamped_ps(__m256 x)
{
    __m256i k, k1;
    __m256 pm1 = fact_expm1_red_ps(fact_reduce_ps(x, &k)), s1;
    k1 = _mm256_srai_epi32(k, 1);
    s1 = fact_pow2_ps(k1);
    return _mm256_mul_ps(_mm256_fmadd_ps(pm1, s1, s1),
                         fact_pow2_ps(_mm256_sub_epi32(k, k1)));
}

static __m256 fact_exp_nonpos_ps(__m256 x)
{
    __m256 e = fact_exp_clamped_ps(
        _mm256_max_ps(x, _mm256_set1_ps(-PYBP_SIGMOID_CLAMP_F32)));
    return _mm256_blendv_ps(e, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

static __m256 fact_sigmoid_ps(__m256 z)
{
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 x = _mm256_max_ps(_mm256_or_ps(z, sign),
                             _mm256_set1_ps(-PYBP_SIGMOID_CLAMP_F32));
    __m256 e = fact_exp_clamped_ps(x), num, y;
    num = _mm256_blendv_ps(e, one,
                           _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GE_OQ));
    y = _mm256_div_ps(num, _mm256_add_ps(one, e));
    return _mm256_blendv_ps(y, z, _mm256_cmp_ps(z, z, _CMP_UNORD_Q));
}

static __m256 fact_tanh_ps(__m256 z)
{
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 a = _mm256_andnot_ps(sign, z);
    __m256 x = _mm256_max_ps(_mm256_sub_ps(_mm256_setzero_ps(),
                                           _mm256_add_ps(a, a)),
                             _mm256_set1_ps(-PYBP_TANH_CLAMP_F32));
    __m256i k;
    __m256 pm1 = fact_expm1_red_ps(fact_reduce_ps(x, &k));
    __m256 s = fact_pow2_ps(k);
    __m256 em = _mm256_fmadd_ps(s, pm1, _mm256_sub_ps(s, one));
    __m256 t = _mm256_div_ps(_mm256_sub_ps(_mm256_setzero_ps(), em),
                             _mm256_add_ps(_mm256_set1_ps(2.0f), em));
    t = _mm256_or_ps(_mm256_andnot_ps(sign, t), _mm256_and_ps(z, sign));
    return _mm256_blendv_ps(t, z, _mm256_cmp_ps(z, z, _CMP_UNORD_Q));
}

/* ---- one lane: the same steps on a scalar --------------------------------- */

/*
 * The four functions above, step for step, on one value: the same
 * operations (fused where they fuse) in the same order with the same
 * constants, so every result has the bits of a vector lane
 * (tests/c/test_activation.c, "scalar_is_a_lane").  A tail of fewer than one
 * vector, and a layer of fewer outputs than one vector (a per-sample step
 * of a small net), go through these: a vector load of values just stored
 * one by one would wait for the stores (no store forwarding), and a small
 * layer waits on the activation's latency.
 */
/* static inline: each is a few instructions, on a latency chain */
#if defined(_MSC_VER) && !defined(__cplusplus)
#define FS_FN static __inline
#else
#define FS_FN static inline
#endif

#if defined(_MSC_VER) && !defined(__clang__)
/* MSVC calls the C library for fma(): the instruction, by intrinsics */
FS_FN double fs_fma_sd(double a, double b, double c)
{
    return _mm_cvtsd_f64(_mm_fmadd_sd(_mm_set_sd(a), _mm_set_sd(b),
                                      _mm_set_sd(c)));
}

FS_FN float fs_fma_ss(float a, float b, float c)
{
    return _mm_cvtss_f32(_mm_fmadd_ss(_mm_set_ss(a), _mm_set_ss(b),
                                      _mm_set_ss(c)));
}
#else
/* GCC and Clang make fma() the instruction under -mfma (and without the
 * lane clearing that _mm_set_sd asks for) */
FS_FN double fs_fma_sd(double a, double b, double c) { return fma(a, b, c); }
FS_FN float fs_fma_ss(float a, float b, float c) { return fmaf(a, b, c); }
#endif

FS_FN double fs_round_sd(double x)
{
    const __m128d v = _mm_set_sd(x);
    return _mm_cvtsd_f64(
        _mm_round_sd(v, v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

FS_FN float fs_round_ss(float x)
{
    const __m128 v = _mm_set_ss(x);
    return _mm_cvtss_f32(
        _mm_round_ss(v, v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

/* 2^k, k in [-1022, 1023] / [-126, 127] */
FS_FN double fs_pow2_sd(int32_t k)
{
    return _mm_cvtsd_f64(_mm_castsi128_pd(
        _mm_cvtsi64_si128((int64_t)(k + 1023) << 52)));
}

FS_FN float fs_pow2_ss(int32_t k)
{
    return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128((k + 127) << 23)));
}

/* floor(k / 2), as _mm_srai_epi32(k, 1) */
FS_FN int32_t fs_half_down(int32_t k) { return (k - (k & 1)) / 2; }

FS_FN double fs_expm1_red_sd(double r)
{
    const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    const double p0 = fs_fma_sd(PYBP_EXPM1_C3, r, PYBP_EXPM1_C2);
    const double p1 = fs_fma_sd(PYBP_EXPM1_C5, r, PYBP_EXPM1_C4);
    const double p2 = fs_fma_sd(PYBP_EXPM1_C7, r, PYBP_EXPM1_C6);
    const double p3 = fs_fma_sd(PYBP_EXPM1_C9, r, PYBP_EXPM1_C8);
    const double p4 = fs_fma_sd(PYBP_EXPM1_C11, r, PYBP_EXPM1_C10);
    const double p5 = fs_fma_sd(PYBP_EXPM1_C13, r, PYBP_EXPM1_C12);
    const double q0 = fs_fma_sd(p1, r2, p0), q1 = fs_fma_sd(p3, r2, p2);
    const double q2 = fs_fma_sd(p5, r2, p4);
    const double q = fs_fma_sd(q2, r8, fs_fma_sd(q1, r4, q0));
    return fs_fma_sd(r2, q, r);
}

FS_FN float fs_expm1_red_ss(float r)
{
    const float r2 = r * r, r4 = r2 * r2;
    const float p0 = fs_fma_ss(PYBP_EXPM1F_C3, r, PYBP_EXPM1F_C2);
    const float p1 = fs_fma_ss(PYBP_EXPM1F_C5, r, PYBP_EXPM1F_C4);
    const float p2 = fs_fma_ss(PYBP_EXPM1F_C7, r, PYBP_EXPM1F_C6);
    const float q0 = fs_fma_ss(p1, r2, p0);
    const float q1 = fs_fma_ss(PYBP_EXPM1F_C8, r2, p2);
    const float q = fs_fma_ss(q1, r4, q0);
    return fs_fma_ss(r2, q, r);
}

/* the vector max(x, lo): lo also for a NaN x */
#define FS_MAX(x, lo) ((x) > (lo) ? (x) : (lo))

/* x clamped to [lo, 0] already: k and r = x - k ln2; -(kf c) + x is
 * fnmadd's single rounding, as fma(-kf, c, x) */
#define FS_REDUCE(P, x, k, LOG2E, HI, LO)                                     \
    const REAL_##P kf = fs_round_##P(x * LOG2E);                              \
    const REAL_##P r = fs_fma_##P(-kf, LO, fs_fma_##P(-kf, HI, x));           \
    const int32_t k = (int32_t)kf

#define REAL_sd double
#define REAL_ss float
#define FS_ACTS(P, SIGN_CLAMP, TANH_CLAMP, LOG2E, HI, LO, FABS, COPYSIGN,  \
                NORMAL_K)                                                    \
    FS_FN REAL_##P fs_exp_clamped_##P(REAL_##P x)                            \
    {                                                                         \
        FS_REDUCE(P, x, k, LOG2E, HI, LO);                                    \
        const int32_t k1 = fs_half_down(k);                                   \
        const REAL_##P pm1 = fs_expm1_red_##P(r), s1 = fs_pow2_##P(k1);       \
        if (k >= (NORMAL_K)) {                                                \
            /* one scaling: the same bits as the vector's two when     \
             * 2^k (1 + pm1) is normal (power-of-two scalings commute   \
             * with rounding there), a multiply less on the latency     \
             * chain of a small layer */                                      \
            const REAL_##P s = fs_pow2_##P(k);                                \
            return fs_fma_##P(pm1, s, s);                                     \
        }                                                                     \
        return fs_fma_##P(pm1, s1, s1) * fs_pow2_##P(k - k1);                 \
    }                                                                         \
    FS_FN REAL_##P fs_exp_nonpos_##P(REAL_##P x)                             \
    {                                                                         \
        const REAL_##P e = fs_exp_clamped_##P(FS_MAX(x, -(SIGN_CLAMP)));      \
        return x != x ? x : e;                                                \
    }                                                                         \
    FS_FN REAL_##P fs_sigmoid_##P(REAL_##P z)                                \
    {                                                                         \
        const REAL_##P e =                                                    \
            fs_exp_clamped_##P(FS_MAX(-FABS(z), -(SIGN_CLAMP)));              \
        const REAL_##P y = (z >= 0 ? (REAL_##P)1 : e) / ((REAL_##P)1 + e);    \
        return z != z ? z : y;                                                \
    }                                                                         \
    FS_FN REAL_##P fs_tanh_##P(REAL_##P z)                                   \
    {                                                                         \
        const REAL_##P a = FABS(z);                                           \
        const REAL_##P x = FS_MAX((REAL_##P)0 - (a + a), -(TANH_CLAMP));      \
        FS_REDUCE(P, x, k, LOG2E, HI, LO);                                    \
        const REAL_##P pm1 = fs_expm1_red_##P(r), s = fs_pow2_##P(k);         \
        const REAL_##P em = fs_fma_##P(s, pm1, s - (REAL_##P)1);              \
        const REAL_##P t = ((REAL_##P)0 - em) / ((REAL_##P)2 + em);           \
        return z != z ? z : COPYSIGN(FABS(t), z);                             \
    }

FS_ACTS(sd, PYBP_SIGMOID_CLAMP_F64, PYBP_TANH_CLAMP_F64, PYBP_LOG2E,
        PYBP_LN2_HI, PYBP_LN2_LO, fabs, copysign, -1021)
FS_ACTS(ss, PYBP_SIGMOID_CLAMP_F32, PYBP_TANH_CLAMP_F32, PYBP_LOG2EF,
        PYBP_LN2F_HI, PYBP_LN2F_LO, fabsf, copysignf, -125)
#undef FS_ACTS
#undef FS_REDUCE
#undef FS_MAX
#undef REAL_sd
#undef REAL_ss

/* ---- the array loops ---------------------------------------------------- */

/* a[i] = F(z[i]) for i < n, whole vectors by F, the rest by F1 (its lane);
 * a may equal z.  The avx512 variant has its own (fast_act_avx512.h, which
 * defines FAST_ACT_ARRAYS_AVX512 before including this). */
#ifndef FAST_ACT_ARRAYS_AVX512
#define FACT_ARRAY(NAME, REAL, W, F, F1, LOAD, STORE)                         \
    static void NAME(const REAL *z, int64_t n, REAL *a)                       \
    {                                                                         \
        int64_t i = 0;                                                        \
        for (; i + W <= n; i += W) STORE(a + i, F(LOAD(z + i)));              \
        for (; i < n; ++i) a[i] = F1(z[i]);                                   \
    }

FACT_ARRAY(fact_sigmoid_f64_avx2, double, 4, fact_sigmoid_pd, fs_sigmoid_sd,
           _mm256_loadu_pd, _mm256_storeu_pd)
FACT_ARRAY(fact_tanh_f64_avx2, double, 4, fact_tanh_pd, fs_tanh_sd,
           _mm256_loadu_pd, _mm256_storeu_pd)
FACT_ARRAY(fact_sigmoid_f32_avx2, float, 8, fact_sigmoid_ps, fs_sigmoid_ss,
           _mm256_loadu_ps, _mm256_storeu_ps)
FACT_ARRAY(fact_tanh_f32_avx2, float, 8, fact_tanh_ps, fs_tanh_ss,
           _mm256_loadu_ps, _mm256_storeu_ps)
FACT_ARRAY(fact_exp_nonpos_f64_avx2, double, 4, fact_exp_nonpos_pd,
           fs_exp_nonpos_sd, _mm256_loadu_pd, _mm256_storeu_pd)
FACT_ARRAY(fact_exp_nonpos_f32_avx2, float, 8, fact_exp_nonpos_ps,
           fs_exp_nonpos_ss, _mm256_loadu_ps, _mm256_storeu_ps)
#undef FACT_ARRAY

#define FAST_SIGMOID_F64 fact_sigmoid_f64_avx2
#define FAST_TANH_F64 fact_tanh_f64_avx2
#define FAST_EXP_NONPOS_F64 fact_exp_nonpos_f64_avx2
#define FAST_SIGMOID_F32 fact_sigmoid_f32_avx2
#define FAST_TANH_F32 fact_tanh_f32_avx2
#define FAST_EXP_NONPOS_F32 fact_exp_nonpos_f32_avx2
#endif
#undef FS_FN

/* one value, a vector lane's bits (REAL (REAL z)) */
#define FAST_SIGMOID1_F64 fs_sigmoid_sd
#define FAST_TANH1_F64 fs_tanh_sd
#define FAST_SIGMOID1_F32 fs_sigmoid_ss
#define FAST_TANH1_F32 fs_tanh_ss
/* values per vector */
#define FAST_ACT_LANES_F64 4
#define FAST_ACT_LANES_F32 8
