/*
 * The same kernels compiled for x86-64 CPUs with AVX2 (setup.py builds this
 * file alone with -mavx2 or /arch:AVX2, and only for x86-64 targets).
 * dispatch.c calls them only after checking the CPU and the OS support AVX2.
 * The source is identical to the generic variant and the compiler may not
 * fuse multiply-adds (-ffp-contract=off, no -mfma), so both variants give
 * bit-identical results; AVX2 only widens the vectorised loops.
 */
#if defined(__x86_64__) || defined(_M_X64)
#define PYBP_ISA avx2
#include "instantiate.h"
#else
typedef int pybp_kernels_avx2_empty; /* ISO C wants a declaration per file */
#endif
