/*
 * fast_act_avx512.h -- the avx512 variant's array sigmoid and tanh: the
 * steps of fast_act_avx2.h's fact_sigmoid_pd ... fact_tanh_ps on 512-bit
 * vectors (8 doubles, 16 floats), instruction for instruction the same
 * operations on each lane (the blends by mask registers, the bit logic by
 * integer ops: -mavx512f has no AVX512DQ), so every result has the bits of
 * the 256-bit functions and of the one-lane ones (tests/c/test_activation.c,
 * "scalar_is_a_lane", runs each variant's array functions).  Include it
 * instead of fast_act_avx2.h: it includes that one (whose 256-bit functions
 * take the array's last half vector and whose one-lane functions take its
 * tail) without its array loops.
 */
#ifndef PYBP_FAST_ACT_AVX512_H
#define PYBP_FAST_ACT_AVX512_H

#include <immintrin.h>
#include <stdint.h>

#define FAST_ACT_ARRAYS_AVX512
#include "fast_act_avx2.h"

#define FZ_OR(a, b) _mm512_castsi512_pd(_mm512_or_si512(_mm512_castpd_si512(a), _mm512_castpd_si512(b)))
#define FZ_AND(a, b) _mm512_castsi512_pd(_mm512_and_si512(_mm512_castpd_si512(a), _mm512_castpd_si512(b)))
#define FZ_ANDNOT(a, b) _mm512_castsi512_pd(_mm512_andnot_si512(_mm512_castpd_si512(a), _mm512_castpd_si512(b)))
#define FZ_ORS(a, b) _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)))
#define FZ_ANDS(a, b) _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)))
#define FZ_ANDNOTS(a, b) _mm512_castsi512_ps(_mm512_andnot_si512(_mm512_castps_si512(a), _mm512_castps_si512(b)))
#define FZ_ROUND (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

/* ---- double, 8 lanes (fact_*_pd's steps) --------------------------------- */

static __m512d factz_expm1_red_pd(__m512d r)
{
    __m512d r2 = _mm512_mul_pd(r, r), r4 = _mm512_mul_pd(r2, r2);
    __m512d r8 = _mm512_mul_pd(r4, r4);
    __m512d p0 = _mm512_fmadd_pd(_mm512_set1_pd(PYBP_EXPM1_C3), r, _mm512_set1_pd(PYBP_EXPM1_C2));
    __m512d p1 = _mm512_fmadd_pd(_mm512_set1_pd(PYBP_EXPM1_C5), r, _mm512_set1_pd(PYBP_EXPM1_C4));
    __m512d p2 = _mm512_fmadd_pd(_mm512_set1_pd(PYBP_EXPM1_C7), r, _mm512_set1_pd(PYBP_EXPM1_C6));
    __m512d p3 = _mm512_fmadd_pd(_mm512_set1_pd(PYBP_EXPM1_C9), r, _mm512_set1_pd(PYBP_EXPM1_C8));
    __m512d p4 = _mm512_fmadd_pd(_mm512_set1_pd(PYBP_EXPM1_C11), r, _mm512_set1_pd(PYBP_EXPM1_C10));
    __m512d p5 = _mm512_fmadd_pd(_mm512_set1_pd(PYBP_EXPM1_C13), r, _mm512_set1_pd(PYBP_EXPM1_C12));
    __m512d q0 = _mm512_fmadd_pd(p1, r2, p0), q1 = _mm512_fmadd_pd(p3, r2, p2);
    __m512d q2 = _mm512_fmadd_pd(p5, r2, p4);
    __m512d q = _mm512_fmadd_pd(q2, r8, _mm512_fmadd_pd(q1, r4, q0));
    return _mm512_fmadd_pd(r2, q, r);
}

/* 2^k for int32 k in [-1022, 1023] */
static __m512d factz_pow2_pd(__m256i k)
{
    __m512i e = _mm512_add_epi64(_mm512_cvtepi32_epi64(k),
                                 _mm512_set1_epi64(1023));
    return _mm512_castsi512_pd(_mm512_slli_epi64(e, 52));
}

static __m512d factz_reduce_pd(__m512d x, __m256i *k)
{
    __m512d kf = _mm512_roundscale_pd(
        _mm512_mul_pd(x, _mm512_set1_pd(PYBP_LOG2E)), FZ_ROUND);
    __m512d r = _mm512_fnmadd_pd(kf, _mm512_set1_pd(PYBP_LN2_HI), x);
    *k = _mm512_cvtpd_epi32(kf);
    return _mm512_fnmadd_pd(kf, _mm512_set1_pd(PYBP_LN2_LO), r);
}

static __m512d factz_exp_clamped_pd(__m512d x)
{
    __m256i k, k1;
    __m512d pm1 = factz_expm1_red_pd(factz_reduce_pd(x, &k)), s1;
    k1 = _mm256_srai_epi32(k, 1);
    s1 = factz_pow2_pd(k1);
    return _mm512_mul_pd(_mm512_fmadd_pd(pm1, s1, s1),
                         factz_pow2_pd(_mm256_sub_epi32(k, k1)));
}

static __m512d factz_exp_nonpos_pd(__m512d x)
{
    __m512d e = factz_exp_clamped_pd(
        _mm512_max_pd(x, _mm512_set1_pd(-PYBP_SIGMOID_CLAMP_F64)));
    return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(x, x, _CMP_UNORD_Q), e, x);
}

static __m512d factz_sigmoid_pd(__m512d z)
{
    const __m512d sign = _mm512_set1_pd(-0.0), one = _mm512_set1_pd(1.0);
    __m512d x = _mm512_max_pd(FZ_OR(z, sign),
                              _mm512_set1_pd(-PYBP_SIGMOID_CLAMP_F64));
    __m512d e = factz_exp_clamped_pd(x), num, y;
    num = _mm512_mask_blend_pd(
        _mm512_cmp_pd_mask(z, _mm512_setzero_pd(), _CMP_GE_OQ), e, one);
    y = _mm512_div_pd(num, _mm512_add_pd(one, e));
    return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(z, z, _CMP_UNORD_Q), y, z);
}

static __m512d factz_tanh_pd(__m512d z)
{
    const __m512d sign = _mm512_set1_pd(-0.0), one = _mm512_set1_pd(1.0);
    __m512d a = FZ_ANDNOT(sign, z);
    __m512d x = _mm512_max_pd(_mm512_sub_pd(_mm512_setzero_pd(),
                                            _mm512_add_pd(a, a)),
                              _mm512_set1_pd(-PYBP_TANH_CLAMP_F64));
    __m256i k;
    __m512d pm1 = factz_expm1_red_pd(factz_reduce_pd(x, &k));
    __m512d s = factz_pow2_pd(k);
    __m512d em = _mm512_fmadd_pd(s, pm1, _mm512_sub_pd(s, one));
    __m512d t = _mm512_div_pd(_mm512_sub_pd(_mm512_setzero_pd(), em),
                              _mm512_add_pd(_mm512_set1_pd(2.0), em));
    t = FZ_OR(FZ_ANDNOT(sign, t), FZ_AND(z, sign));
    return _mm512_mask_blend_pd(_mm512_cmp_pd_mask(z, z, _CMP_UNORD_Q), t, z);
}

/* ---- float, 16 lanes (fact_*_ps's steps) --------------------------------- */

static __m512 factz_expm1_red_ps(__m512 r)
{
    __m512 r2 = _mm512_mul_ps(r, r), r4 = _mm512_mul_ps(r2, r2);
    __m512 p0 = _mm512_fmadd_ps(_mm512_set1_ps(PYBP_EXPM1F_C3), r, _mm512_set1_ps(PYBP_EXPM1F_C2));
    __m512 p1 = _mm512_fmadd_ps(_mm512_set1_ps(PYBP_EXPM1F_C5), r, _mm512_set1_ps(PYBP_EXPM1F_C4));
    __m512 p2 = _mm512_fmadd_ps(_mm512_set1_ps(PYBP_EXPM1F_C7), r, _mm512_set1_ps(PYBP_EXPM1F_C6));
    __m512 q0 = _mm512_fmadd_ps(p1, r2, p0);
    __m512 q1 = _mm512_fmadd_ps(_mm512_set1_ps(PYBP_EXPM1F_C8), r2, p2);
    __m512 q = _mm512_fmadd_ps(q1, r4, q0);
    return _mm512_fmadd_ps(r2, q, r);
}

/* 2^k for int32 k in [-126, 127] */
static __m512 factz_pow2_ps(__m512i k)
{
    return _mm512_castsi512_ps(
        _mm512_slli_epi32(_mm512_add_epi32(k, _mm512_set1_epi32(127)), 23));
}

static __m512 factz_reduce_ps(__m512 x, __m512i *k)
{
    __m512 kf = _mm512_roundscale_ps(
        _mm512_mul_ps(x, _mm512_set1_ps(PYBP_LOG2EF)), FZ_ROUND);
    __m512 r = _mm512_fnmadd_ps(kf, _mm512_set1_ps(PYBP_LN2F_HI), x);
    *k = _mm512_cvtps_epi32(kf);
    return _mm512_fnmadd_ps(kf, _mm512_set1_ps(PYBP_LN2F_LO), r);
}

static __m512 factz_exp_clamped_ps(__m512 x)
{
    __m512i k, k1;
    __m512 pm1 = factz_expm1_red_ps(factz_reduce_ps(x, &k)), s1;
    k1 = _mm512_srai_epi32(k, 1);
    s1 = factz_pow2_ps(k1);
    return _mm512_mul_ps(_mm512_fmadd_ps(pm1, s1, s1),
                         factz_pow2_ps(_mm512_sub_epi32(k, k1)));
}

static __m512 factz_exp_nonpos_ps(__m512 x)
{
    __m512 e = factz_exp_clamped_ps(
        _mm512_max_ps(x, _mm512_set1_ps(-PYBP_SIGMOID_CLAMP_F32)));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), e, x);
}

static __m512 factz_sigmoid_ps(__m512 z)
{
    const __m512 sign = _mm512_set1_ps(-0.0f), one = _mm512_set1_ps(1.0f);
    __m512 x = _mm512_max_ps(FZ_ORS(z, sign),
                             _mm512_set1_ps(-PYBP_SIGMOID_CLAMP_F32));
    __m512 e = factz_exp_clamped_ps(x), num, y;
    num = _mm512_mask_blend_ps(
        _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GE_OQ), e, one);
    y = _mm512_div_ps(num, _mm512_add_ps(one, e));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(z, z, _CMP_UNORD_Q), y, z);
}

static __m512 factz_tanh_ps(__m512 z)
{
    const __m512 sign = _mm512_set1_ps(-0.0f), one = _mm512_set1_ps(1.0f);
    __m512 a = FZ_ANDNOTS(sign, z);
    __m512 x = _mm512_max_ps(_mm512_sub_ps(_mm512_setzero_ps(),
                                           _mm512_add_ps(a, a)),
                             _mm512_set1_ps(-PYBP_TANH_CLAMP_F32));
    __m512i k;
    __m512 pm1 = factz_expm1_red_ps(factz_reduce_ps(x, &k));
    __m512 s = factz_pow2_ps(k);
    __m512 em = _mm512_fmadd_ps(s, pm1, _mm512_sub_ps(s, one));
    __m512 t = _mm512_div_ps(_mm512_sub_ps(_mm512_setzero_ps(), em),
                             _mm512_add_ps(_mm512_set1_ps(2.0f), em));
    t = FZ_ORS(FZ_ANDNOTS(sign, t), FZ_ANDS(z, sign));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(z, z, _CMP_UNORD_Q), t, z);
}

/* ---- the array loops ---------------------------------------------------- */

/* a[i] = F(z[i]) for i < n: whole 512-bit vectors by FZ, then at most one
 * 256-bit vector by F8 (half as many lanes), then the rest by F1 (a lane);
 * a may equal z. */
#define FACTZ_ARRAY(NAME, REAL, WZ, FZ, LOADZ, STOREZ, WY, FY, LOADY, STOREY, F1) \
    static void NAME(const REAL *z, int64_t n, REAL *a)                       \
    {                                                                         \
        int64_t i = 0;                                                        \
        for (; i + WZ <= n; i += WZ) STOREZ(a + i, FZ(LOADZ(z + i)));         \
        if (i + WY <= n) { STOREY(a + i, FY(LOADY(z + i))); i += WY; }        \
        for (; i < n; ++i) a[i] = F1(z[i]);                                   \
    }

FACTZ_ARRAY(fact_sigmoid_f64_avx512, double, 8, factz_sigmoid_pd,
            _mm512_loadu_pd, _mm512_storeu_pd, 4, fact_sigmoid_pd,
            _mm256_loadu_pd, _mm256_storeu_pd, fs_sigmoid_sd)
FACTZ_ARRAY(fact_tanh_f64_avx512, double, 8, factz_tanh_pd,
            _mm512_loadu_pd, _mm512_storeu_pd, 4, fact_tanh_pd,
            _mm256_loadu_pd, _mm256_storeu_pd, fs_tanh_sd)
FACTZ_ARRAY(fact_sigmoid_f32_avx512, float, 16, factz_sigmoid_ps,
            _mm512_loadu_ps, _mm512_storeu_ps, 8, fact_sigmoid_ps,
            _mm256_loadu_ps, _mm256_storeu_ps, fs_sigmoid_ss)
FACTZ_ARRAY(fact_tanh_f32_avx512, float, 16, factz_tanh_ps,
            _mm512_loadu_ps, _mm512_storeu_ps, 8, fact_tanh_ps,
            _mm256_loadu_ps, _mm256_storeu_ps, fs_tanh_ss)
FACTZ_ARRAY(fact_exp_nonpos_f64_avx512, double, 8, factz_exp_nonpos_pd,
            _mm512_loadu_pd, _mm512_storeu_pd, 4, fact_exp_nonpos_pd,
            _mm256_loadu_pd, _mm256_storeu_pd, fs_exp_nonpos_sd)
FACTZ_ARRAY(fact_exp_nonpos_f32_avx512, float, 16, factz_exp_nonpos_ps,
            _mm512_loadu_ps, _mm512_storeu_ps, 8, fact_exp_nonpos_ps,
            _mm256_loadu_ps, _mm256_storeu_ps, fs_exp_nonpos_ss)
#undef FACTZ_ARRAY
#undef FZ_OR
#undef FZ_AND
#undef FZ_ANDNOT
#undef FZ_ORS
#undef FZ_ANDS
#undef FZ_ANDNOTS
#undef FZ_ROUND

/* the avx512 variant's array activations (fast_instantiate.h); the one-lane
 * ones and FAST_ACT_LANES_* (the shortest row the array loop takes, one
 * 256-bit vector) are fast_act_avx2.h's */
#define FAST_SIGMOID_F64 fact_sigmoid_f64_avx512
#define FAST_TANH_F64 fact_tanh_f64_avx512
#define FAST_EXP_NONPOS_F64 fact_exp_nonpos_f64_avx512
#define FAST_SIGMOID_F32 fact_sigmoid_f32_avx512
#define FAST_TANH_F32 fact_tanh_f32_avx512
#define FAST_EXP_NONPOS_F32 fact_exp_nonpos_f32_avx512

#endif /* PYBP_FAST_ACT_AVX512_H */
