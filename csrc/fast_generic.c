/*
 * fast_generic.c -- the fast kernels in portable C99 for any CPU: the
 * compiler's baseline instruction set (SSE2 on x86-64, NEON on arm64).
 * The micro-kernel keeps FAST_MR x FAST_NR partial sums in a local array
 * the compiler holds in vector registers (4 x 4 doubles or 4 x 8 floats: 8
 * SSE2 registers either way); plain multiply and add, no FMA.  The array
 * activations are fast_act_scalar.h's.
 */
#include <stdint.h>

#include "fast_act_scalar.h" /* FAST_SIGMOID_F64 ... */

/* NAME: A packed (row r at a + r, the next k at a + MR); NAME##_direct: A
 * in place, row r at a + r lda, contiguous in k (fast_ukr.h) */
#define GENERIC_UKR_NO_LDA()
#define GENERIC_UKR_LDA() int64_t lda,
#define GENERIC_UKR_FN(REAL, NAME, MR, NR, LDA_PARAM, RS, CS)                \
    static void NAME(int64_t kc, const REAL *a, LDA_PARAM() const REAL *b,   \
                     REAL *tile)                                              \
    {                                                                         \
        REAL acc[MR * NR];                                                    \
        int64_t p;                                                            \
        int r, c;                                                             \
        for (r = 0; r < MR * NR; ++r) acc[r] = 0;                             \
        for (p = 0; p < kc; ++p) {                                            \
            for (r = 0; r < MR; ++r) {                                        \
                REAL ar = a[r * (RS)];                                        \
                for (c = 0; c < NR; ++c) acc[r * NR + c] += ar * b[c];        \
            }                                                                 \
            a += (CS);                                                        \
            b += NR;                                                          \
        }                                                                     \
        for (r = 0; r < MR * NR; ++r) tile[r] = acc[r];                       \
    }
#define GENERIC_UKR(REAL, NAME, MR, NR)                                       \
    GENERIC_UKR_FN(REAL, NAME, MR, NR, GENERIC_UKR_NO_LDA, 1, MR)             \
    GENERIC_UKR_FN(REAL, NAME##_direct, MR, NR, GENERIC_UKR_LDA, lda, 1)

GENERIC_UKR(double, ukr_f64_generic, 4, 4)
GENERIC_UKR(float, ukr_f32_generic, 4, 8)

#define PYBP_FAST_ISA generic
#define FAST_MR_F64 4
#define FAST_NR_F64 4
#define FAST_UKR_F64 ukr_f64_generic
#define FAST_UKR_DIRECT_F64 ukr_f64_generic_direct
#define FAST_MR_F32 4
#define FAST_NR_F32 8
#define FAST_UKR_F32 ukr_f32_generic
#define FAST_UKR_DIRECT_F32 ukr_f32_generic_direct
#define FAST_FUSED 0
#include "fast_instantiate.h"
