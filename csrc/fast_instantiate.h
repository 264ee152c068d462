/*
 * fast_instantiate.h -- compiles fast_impl.h for double and float, with
 * every kernel's name suffixed _f64_ISA / _f32_ISA.  Include it from one .c
 * file per instruction-set variant after defining:
 *   PYBP_FAST_ISA                       the variant's name (generic, avx2, ...)
 *   FAST_MR_F64, FAST_NR_F64, FAST_UKR_F64   its double micro-tile and kernel
 *   FAST_MR_F32, FAST_NR_F32, FAST_UKR_F32   its float micro-tile and kernel
 *   FAST_UKR_DIRECT_F64, _F32           the kernel reading A in place
 *                                       (fast_ukr.h: NAME##_direct)
 *   FAST_FUSED                          1 if the micro-kernels fuse
 *                                       multiply-adds (FMA), else 0
 *   FAST_SIGMOID_F64, FAST_TANH_F64     its array activations, void
 *   FAST_SIGMOID_F32, FAST_TANH_F32     (const REAL *z, int64_t n, REAL *a):
 *                                       a[i] = A(z[i]), a may equal z
 *   FAST_EXP_NONPOS_F64, _F32           the same shape: a[i] = exp(z[i]) for
 *                                       z[i] <= 0 or NaN (softmax's)
 *   FAST_SIGMOID1_F64, FAST_TANH1_F64   the same of one value, REAL (REAL z),
 *   FAST_SIGMOID1_F32, FAST_TANH1_F32   with an array element's bits
 *   FAST_ACT_LANES_F64, _F32            values per vector of the array ones
 * and optionally FAST_PACK_T_F64, FAST_PACK_T_F32, its transposing copies
 * for packing (fast_impl.h's fast_pack; fast_pack_avx2.h), and FAST_TINY
 * 1 for the AVX variants' tiny step (fast_tiny_avx.h, which wants
 * fast_act_avx2.h and fast_pack_avx2.h included)
 * (micro-tiles of at most 16 rows and 32 columns: the workspace sizes of
 * fast_dispatch.c assume it).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fast_kernels.h"
#include "threads.h"

/* a static function compiled into each caller (the activation loop into
 * the per-sample step, which GCC builds with other optimisation flags and
 * would otherwise call) */
#if defined(__GNUC__) || defined(__clang__)
#define FAST_INLINE static inline __attribute__((always_inline))
#elif defined(_MSC_VER)
#define FAST_INLINE static __forceinline
#else
#define FAST_INLINE static inline
#endif

#define FAST_PASTE3_(a, b, c) a##b##c
#define FAST_PASTE3(a, b, c) FAST_PASTE3_(a, b, c)

#define REAL double
#define FAST_PREC_F64 1
#define SFX(name) FAST_PASTE3(name, _f64_, PYBP_FAST_ISA)
#define FAST_MR FAST_MR_F64
#define FAST_NR FAST_NR_F64
#define FAST_UKR FAST_UKR_F64
#define FAST_UKR_DIRECT FAST_UKR_DIRECT_F64
#if FAST_FUSED
#define FAST_MADD(a, b, acc) fma((a), (b), (acc))
#else
#define FAST_MADD(a, b, acc) ((acc) + (a) * (b))
#endif
#define FAST_SIGMOID FAST_SIGMOID_F64
#define FAST_TANH FAST_TANH_F64
#define FAST_EXP_NONPOS FAST_EXP_NONPOS_F64
#define FAST_SIGMOID1 FAST_SIGMOID1_F64
#define FAST_TANH1 FAST_TANH1_F64
#define FAST_ACT_LANES FAST_ACT_LANES_F64
#ifdef FAST_PACK_T_F64
#define FAST_PACK_T FAST_PACK_T_F64
#endif
#include "fast_impl.h"
#undef REAL
#undef FAST_PREC_F64
#undef SFX
#undef FAST_MR
#undef FAST_NR
#undef FAST_UKR
#undef FAST_UKR_DIRECT
#undef FAST_MADD
#undef FAST_SIGMOID
#undef FAST_TANH
#undef FAST_EXP_NONPOS
#undef FAST_SIGMOID1
#undef FAST_TANH1
#undef FAST_ACT_LANES
#undef FAST_PACK_T

#define REAL float
#define FAST_PREC_F64 0
#define SFX(name) FAST_PASTE3(name, _f32_, PYBP_FAST_ISA)
#define FAST_MR FAST_MR_F32
#define FAST_NR FAST_NR_F32
#define FAST_UKR FAST_UKR_F32
#define FAST_UKR_DIRECT FAST_UKR_DIRECT_F32
#if FAST_FUSED
#define FAST_MADD(a, b, acc) fmaf((a), (b), (acc))
#else
#define FAST_MADD(a, b, acc) ((acc) + (a) * (b))
#endif
#define FAST_SIGMOID FAST_SIGMOID_F32
#define FAST_TANH FAST_TANH_F32
#define FAST_EXP_NONPOS FAST_EXP_NONPOS_F32
#define FAST_SIGMOID1 FAST_SIGMOID1_F32
#define FAST_TANH1 FAST_TANH1_F32
#define FAST_ACT_LANES FAST_ACT_LANES_F32
#ifdef FAST_PACK_T_F32
#define FAST_PACK_T FAST_PACK_T_F32
#endif
#include "fast_impl.h"
