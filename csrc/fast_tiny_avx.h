/*
 * fast_tiny_avx.h -- the per-sample plain-SGD step of a tiny net
 * (fast_kernels.h: tiny_size, tiny_pack, tiny_unpack, tiny_sgd) for
 * the AVX variants (avx2, avx512: both run it on 256-bit vectors), for one
 * precision; fast_impl.h includes it at its end when FAST_TINY is set,
 * with its REAL, SFX and FAST_PREC_F64.
 *
 * A tiny net is one whose every layer has at most two vectors of outputs
 * (8 doubles or 16 floats), PYBP_FAST_TINY_LAYERS layers or fewer and
 * PYBP_FAST_TINY_INPUTS inputs or fewer: the worked example's 2-2-2, the
 * credit net's 10-4-6-8-4.  sgd_sample (fast_sample.h) runs such a net one
 * output at a time, in loops of two to eight trips with run-time bounds;
 * here each layer's outputs are the lanes of one or two vectors, so that a
 * layer is a few vector instructions:
 *
 *   the parameters live, for the whole pybp_train_epochs call, in a packed
 *   copy P: layer l's weights by columns, w_ji for j = 0, 1, ... in the
 *   lanes of the column-i vector(s), then its biases as one more column;
 *   lanes past the layer's outputs are zero and stay zero (the sensitivity
 *   they would get is masked to zero);
 *   forward: z = 0, z = fma(x_i, column_i, z) for i in increasing order,
 *   then + b: for each output lane, the chain forward_row computes for it;
 *   the activation: the variant's vector sigmoid and tanh (one lane is the
 *   one-lane function's bits: tests/c/test_activation.c, scalar_is_a_lane);
 *   delta_p_i = A'(p_i) sum_j w_ij delta_c_j: the products w_ij delta_c_j
 *   of a column in one vector, transposed by 4 x 4 / 8 x 8 blocks, then
 *   added from j = 0 up, starting from 0, as sgd_sample's sums (the old
 *   weights: before the column's update);
 *   the update of a column, w - lr (g + decay w) with g = 0 + (c delta_j)
 *   a_i, lane by lane as sgd_sample's.
 *
 * So every value equals sgd_sample's, operation for operation:
 * tests/c/test_fast.c (test_tiny) checks it bit for bit, and
 * tests/test_epochs_in_c.py checks the epochs it drives against stepping
 * with Network.gradients.
 */

#if FAST_PREC_F64
#define NV __m256d
#define NVL 4
#define NV_ZERO() _mm256_setzero_pd()
#define NV_SET1(v) _mm256_set1_pd(v)
#define NV_LOAD(p) _mm256_load_pd(p)
#define NV_STORE(p, v) _mm256_store_pd((p), (v))
#define NV_ADD _mm256_add_pd
#define NV_SUB _mm256_sub_pd
#define NV_MUL _mm256_mul_pd
#define NV_FMADD _mm256_fmadd_pd
#define NV_AND _mm256_and_pd
#define NV_GT0(a) _mm256_cmp_pd((a), _mm256_setzero_pd(), _CMP_GT_OQ)
#define NV_BLEND _mm256_blendv_pd
#define NV_MASKI(k) _mm256_cmpgt_epi64(_mm256_set1_epi64x(k),                \
                                       _mm256_set_epi64x(3, 2, 1, 0))
#define NV_FROMI _mm256_castsi256_pd
#define NV_MASKLOAD(p, mi) _mm256_maskload_pd((p), (mi))
#define NV_SIGMOID fact_sigmoid_pd
#define NV_TANH fact_tanh_pd
#define NV_TRANSPOSE fpack_transpose4_pd
#else
#define NV __m256
#define NVL 8
#define NV_ZERO() _mm256_setzero_ps()
#define NV_SET1(v) _mm256_set1_ps(v)
#define NV_LOAD(p) _mm256_load_ps(p)
#define NV_STORE(p, v) _mm256_store_ps((p), (v))
#define NV_ADD _mm256_add_ps
#define NV_SUB _mm256_sub_ps
#define NV_MUL _mm256_mul_ps
#define NV_FMADD _mm256_fmadd_ps
#define NV_AND _mm256_and_ps
#define NV_GT0(a) _mm256_cmp_ps((a), _mm256_setzero_ps(), _CMP_GT_OQ)
#define NV_BLEND _mm256_blendv_ps
#define NV_MASKI(k) _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(k)),           \
                                       _mm256_set_epi32(7, 6, 5, 4, 3, 2, 1, 0))
#define NV_FROMI _mm256_castsi256_ps
#define NV_MASKLOAD(p, mi) _mm256_maskload_ps((p), (mi))
#define NV_SIGMOID fact_sigmoid_ps
#define NV_TANH fact_tanh_ps
#define NV_TRANSPOSE fpack_transpose8_ps
#endif

/* outputs of a layer at most, and its vectors */
#define TINY_BLOCKS 2
#define TINY_UNITS (TINY_BLOCKS * NVL)

#if defined(_MSC_VER) && !defined(__clang__)
#define TINY_ALIGNED(decl) __declspec(align(32)) decl
#else
#define TINY_ALIGNED(decl) decl __attribute__((aligned(32)))
#endif

/* vectors of a layer of n outputs */
static int64_t SFX(tiny_blocks)(int64_t n) { return (n + NVL - 1) / NVL; }

/* REALs of a layer's packed columns: n_in weight columns and the biases */
static int64_t SFX(tiny_layer_size)(int64_t n_in, int64_t n_out)
{
    return (n_in + 1) * SFX(tiny_blocks)(n_out) * NVL;
}

/* A(z) lane by lane, as activate computes it element by element */
FAST_INLINE NV SFX(tiny_activate)(int act, NV z)
{
    switch (act) {
    case PYBP_FAST_ACT_SIGMOID: return NV_SIGMOID(z);
    case PYBP_FAST_ACT_TANH: return NV_TANH(z);
    case PYBP_FAST_ACT_RELU: return NV_AND(z, NV_GT0(z)); /* z > 0 ? z : +0 */
    case PYBP_FAST_ACT_LEAKY_RELU:
        return NV_BLEND(NV_MUL(NV_SET1((REAL)PYBP_FAST_LEAKY_SLOPE), z), z,
                        NV_GT0(z));
    default: return z; /* identity */
    }
}

/* delta (.) A'(p) from a = A(p), lane by lane as scale_by_derivative */
FAST_INLINE NV SFX(tiny_derivative)(int act, NV a, NV delta)
{
    const NV one = NV_SET1((REAL)1);
    switch (act) {
    case PYBP_FAST_ACT_SIGMOID:
        return NV_MUL(delta, NV_MUL(a, NV_SUB(one, a)));
    case PYBP_FAST_ACT_TANH:
        return NV_MUL(delta, NV_SUB(one, NV_MUL(a, a)));
    case PYBP_FAST_ACT_RELU: return NV_AND(delta, NV_GT0(a));
    case PYBP_FAST_ACT_LEAKY_RELU:
        return NV_BLEND(NV_MUL(delta, NV_SET1((REAL)PYBP_FAST_LEAKY_SLOPE)),
                        delta, NV_GT0(a));
    default: return delta; /* identity */
    }
}

/* fast_kernels.h: tiny_size */
int64_t SFX(pybp_fast_tiny_size)(const pybp_fast_net *net)
{
    int64_t size = 0;
    int l;
    if (net->n_layers < 1 || net->n_layers > PYBP_FAST_TINY_LAYERS ||
        net->sizes[0] < 1 || net->sizes[0] > PYBP_FAST_TINY_INPUTS)
        return 0;
    for (l = 0; l < net->n_layers; ++l) {
        const int act = net->act[l];
        if (net->sizes[l + 1] < 1 || net->sizes[l + 1] > TINY_UNITS ||
            act < PYBP_FAST_ACT_SIGMOID || act > PYBP_FAST_ACT_IDENTITY)
            return 0;
        size += SFX(tiny_layer_size)(net->sizes[l], net->sizes[l + 1]);
    }
    return size <= PYBP_FAST_TINY_MAX ? size : 0;
}

/* fast_kernels.h: tiny_pack */
void SFX(pybp_fast_tiny_pack)(const pybp_fast_net *net, const REAL *params,
                                REAL *P)
{
    int l;
    for (l = 0; l < net->n_layers; ++l) {
        const int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
        const int64_t nb = SFX(tiny_blocks)(n_out);
        const REAL *W = params + net->w[l];
        int64_t i, j;
        memset(P, 0, (size_t)SFX(tiny_layer_size)(n_in, n_out) * sizeof(REAL));
        for (j = 0; j < n_out; ++j) { /* lane j of a column's vectors */
            for (i = 0; i < n_in; ++i) P[i * nb * NVL + j] = W[j * n_in + i];
            if (net->bias) P[n_in * nb * NVL + j] = params[net->b[l] + j];
        }
        P += SFX(tiny_layer_size)(n_in, n_out);
    }
}

/* fast_kernels.h: tiny_unpack */
void SFX(pybp_fast_tiny_unpack)(const pybp_fast_net *net, const REAL *P,
                                  REAL *params)
{
    int l;
    for (l = 0; l < net->n_layers; ++l) {
        const int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
        const int64_t nb = SFX(tiny_blocks)(n_out);
        REAL *W = params + net->w[l];
        int64_t i, j;
        for (j = 0; j < n_out; ++j) {
            for (i = 0; i < n_in; ++i) W[j * n_in + i] = P[i * nb * NVL + j];
            if (net->bias) params[net->b[l] + j] = P[n_in * nb * NVL + j];
        }
        P += SFX(tiny_layer_size)(n_in, n_out);
    }
}

/* fast_kernels.h: tiny_sgd */
double SFX(pybp_fast_tiny_sgd)(const pybp_fast_net *net,
                                 const pybp_fast_sgd *sgd, REAL *P,
                                 const REAL *x, const REAL *t, double weight,
                                 REAL c, int apply, REAL *out)
{
    const int L = net->n_layers;
    const int64_t m = net->sizes[L], nbm = SFX(tiny_blocks)(m);
    /* each layer's activations, for the next layer's inputs and the
     * update's a_i; the squared errors; the transposed products */
    TINY_ALIGNED(REAL acts[PYBP_FAST_TINY_LAYERS][TINY_UNITS]);
    TINY_ALIGNED(REAL sqs[TINY_UNITS]);
    int64_t off[PYBP_FAST_TINY_LAYERS];
    NV delta[TINY_BLOCKS]; /* the current layer's sensitivities */
    const NV zero = NV_ZERO();
    REAL sq = 0, e;
    double loss;
    int64_t o = 0, j, b;
    int l;

    /* forward, layer by layer */
    for (l = 0; l < L; ++l) {
        const int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
        const REAL *in = l > 0 ? acts[l - 1] : x;
        const REAL *C = P + o;
        NV z0 = zero, z1 = zero;
        int64_t i;
        off[l] = o;
        if (n_out <= NVL) {
            for (i = 0; i < n_in; ++i)
                z0 = NV_FMADD(NV_SET1(in[i]), NV_LOAD(C + i * NVL), z0);
            if (net->bias) z0 = NV_ADD(z0, NV_LOAD(C + n_in * NVL));
            NV_STORE(acts[l], SFX(tiny_activate)(net->act[l], z0));
        } else {
            for (i = 0; i < n_in; ++i) {
                const NV xi = NV_SET1(in[i]);
                z0 = NV_FMADD(xi, NV_LOAD(C + 2 * i * NVL), z0);
                z1 = NV_FMADD(xi, NV_LOAD(C + (2 * i + 1) * NVL), z1);
            }
            if (net->bias) {
                z0 = NV_ADD(z0, NV_LOAD(C + 2 * n_in * NVL));
                z1 = NV_ADD(z1, NV_LOAD(C + (2 * n_in + 1) * NVL));
            }
            NV_STORE(acts[l], SFX(tiny_activate)(net->act[l], z0));
            NV_STORE(acts[l] + NVL, SFX(tiny_activate)(net->act[l], z1));
        }
        o += SFX(tiny_layer_size)(n_in, n_out);
    }

    /* squared errors: g = de/do, delta = g (.) A'(o), lanes past m zero */
    {
        const REAL gscale = sgd->loss == PYBP_FAST_LOSS_SSE ? (REAL)2
                          : sgd->loss == PYBP_FAST_LOSS_MSE ? (REAL)2 / (REAL)m
                          : (REAL)1;
        const REAL *ob = acts[L - 1];
        for (b = 0; b < nbm; ++b) {
            const __m256i mi = NV_MASKI(m - b * NVL);
            const NV ov = NV_LOAD(ob + b * NVL);
            const NV d = NV_SUB(ov, NV_MASKLOAD(t + b * NVL, mi));
            NV_STORE(sqs + b * NVL, NV_MUL(d, d));
            delta[b] = NV_AND(SFX(tiny_derivative)(
                                  net->act[L - 1], ov,
                                  NV_MUL(NV_SET1(gscale), d)),
                              NV_FROMI(mi));
        }
        for (j = 0; j < m; ++j) {
            sq += sqs[j];
            out[j] = ob[j];
        }
    }
    e = sgd->loss == PYBP_FAST_LOSS_SSE ? sq
      : sgd->loss == PYBP_FAST_LOSS_MSE ? sq / (REAL)m
      : (REAL)0.5 * sq;
    loss = 0.0 + weight * (double)e;
    if (!apply || !(loss - loss == 0)) /* NaN or infinity: not applied */
        return loss;

    /* the update, from the output down */
    {
        const NV lr = NV_SET1((REAL)sgd->lr), decay = NV_SET1((REAL)sgd->decay);
        const NV cv = NV_SET1(c);
        for (l = L - 1; l >= 0; --l) {
            const int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
            const int64_t nb = SFX(tiny_blocks)(n_out);
            const REAL *ap = l > 0 ? acts[l - 1] : x;
            REAL *C = P + off[l];
            NV below[TINY_BLOCKS];
            NV cd[TINY_BLOCKS];
            int64_t i;
            if (l > 0) {
                /* delta_p_i = A'(p_i) sum_j w_ij delta_c_j, old weights:
                 * the products of column i are the lanes of prod[i][b];
                 * each 4 x 4 / 8 x 8 block (inputs bi, outputs b)
                 * transposed puts output j's products for inputs i in one
                 * vector, r[j - b NVL], added from j = 0 up */
                const int64_t nbi = SFX(tiny_blocks)(n_in);
                NV prod[TINY_UNITS][TINY_BLOCKS];
                int64_t bi, q;
                for (i = 0; i < nbi * NVL; ++i)
                    for (b = 0; b < nb; ++b)
                        prod[i][b] = i < n_in ? NV_MUL(NV_LOAD(C + (i * nb + b) * NVL),
                                                       delta[b])
                                              : zero;
                for (bi = 0; bi < nbi; ++bi) {
                    NV s = zero;
                    for (b = 0; b < nb; ++b) {
                        const int64_t rows = n_out - b * NVL < NVL ? n_out - b * NVL
                                                                   : NVL;
                        NV r[NVL];
                        for (q = 0; q < NVL; ++q) r[q] = prod[bi * NVL + q][b];
                        NV_TRANSPOSE(r);
                        for (q = 0; q < rows; ++q) s = NV_ADD(s, r[q]);
                    }
                    below[bi] = NV_AND(SFX(tiny_derivative)(
                                           net->act[l - 1],
                                           NV_LOAD(acts[l - 1] + bi * NVL), s),
                                       NV_FROMI(NV_MASKI(n_in - bi * NVL)));
                }
            }
            /* w -= lr (g + decay w), g = 0 + (c delta_j) a_i */
            for (b = 0; b < nb; ++b) cd[b] = NV_MUL(cv, delta[b]);
            for (i = 0; i < n_in; ++i) {
                const NV a = NV_SET1(ap[i]);
                for (b = 0; b < nb; ++b) {
                    REAL *wp = C + (i * nb + b) * NVL;
                    const NV w = NV_LOAD(wp);
                    const NV g = NV_ADD(zero, NV_MUL(cd[b], a));
                    NV_STORE(wp, NV_SUB(w, NV_MUL(lr, NV_ADD(g, NV_MUL(decay, w)))));
                }
            }
            /* b -= lr (g + 0 b), g = 0 + c delta_j */
            if (net->bias && sgd->train_biases)
                for (b = 0; b < nb; ++b) {
                    REAL *bp = C + (n_in * nb + b) * NVL;
                    const NV bv = NV_LOAD(bp);
                    const NV g = NV_ADD(zero, NV_MUL(cv, delta[b]));
                    NV_STORE(bp, NV_SUB(bv, NV_MUL(lr, NV_ADD(g, NV_MUL(zero, bv)))));
                }
            if (l > 0)
                for (b = 0; b < SFX(tiny_blocks)(n_in); ++b) delta[b] = below[b];
        }
    }
    return loss;
}

#undef NV
#undef NVL
#undef NV_ZERO
#undef NV_SET1
#undef NV_LOAD
#undef NV_STORE
#undef NV_ADD
#undef NV_SUB
#undef NV_MUL
#undef NV_FMADD
#undef NV_AND
#undef NV_GT0
#undef NV_BLEND
#undef NV_MASKI
#undef NV_FROMI
#undef NV_MASKLOAD
#undef NV_SIGMOID
#undef NV_TANH
#undef NV_TRANSPOSE
#undef TINY_BLOCKS
#undef TINY_UNITS
#undef TINY_ALIGNED
