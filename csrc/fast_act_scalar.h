/*
 * fast_act_scalar.h -- the array activations of the fast variants that do
 * not vectorise them (fast_generic.c, fast_neon.c): scalar code, one
 * element at a time, chosen by measurement on x86-64 (the compiler will
 * not vectorise these loops under the build's flags):
 *   tanh: fast_act_avx2.h's scheme -- Cody-Waite reduction, Taylor expm1 of
 *     the remainder, 2^k by exponent bits -- in scalar C without FMA: twice
 *     as fast as glibc's tanh, within 2 ulps, and the same bits on every
 *     platform with IEEE arithmetic (no libm involved);
 *   sigmoid: libm exp of -|z|, the exact set's formula (so the same bits as
 *     the exact set): glibc's table-driven exp is about 1.3x faster than the
 *     portable polynomial here (which needs a degree-13 expm1 and a
 *     two-step 2^k), so a polynomial sigmoid made the generic variant
 *     slower than before (predict on the credit net: 1.4x).
 *   softmax's exp (of z - max z): libm exp, as the exact set, for the same
 *   reason as sigmoid.
 * Defines FAST_SIGMOID_F64, FAST_TANH_F64, FAST_EXP_NONPOS_F64 and the _F32
 * ones for fast_instantiate.h.  Included once by each such variant file (the
 * functions are static).
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "fast_act_consts.h"

/* expm1(r) for |r| <= ln2/2 (plus rounding): r + r^2 q(r), q evaluated
 * the Estrin way (pairs, then pairs of pairs with r^2, r^4, r^8) rather
 * than by Horner: without FMA, Horner's chain of 11 multiply-then-add
 * steps is the latency of the whole activation. */
static double gact_expm1_red_f64(double r)
{
    const double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    const double p0 = PYBP_EXPM1_C2 + PYBP_EXPM1_C3 * r;
    const double p1 = PYBP_EXPM1_C4 + PYBP_EXPM1_C5 * r;
    const double p2 = PYBP_EXPM1_C6 + PYBP_EXPM1_C7 * r;
    const double p3 = PYBP_EXPM1_C8 + PYBP_EXPM1_C9 * r;
    const double p4 = PYBP_EXPM1_C10 + PYBP_EXPM1_C11 * r;
    const double p5 = PYBP_EXPM1_C12 + PYBP_EXPM1_C13 * r;
    const double q = ((p0 + p1 * r2) + (p2 + p3 * r2) * r4) +
                     (p4 + p5 * r2) * r8;
    return r + r2 * q;
}

static float gact_expm1_red_f32(float r)
{
    const float r2 = r * r, r4 = r2 * r2;
    const float p0 = PYBP_EXPM1F_C2 + PYBP_EXPM1F_C3 * r;
    const float p1 = PYBP_EXPM1F_C4 + PYBP_EXPM1F_C5 * r;
    const float p2 = PYBP_EXPM1F_C6 + PYBP_EXPM1F_C7 * r;
    const float q = (p0 + p1 * r2) + (p2 + PYBP_EXPM1F_C8 * r2) * r4;
    return r + r2 * q;
}

/* 2^k, k in [-1022, 1023] / [-126, 127] */
static double gact_pow2_f64(int32_t k)
{
    uint64_t bits = (uint64_t)(uint32_t)(k + 1023) << 52;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

static float gact_pow2_f32(int32_t k)
{
    uint32_t bits = (uint32_t)(k + 127) << 23;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

/*
 * sigmoid and tanh of one value (fast_act_avx2.h has the derivation of
 * tanh's steps), without branches on the data: the clamp is written so that
 * a NaN becomes the clamp (every comparison with NaN is false), and NaN is
 * put back at the end.  k = x/ln2 rounded half away from zero (x*log2e is
 * in [-44, 0] after the clamp, so the conversion is defined), r = x - k ln2.
 */
#define GENERIC_ACTS(REAL, P, CLAMP_T, LOG2E, LN2_HI, LN2_LO, FABS, EXP,    \
                     COPYSIGN)                                                \
    static REAL gact_sigmoid_##P(REAL z)                                      \
    {                                                                         \
        REAL e = EXP(-FABS(z)); /* NaN stays NaN; 0 for -inf */               \
        return (z >= 0 ? (REAL)1 : e) / ((REAL)1 + e);                        \
    }                                                                         \
    static REAL gact_tanh_##P(REAL z)                                         \
    {                                                                         \
        REAL a = FABS(z), x = (REAL)0 - (a + a), kf, s, em, t;                \
        int32_t k;                                                            \
        x = x >= -CLAMP_T ? x : -CLAMP_T;                                     \
        k = (int32_t)(x * LOG2E - (REAL)0.5);                                 \
        kf = (REAL)k;                                                         \
        em = gact_expm1_red_##P((x - kf * LN2_HI) - kf * LN2_LO);             \
        s = gact_pow2_##P(k);                                                 \
        em = s * em + (s - (REAL)1);                                          \
        t = COPYSIGN(((REAL)0 - em) / ((REAL)2 + em), z);                     \
        return z != z ? z : t;                                                \
    }                                                                         \
    static void gact_sigmoid_##P##_array(const REAL *z, int64_t n, REAL *a)   \
    {                                                                         \
        int64_t i;                                                            \
        for (i = 0; i < n; ++i) a[i] = gact_sigmoid_##P(z[i]);                \
    }                                                                         \
    static void gact_tanh_##P##_array(const REAL *z, int64_t n, REAL *a)      \
    {                                                                         \
        int64_t i;                                                            \
        for (i = 0; i < n; ++i) a[i] = gact_tanh_##P(z[i]);                   \
    }                                                                         \
    static void gact_exp_nonpos_##P##_array(const REAL *x, int64_t n,         \
                                            REAL *a)                          \
    {                                                                         \
        int64_t i;                                                            \
        for (i = 0; i < n; ++i) a[i] = EXP(x[i]);                             \
    }

GENERIC_ACTS(double, f64, PYBP_TANH_CLAMP_F64, PYBP_LOG2E, PYBP_LN2_HI,
             PYBP_LN2_LO, fabs, exp, copysign)
GENERIC_ACTS(float, f32, PYBP_TANH_CLAMP_F32, PYBP_LOG2EF, PYBP_LN2F_HI,
             PYBP_LN2F_LO, fabsf, expf, copysignf)

#define FAST_SIGMOID_F64 gact_sigmoid_f64_array
#define FAST_TANH_F64 gact_tanh_f64_array
#define FAST_EXP_NONPOS_F64 gact_exp_nonpos_f64_array
#define FAST_SIGMOID_F32 gact_sigmoid_f32_array
#define FAST_TANH_F32 gact_tanh_f32_array
#define FAST_EXP_NONPOS_F32 gact_exp_nonpos_f32_array
/* one value (REAL (REAL z)); the array loops are of these, one at a time */
#define FAST_SIGMOID1_F64 gact_sigmoid_f64
#define FAST_TANH1_F64 gact_tanh_f64
#define FAST_SIGMOID1_F32 gact_sigmoid_f32
#define FAST_TANH1_F32 gact_tanh_f32
#define FAST_ACT_LANES_F64 1
#define FAST_ACT_LANES_F32 1
