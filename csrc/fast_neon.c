/*
 * fast_neon.c -- the fast kernels for AArch64 (arm64), whose baseline
 * instruction set has Advanced SIMD (NEON) with fused multiply-add, so this
 * file needs no extra compiler flag and its variant always runs there
 * (fast_dispatch.c).  Compiled for arm64 targets only.
 *
 * Micro-kernels: fast_ukr.h's 6 rows of two accumulators at NEON's 128-bit
 * width (6 x 4 doubles, 6 x 8 floats): 12 independent FMA chains, which
 * cover the FMA latency (4 cycles) on two or more FMA pipes and leave 17 of
 * the 32 vector registers free.  Each output is one chain of FMAs in
 * increasing k, as in the other fused variants.  The array activations are
 * the scalar ones of fast_act_scalar.h (as the generic variant's).
 */
#if defined(__aarch64__) || defined(_M_ARM64)
#include <arm_neon.h>
#include <stdint.h>

#include "fast_ukr.h"
#include "fast_act_scalar.h" /* FAST_SIGMOID_F64 ... */

#define ZERO_F64() vdupq_n_f64(0.0)
#define ZERO_F32() vdupq_n_f32(0.0f)
#define FMA_F64(a, b, c) vfmaq_f64((c), (a), (b)) /* c + a*b, fused */
#define FMA_F32(a, b, c) vfmaq_f32((c), (a), (b))
PYBP_UKR_6X2(ukr_f64_neon, double, float64x2_t, 2, ZERO_F64, vld1q_dup_f64,
             FMA_F64, vld1q_f64, vst1q_f64)
PYBP_UKR_6X2(ukr_f32_neon, float, float32x4_t, 4, ZERO_F32, vld1q_dup_f32,
             FMA_F32, vld1q_f32, vst1q_f32)

#define PYBP_FAST_ISA neon
#define FAST_MR_F64 6
#define FAST_NR_F64 4
#define FAST_UKR_F64 ukr_f64_neon
#define FAST_UKR_DIRECT_F64 ukr_f64_neon_direct
#define FAST_MR_F32 6
#define FAST_NR_F32 8
#define FAST_UKR_F32 ukr_f32_neon
#define FAST_UKR_DIRECT_F32 ukr_f32_neon_direct
#define FAST_FUSED 1
#include "fast_instantiate.h"
#else
typedef int pybp_fast_neon_empty; /* ISO C wants a declaration per file */
#endif
