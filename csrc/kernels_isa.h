/*
 * kernels_isa.h -- the per-variant kernels (pybp_forward_f64_generic,
 * pybp_forward_f64_avx2, ...) that dispatch.c calls through; internal to the
 * library.  Their types are the public ones, declared in pybp.h.
 */
#ifndef PYBP_KERNELS_ISA_H
#define PYBP_KERNELS_ISA_H

#include "pybp.h"

PYBP_DECLARE_KERNELS(f64, _generic)
PYBP_DECLARE_KERNELS(f32, _generic)
PYBP_DECLARE_KERNELS(f64, _avx2)
PYBP_DECLARE_KERNELS(f32, _avx2)

#endif /* PYBP_KERNELS_ISA_H */
