/*
 * instantiate.h -- compile kernels_impl.h for double and float, with every
 * kernel's name suffixed _f64_ISA / _f32_ISA.  Include it from one .c file
 * per kernel set and variant, with PYBP_ISA defined to its name (generic,
 * avx2: the exact set; fast: the fast set, with PYBP_FAST_LAYERS defined
 * too, whose layer products and activations call fast_kernels.h's
 * R_FAST_*); dispatch.c
 * picks one at run time.
 */
#include <math.h>
#include <string.h> /* memcpy */

#include "pybp.h"
#include "kernels_isa.h"
#ifdef PYBP_FAST_LAYERS
#include "fast_kernels.h"
#include "threads.h"
#endif

#define PYBP_PASTE3_(a, b, c) a##b##c
#define PYBP_PASTE3(a, b, c) PYBP_PASTE3_(a, b, c)

#define REAL double
#define SFX(name) PYBP_PASTE3(name, _f64_, PYBP_ISA)
#define R_EXP exp
#define R_LOG log
#define R_LOG1P log1p
#define R_TANH tanh
#define R_FABS fabs
#define R_SQRT sqrt
#define R_BITS uint64_t /* a REAL's bits; |x|'s mask; the exponent's unit */
#define R_ABS_BITS 0x7FFFFFFFFFFFFFFFull
#define R_EXP_UNIT 0x0010000000000000ull
#define R_FAST_FORWARD pybp_fast_forward_f64
#define R_FAST_FORWARD_ROW pybp_fast_forward_row_f64
#define R_FAST_SGD_SAMPLE pybp_fast_sgd_sample_f64
#define R_FAST_TINY_SIZE pybp_fast_tiny_size_f64
#define R_FAST_TINY_PACK pybp_fast_tiny_pack_f64
#define R_FAST_TINY_UNPACK pybp_fast_tiny_unpack_f64
#define R_FAST_TINY_SGD pybp_fast_tiny_sgd_f64
#define R_FAST_DELTA pybp_fast_delta_f64
#define R_FAST_GRADIENT pybp_fast_gradient_f64
#define R_FAST_ACTIVATE pybp_fast_activate_f64
#define R_FAST_SOFTMAX pybp_fast_softmax_f64
#include "kernels_impl.h"
#undef R_FAST_FORWARD
#undef R_FAST_FORWARD_ROW
#undef R_FAST_SGD_SAMPLE
#undef R_FAST_TINY_SIZE
#undef R_FAST_TINY_PACK
#undef R_FAST_TINY_UNPACK
#undef R_FAST_TINY_SGD
#undef R_FAST_DELTA
#undef R_FAST_GRADIENT
#undef R_FAST_ACTIVATE
#undef R_FAST_SOFTMAX
#undef REAL
#undef SFX
#undef R_EXP
#undef R_LOG
#undef R_LOG1P
#undef R_TANH
#undef R_FABS
#undef R_SQRT
#undef R_BITS
#undef R_ABS_BITS
#undef R_EXP_UNIT

#define REAL float
#define SFX(name) PYBP_PASTE3(name, _f32_, PYBP_ISA)
#define R_EXP expf
#define R_LOG logf
#define R_LOG1P log1pf
#define R_TANH tanhf
#define R_FABS fabsf
#define R_SQRT sqrtf
#define R_BITS uint32_t
#define R_ABS_BITS 0x7FFFFFFFu
#define R_EXP_UNIT 0x00800000u
#define R_FAST_FORWARD pybp_fast_forward_f32
#define R_FAST_FORWARD_ROW pybp_fast_forward_row_f32
#define R_FAST_SGD_SAMPLE pybp_fast_sgd_sample_f32
#define R_FAST_TINY_SIZE pybp_fast_tiny_size_f32
#define R_FAST_TINY_PACK pybp_fast_tiny_pack_f32
#define R_FAST_TINY_UNPACK pybp_fast_tiny_unpack_f32
#define R_FAST_TINY_SGD pybp_fast_tiny_sgd_f32
#define R_FAST_DELTA pybp_fast_delta_f32
#define R_FAST_GRADIENT pybp_fast_gradient_f32
#define R_FAST_ACTIVATE pybp_fast_activate_f32
#define R_FAST_SOFTMAX pybp_fast_softmax_f32
#include "kernels_impl.h"
