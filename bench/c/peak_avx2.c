/*
 * peak_avx2.c -- the single-core FMA peak of 256-bit FMAs (peak_fma.h).
 * Compiled alone with -mavx2 -mfma; called only on CPUs with both.
 */
#include <immintrin.h>

#define VEC(P) VEC_##P
#define VEC_pd __m256d
#define VEC_ps __m256
#define SET1(P) _mm256_set1_##P
#define SETZERO(P) _mm256_setzero_##P
#define FMADD(P) _mm256_fmadd_##P
#define ADD(P) _mm256_add_##P
#define STOREU(P) _mm256_storeu_##P
#define PEAK_SFX _avx2
#include "peak_fma.h"
