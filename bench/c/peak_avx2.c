/*
 * peak_avx2.c -- the single-core FMA peak: independent chains of 256-bit
 * FMAs (enough of them to hide the latency on two FMA ports), no memory
 * traffic.  Compiled alone with -mavx2 -mfma; called only on CPUs with both.
 */
#include <immintrin.h>
#include <stdint.h>

#define CHAINS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)

/* Runs `iters` rounds of 12 FMAs; returns a value so nothing is dropped. */
double peak_fma_f64(int64_t iters)
{
    __m256d m = _mm256_set1_pd(0.999999), a = _mm256_set1_pd(1e-7);
#define D(i) __m256d c##i = _mm256_set1_pd((double)i);
#define F(i) c##i = _mm256_fmadd_pd(c##i, m, a);
#define S(i) s = _mm256_add_pd(s, c##i);
    __m256d s = _mm256_setzero_pd();
    double out[4];
    int64_t k;
    CHAINS(D)
    for (k = 0; k < iters; ++k) { CHAINS(F) }
    CHAINS(S)
    _mm256_storeu_pd(out, s);
    return out[0] + out[1] + out[2] + out[3];
#undef D
#undef F
#undef S
}

double peak_fma_f32(int64_t iters)
{
    __m256 m = _mm256_set1_ps(0.9999f), a = _mm256_set1_ps(1e-4f);
#define D(i) __m256 c##i = _mm256_set1_ps((float)i);
#define F(i) c##i = _mm256_fmadd_ps(c##i, m, a);
#define S(i) s = _mm256_add_ps(s, c##i);
    __m256 s = _mm256_setzero_ps();
    float out[8];
    int64_t k;
    CHAINS(D)
    for (k = 0; k < iters; ++k) { CHAINS(F) }
    CHAINS(S)
    _mm256_storeu_ps(out, s);
    return out[0] + out[4];
#undef D
#undef F
#undef S
}
