/*
 * fast_ukr.h -- the FMA micro-kernel, written once for every vector width
 * (NEON's 128-bit, AVX2's 256-bit and AVX-512's 512-bit registers, double
 * and float).
 *
 * PYBP_UKR_6X2(NAME, REAL, VEC, W, ZERO, SPLAT, FMA, LOAD, STORE) defines
 *     static void NAME(int64_t kc, const REAL *a, const REAL *b, REAL *tile)
 * the 6 x 2W tile += A panel (6 rows, k-major) * B panel (2W columns,
 * k-major) over kc steps, into a zeroed-first row-major 6 x 2W tile: six
 * rows of two W-lane accumulators, 12 independent FMA chains, each output
 * one chain in increasing k (so the summation order does not depend on the
 * ISA's width beyond the tile shape); and
 *     static void NAME##_direct(int64_t kc, const REAL *a, int64_t lda,
 *                               const REAL *b, REAL *tile)
 * the same tile with A read where it is, row r at a + r lda, contiguous in
 * k (an unpacked operand: the same multiply-adds in the same order, so the
 * same bits).  ZERO() makes a zero vector, SPLAT(p)
 * broadcasts *p, FMA(a, b, c) is a*b+c (fused), LOAD/STORE are unaligned.
 * Included only by the files compiled for the matching instruction set.
 */
#ifndef PYBP_FAST_UKR_H
#define PYBP_FAST_UKR_H

#include <stdint.h>

#define PYBP_UKR_ROW(r, RS, SPLAT, FMA)                                       \
    ar = SPLAT(a + (r) * (RS));                                               \
    c##r##0 = FMA(ar, b0, c##r##0);                                           \
    c##r##1 = FMA(ar, b1, c##r##1);

#define PYBP_UKR_PUT(r, W, STORE)                                             \
    STORE(tile + (r) * 2 * (W), c##r##0);                                     \
    STORE(tile + (r) * 2 * (W) + (W), c##r##1);

/* the extra parameter of the _direct kernel, and none */
#define PYBP_UKR_LDA() int64_t lda,
#define PYBP_UKR_NO_LDA()

/* One kernel: A's row r at a + r RS, the next k at a + CS. */
#define PYBP_UKR_6X2_FN(NAME, LDA_PARAM, RS, CS, REAL, VEC, W, ZERO, SPLAT,  \
                        FMA, LOAD, STORE)                                    \
static void NAME(int64_t kc, const REAL *a, LDA_PARAM() const REAL *b,       \
                 REAL *tile)                                                 \
{                                                                            \
    VEC c00 = ZERO(), c01 = ZERO(), c10 = ZERO(), c11 = ZERO();              \
    VEC c20 = ZERO(), c21 = ZERO(), c30 = ZERO(), c31 = ZERO();              \
    VEC c40 = ZERO(), c41 = ZERO(), c50 = ZERO(), c51 = ZERO();              \
    int64_t p;                                                               \
    for (p = 0; p < kc; ++p) {                                               \
        const VEC b0 = LOAD(b), b1 = LOAD(b + (W));                          \
        VEC ar;                                                              \
        PYBP_UKR_ROW(0, RS, SPLAT, FMA) PYBP_UKR_ROW(1, RS, SPLAT, FMA)      \
        PYBP_UKR_ROW(2, RS, SPLAT, FMA) PYBP_UKR_ROW(3, RS, SPLAT, FMA)      \
        PYBP_UKR_ROW(4, RS, SPLAT, FMA) PYBP_UKR_ROW(5, RS, SPLAT, FMA)      \
        a += (CS);                                                           \
        b += 2 * (W);                                                        \
    }                                                                        \
    PYBP_UKR_PUT(0, W, STORE) PYBP_UKR_PUT(1, W, STORE)                      \
    PYBP_UKR_PUT(2, W, STORE) PYBP_UKR_PUT(3, W, STORE)                      \
    PYBP_UKR_PUT(4, W, STORE) PYBP_UKR_PUT(5, W, STORE)                      \
}

#define PYBP_UKR_6X2(NAME, REAL, VEC, W, ZERO, SPLAT, FMA, LOAD, STORE)      \
    PYBP_UKR_6X2_FN(NAME, PYBP_UKR_NO_LDA, 1, 6, REAL, VEC, W, ZERO, SPLAT,  \
                    FMA, LOAD, STORE)                                        \
    PYBP_UKR_6X2_FN(NAME##_direct, PYBP_UKR_LDA, lda, 1, REAL, VEC, W, ZERO, \
                    SPLAT, FMA, LOAD, STORE)

#endif /* PYBP_FAST_UKR_H */
