/*
 * kernels_isa.h -- the per-set and per-variant kernels that dispatch.c calls
 * through: the exact set's pybp_forward_f64_generic, pybp_forward_f64_avx2,
 * ... and the fast set's pybp_forward_f64_fast, ... (whose layer products
 * have their own variants, fast_kernels.h); internal to the library.  Their
 * types are the public ones, declared in pybp.h.
 */
#ifndef PYBP_KERNELS_ISA_H
#define PYBP_KERNELS_ISA_H

#include "pybp.h"

PYBP_DECLARE_KERNELS(f64, _generic)
PYBP_DECLARE_KERNELS(f32, _generic)
PYBP_DECLARE_KERNELS(f64, _avx2)
PYBP_DECLARE_KERNELS(f32, _avx2)
PYBP_DECLARE_KERNELS(f64, _fast)
PYBP_DECLARE_KERNELS(f32, _fast)

#endif /* PYBP_KERNELS_ISA_H */
