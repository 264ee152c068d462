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

#include "fast_ukr.h"
#include "fast_act_avx512.h" /* FAST_SIGMOID_F64 ... (and fast_act_avx2.h) */
#include "fast_pack_avx2.h" /* FAST_PACK_T_F64 ... */
#include "fast_pack_avx512.h" /* ... replaced: 6-row panels by permutes */

#define SPLAT_PD(p) _mm512_set1_pd(*(p))
#define SPLAT_PS(p) _mm512_set1_ps(*(p))
PYBP_UKR_6X2(ukr_f64_avx512, double, __m512d, 8, _mm512_setzero_pd, SPLAT_PD,
             _mm512_fmadd_pd, _mm512_loadu_pd, _mm512_storeu_pd)
PYBP_UKR_6X2(ukr_f32_avx512, float, __m512, 16, _mm512_setzero_ps, SPLAT_PS,
             _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_storeu_ps)

#define PYBP_FAST_ISA avx512
#define FAST_MR_F64 6
#define FAST_NR_F64 16
#define FAST_UKR_F64 ukr_f64_avx512
#define FAST_UKR_DIRECT_F64 ukr_f64_avx512_direct
#define FAST_MR_F32 6
#define FAST_NR_F32 32
#define FAST_UKR_F32 ukr_f32_avx512
#define FAST_UKR_DIRECT_F32 ukr_f32_avx512_direct
#define FAST_FUSED 1
#define FAST_TINY 1 /* fast_tiny_avx.h */
#include "fast_instantiate.h"
#else
typedef int pybp_fast_avx512_empty; /* ISO C wants a declaration per file */
#endif
