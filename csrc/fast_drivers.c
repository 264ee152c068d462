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
