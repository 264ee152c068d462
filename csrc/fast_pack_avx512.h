/*
 * fast_pack_avx512.h -- the avx512 variant's transposing copy for packing:
 * panels of FAST_MR = 6 rows (the A operand of the forward and delta
 * products: a batch's rows of X or of D) by 512-bit permutes, the rest by
 * fast_pack_avx2.h's register transposes.  Include it from fast_avx512.c
 * only (compiled with -mavx512f), after fast_pack_avx2.h, whose
 * FAST_PACK_T_F64 / FAST_PACK_T_F32 it replaces; the contract is the same:
 *   dst[p * width + t] = src[t * ts + p] for t < valid, 0 for valid <= t <
 *   width, p < kc; src row t is read only for t < valid.
 *
 * For width 6, W consecutive values of p (W = 16 floats or 8 doubles) of the
 * six rows, one vector each, become 6 W contiguous values of dst: six
 * vectors.  Lane l of output vector q is dst index f = q W + l, that is
 * p = f / 6 and row r = f % 6, so it is lane p of row r.  One index vector
 * per q, lane p + W (r & 1), picks it from the pair of rows (0, 1), (2, 3)
 * or (4, 5) with one two-source permute each, and two masked blends (lanes
 * of rows 2-3, of rows 4-5) join the three: five operations per vector,
 * where the 8 x 8 transposes of a 6-row group took about twenty and a copy
 * through the stack.  Packing is a copy: no bit of a product depends on it.
 */
#include <immintrin.h>
#include <stdint.h>

#define FPACK6(NAME, REAL, VEC, W, MASK, IVEC, SETIDX, LOAD, ZERO, PERM,     \
               BLEND, STORE, REST)                                           \
    static void NAME(REAL *dst, int width, const REAL *src, int64_t ts,       \
                     int64_t kc, int64_t valid)                               \
    {                                                                         \
        IVEC idx[6];                                                          \
        MASK m23[6], m45[6];                                                  \
        int q, l, r;                                                          \
        int64_t p = 0;                                                        \
        if (width != 6) {                                                     \
            REST(dst, width, src, ts, kc, valid);                             \
            return;                                                           \
        }                                                                     \
        for (q = 0; q < 6; ++q) {                                             \
            int iv[W];                                                        \
            unsigned a = 0, b = 0;                                            \
            for (l = 0; l < W; ++l) {                                         \
                const int f = q * (W) + l, row = f % 6;                       \
                iv[l] = f / 6 + (W) * (row & 1);                              \
                if (row == 2 || row == 3) a |= 1u << l;                       \
                if (row >= 4) b |= 1u << l;                                   \
            }                                                                 \
            idx[q] = SETIDX(iv);                                              \
            m23[q] = (MASK)a;                                                 \
            m45[q] = (MASK)b;                                                 \
        }                                                                     \
        for (; p + (W) <= kc; p += (W)) {                                     \
            VEC x[6], o;                                                      \
            REAL *d = dst + p * 6;                                            \
            for (r = 0; r < 6; ++r)                                           \
                x[r] = r < valid ? LOAD(src + r * ts + p) : ZERO();           \
            for (q = 0; q < 6; ++q) {                                         \
                o = PERM(x[0], idx[q], x[1]);                                 \
                o = BLEND(m23[q], o, PERM(x[2], idx[q], x[3]));               \
                o = BLEND(m45[q], o, PERM(x[4], idx[q], x[5]));               \
                STORE(d + q * (W), o);                                        \
            }                                                                 \
        }                                                                     \
        if (p < kc) REST(dst + p * 6, 6, src + p, ts, kc - p, valid);         \
    }

static __m512i fpack6_idx_ps(const int *iv)
{
    return _mm512_setr_epi32(iv[0], iv[1], iv[2], iv[3], iv[4], iv[5], iv[6],
                             iv[7], iv[8], iv[9], iv[10], iv[11], iv[12],
                             iv[13], iv[14], iv[15]);
}

static __m512i fpack6_idx_pd(const int *iv)
{
    return _mm512_setr_epi64(iv[0], iv[1], iv[2], iv[3], iv[4], iv[5], iv[6],
                             iv[7]);
}

FPACK6(fpack_t_f32_avx512, float, __m512, 16, __mmask16, __m512i,
       fpack6_idx_ps, _mm512_loadu_ps, _mm512_setzero_ps,
       _mm512_permutex2var_ps, _mm512_mask_blend_ps, _mm512_storeu_ps,
       fpack_t_f32_avx2)
FPACK6(fpack_t_f64_avx512, double, __m512d, 8, __mmask8, __m512i,
       fpack6_idx_pd, _mm512_loadu_pd, _mm512_setzero_pd,
       _mm512_permutex2var_pd, _mm512_mask_blend_pd, _mm512_storeu_pd,
       fpack_t_f64_avx2)
#undef FPACK6

#undef FAST_PACK_T_F64
#undef FAST_PACK_T_F32
#define FAST_PACK_T_F64 fpack_t_f64_avx512
#define FAST_PACK_T_F32 fpack_t_f32_avx512
