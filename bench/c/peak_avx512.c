/*
 * peak_avx512.c -- the single-core FMA peak of 512-bit FMAs (peak_fma.h):
 * the peak the avx512 variant's rows are measured against.  Compiled alone
 * with -mavx512f; called only on CPUs that run the avx512 variant.
 */
#include <immintrin.h>

#define VEC(P) VEC_##P
#define VEC_pd __m512d
#define VEC_ps __m512
#define SET1(P) _mm512_set1_##P
#define SETZERO(P) _mm512_setzero_##P
#define FMADD(P) _mm512_fmadd_##P
#define ADD(P) _mm512_add_##P
#define STOREU(P) _mm512_storeu_##P
#define PEAK_SFX _avx512
#include "peak_fma.h"
