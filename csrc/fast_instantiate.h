/*
 * fast_instantiate.h -- compiles fast_impl.h for double and float, with
 * every kernel's name suffixed _f64_ISA / _f32_ISA.  Include it from one .c
 * file per instruction-set variant after defining:
 *   PYBP_FAST_ISA                       the variant's name (generic, avx2, ...)
 *   FAST_MR_F64, FAST_NR_F64, FAST_UKR_F64   its double micro-tile and kernel
 *   FAST_MR_F32, FAST_NR_F32, FAST_UKR_F32   its float micro-tile and kernel
 * (micro-tiles of at most 16 rows and 32 columns: the workspace sizes of
 * fast_dispatch.c assume it).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fast_kernels.h"
#include "threads.h"

#define FAST_PASTE3_(a, b, c) a##b##c
#define FAST_PASTE3(a, b, c) FAST_PASTE3_(a, b, c)

#define REAL double
#define SFX(name) FAST_PASTE3(name, _f64_, PYBP_FAST_ISA)
#define FAST_MR FAST_MR_F64
#define FAST_NR FAST_NR_F64
#define FAST_UKR FAST_UKR_F64
#define R_EXP exp
#define R_TANH tanh
#include "fast_impl.h"
#undef REAL
#undef SFX
#undef FAST_MR
#undef FAST_NR
#undef FAST_UKR
#undef R_EXP
#undef R_TANH

#define REAL float
#define SFX(name) FAST_PASTE3(name, _f32_, PYBP_FAST_ISA)
#define FAST_MR FAST_MR_F32
#define FAST_NR FAST_NR_F32
#define FAST_UKR FAST_UKR_F32
#define R_EXP expf
#define R_TANH tanhf
#include "fast_impl.h"
