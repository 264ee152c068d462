/*
 * peak_fma.h -- the body of the single-core FMA peak, for one vector width:
 * independent chains of FMAs (enough of them to hide the latency on two FMA
 * ports), no memory traffic.  peak_avx2.c and peak_avx512.c include it with
 * VEC(P) (the vector type of precision P: pd or ps), SET1, SETZERO, FMADD,
 * ADD and STOREU (the intrinsic of each, by precision suffix), and
 * PEAK_SFX (the width's name in the function names).
 */
#include <stddef.h>
#include <stdint.h>

typedef double pd_scalar;
typedef float ps_scalar;

#define PEAK_PASTE_(a, b) a##b
#define PEAK_PASTE(a, b) PEAK_PASTE_(a, b)
#define CHAINS(X, P) X(0, P) X(1, P) X(2, P) X(3, P) X(4, P) X(5, P) \
    X(6, P) X(7, P) X(8, P) X(9, P) X(10, P) X(11, P)
#define DECLARE(i, P) VEC(P) c##i = SET1(P)((P##_scalar)i);
#define STEP(i, P) c##i = FMADD(P)(c##i, m, a);
#define SUM(i, P) s = ADD(P)(s, c##i);

/* NAME(iters): runs `iters` rounds of 12 FMAs c <- c * MUL + ADDEND in
 * precision P; returns the sum of the chains so that nothing is dropped. */
#define PEAK_FMA(NAME, P, MUL, ADDEND)                                      \
    double NAME(int64_t iters)                                              \
    {                                                                       \
        VEC(P) m = SET1(P)(MUL), a = SET1(P)(ADDEND);                       \
        VEC(P) s = SETZERO(P)();                                            \
        P##_scalar out[sizeof(VEC(P)) / sizeof(P##_scalar)];                \
        double total = 0.0;                                                 \
        int64_t k;                                                          \
        size_t j;                                                           \
        CHAINS(DECLARE, P)                                                  \
        for (k = 0; k < iters; ++k) { CHAINS(STEP, P) }                     \
        CHAINS(SUM, P)                                                      \
        STOREU(P)(out, s);                                                  \
        for (j = 0; j < sizeof out / sizeof out[0]; ++j)                    \
            total += out[j];                                                \
        return total;                                                       \
    }

PEAK_FMA(PEAK_PASTE(peak_fma_f64, PEAK_SFX), pd, 0.999999, 1e-7)
PEAK_FMA(PEAK_PASTE(peak_fma_f32, PEAK_SFX), ps, 0.9999f, 1e-4f)
