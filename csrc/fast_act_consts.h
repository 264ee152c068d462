/*
 * fast_act_consts.h -- the constants of the fast set's exp-based
 * activations (fast_act_avx2.h, fast_generic.c): Cody-Waite ln 2, the
 * Taylor coefficients 1/n! of expm1 on |r| <= ln2/2, and the clamps below
 * which the result no longer changes.
 *
 * ln2 = LN2_HI + LN2_LO, LN2_HI with trailing zero bits (double: 32
 * significant bits, float: 9), so that k * LN2_HI is exact for every k the
 * clamps allow (|k| <= 1077, resp. 150).
 * Truncation error of the polynomials at |r| = ln2/2: r^14/14! ~ 4e-18
 * (double, terms to r^13), r^9/9! ~ 2e-10 (float, terms to r^8), both well
 * under half an ulp of expm1(r).
 */
#ifndef PYBP_FAST_ACT_CONSTS_H
#define PYBP_FAST_ACT_CONSTS_H

#define PYBP_LOG2E 1.4426950408889634
#define PYBP_LN2_HI 6.93147180369123816490e-01
#define PYBP_LN2_LO 1.90821492927058770002e-10
#define PYBP_EXPM1_C2 (1.0 / 2.0)
#define PYBP_EXPM1_C3 (1.0 / 6.0)
#define PYBP_EXPM1_C4 (1.0 / 24.0)
#define PYBP_EXPM1_C5 (1.0 / 120.0)
#define PYBP_EXPM1_C6 (1.0 / 720.0)
#define PYBP_EXPM1_C7 (1.0 / 5040.0)
#define PYBP_EXPM1_C8 (1.0 / 40320.0)
#define PYBP_EXPM1_C9 (1.0 / 362880.0)
#define PYBP_EXPM1_C10 (1.0 / 3628800.0)
#define PYBP_EXPM1_C11 (1.0 / 39916800.0)
#define PYBP_EXPM1_C12 (1.0 / 479001600.0)
#define PYBP_EXPM1_C13 (1.0 / 6227020800.0)

#define PYBP_LOG2EF 1.44269504f
#define PYBP_LN2F_HI 0.693359375f
#define PYBP_LN2F_LO (-2.12194440e-4f)
#define PYBP_EXPM1F_C2 (1.0f / 2.0f)
#define PYBP_EXPM1F_C3 (1.0f / 6.0f)
#define PYBP_EXPM1F_C4 (1.0f / 24.0f)
#define PYBP_EXPM1F_C5 (1.0f / 120.0f)
#define PYBP_EXPM1F_C6 (1.0f / 720.0f)
#define PYBP_EXPM1F_C7 (1.0f / 5040.0f)
#define PYBP_EXPM1F_C8 (1.0f / 40320.0f)

/* exp(-|z|) is 0 below -745.2 (float: -103.98); tanh(|z|) is 1 to the
 * last bit above 19.1 (float: 9.01), i.e. -2|z| below -38.2 (-18.1). */
#define PYBP_SIGMOID_CLAMP_F64 746.0
#define PYBP_SIGMOID_CLAMP_F32 104.0f
#define PYBP_TANH_CLAMP_F64 60.0
#define PYBP_TANH_CLAMP_F32 30.0f

#endif /* PYBP_FAST_ACT_CONSTS_H */
