/*
 * kernels_isa.h -- prototypes of the per-variant kernels (pybp_forward_f64_
 * generic, pybp_forward_f64_avx2, ...), which dispatch.c calls through.
 */
#ifndef PYBP_KERNELS_ISA_H
#define PYBP_KERNELS_ISA_H

#include "pybp.h"

PYBP_DECLARE_KERNELS(double, f64_generic)
PYBP_DECLARE_KERNELS(float, f32_generic)
PYBP_DECLARE_KERNELS(double, f64_avx2)
PYBP_DECLARE_KERNELS(float, f32_avx2)

#endif /* PYBP_KERNELS_ISA_H */
