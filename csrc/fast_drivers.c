/*
 * The "fast" kernel set: the shared epoch driver, losses and optimizers of
 * kernels_impl.h, compiled once with the platform's baseline instructions
 * (and the same no-reassociation, no-contraction flags as the exact set),
 * with PYBP_FAST_LAYERS set so that each layer's forward, delta and
 * gradient products go to the register-blocked kernels of fast_kernels.h.
 * Those pick their own instruction-set variant (generic, avx2, avx512) at
 * run time, through pybp_fast_select, which dispatch.c keeps in step with
 * pybp_simd_select.
 */
#define PYBP_ISA fast
#define PYBP_FAST_LAYERS 1
#include "instantiate.h"

/* fast_kernels.h restates pybp.h's activation and loss codes (its kernels
 * do not include pybp.h): a build stops here if the two ever disagree. */
typedef char pybp_fast_codes_agree[
    (PYBP_FAST_ACT_SIGMOID == PYBP_ACT_SIGMOID &&
     PYBP_FAST_ACT_TANH == PYBP_ACT_TANH &&
     PYBP_FAST_ACT_RELU == PYBP_ACT_RELU &&
     PYBP_FAST_ACT_LEAKY_RELU == PYBP_ACT_LEAKY_RELU &&
     PYBP_FAST_ACT_IDENTITY == PYBP_ACT_IDENTITY &&
     PYBP_FAST_ACT_SOFTMAX == PYBP_ACT_SOFTMAX &&
     PYBP_FAST_LOSS_SSE == PYBP_LOSS_SSE &&
     PYBP_FAST_LOSS_HALF_SSE == PYBP_LOSS_HALF_SSE &&
     PYBP_FAST_LOSS_MSE == PYBP_LOSS_MSE) ? 1 : -1];
