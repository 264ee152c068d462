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

#include "fast_ukr.h"
#include "fast_act_avx2.h" /* FAST_SIGMOID_F64 ... */
#include "fast_pack_avx2.h" /* FAST_PACK_T_F64 ... */

PYBP_UKR_6X2(ukr_f64_avx2, double, __m256d, 4, _mm256_setzero_pd,
             _mm256_broadcast_sd, _mm256_fmadd_pd, _mm256_loadu_pd,
             _mm256_storeu_pd)
PYBP_UKR_6X2(ukr_f32_avx2, float, __m256, 8, _mm256_setzero_ps,
             _mm256_broadcast_ss, _mm256_fmadd_ps, _mm256_loadu_ps,
             _mm256_storeu_ps)

#define PYBP_FAST_ISA avx2
#define FAST_MR_F64 6
#define FAST_NR_F64 8
#define FAST_UKR_F64 ukr_f64_avx2
#define FAST_UKR_DIRECT_F64 ukr_f64_avx2_direct
#define FAST_MR_F32 6
#define FAST_NR_F32 16
#define FAST_UKR_F32 ukr_f32_avx2
#define FAST_UKR_DIRECT_F32 ukr_f32_avx2_direct
#define FAST_FUSED 1
#define FAST_TINY 1 /* fast_tiny_avx.h */
#include "fast_instantiate.h"
#else
typedef int pybp_fast_avx2_empty; /* ISO C wants a declaration per file */
#endif
