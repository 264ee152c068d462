/*
 * fast_sample.h -- the fast set's per-sample plain-SGD step
 * (fast_kernels.h: sgd_sample), for one precision and one instruction-set
 * variant; fast_impl.h includes it at its end, with its REAL, SFX and
 * helpers.
 *
 * A per-sample step of a small net (the worked example's 2-2-2, the credit
 * net's 10-4-6-8-4) is a few hundred multiply-adds.  Run through the shared
 * driver, each layer's row product and activation is a call through the
 * dispatch table, and the activations are a call each again; here the
 * whole step is one function of the variant, so the row product
 * (fast_forward_row) and the variant's activation loop (its one-lane
 * sigmoid and tanh for a short row) compile inline.
 *
 * Every value is computed as the shared driver's fused path computes it
 * (kernels_impl.h: sample_forward, output_delta, sample_sgd_update),
 * operation for operation and in the same order, and the build forbids
 * contraction (-ffp-contract=off), so the two give the same bits:
 * tests/test_epochs_in_c.py checks both against stepping with
 * Network.gradients, on the generic and the best variant (CI).
 */

/* scale_by_derivative, as the shared drivers; compiled into the step */
#define PYBP_DERIVATIVE_FN FAST_INLINE
#include "derivative.h"
#undef PYBP_DERIVATIVE_FN

/* sgd_sample's body, for a net of run-time shape (KL = 0) or, compiled
 * once more for each of a few small shapes, of KL layers of sizes K0, K1,
 * K2 known here: the same statements, the loops' bounds constants (a
 * 2-2-2 step's loops of two trips each cost more than their arithmetic
 * when the bounds are read at run time), so the same values. */
#define SZ(l) (KL ? ((l) == 0 ? K0 : (l) == 1 ? K1 : K2) : net->sizes[l])
FAST_INLINE double SFX(sgd_sample_body)(const pybp_fast_net *net,
                                        const pybp_fast_sgd *sgd,
                                        REAL *params, const REAL *x,
                                        const REAL *t, double weight, REAL c,
                                        int apply, REAL *acts, REAL *deltas,
                                        const int KL, const int64_t K0,
                                        const int64_t K1, const int64_t K2)
{
    const int L = KL ? KL : net->n_layers;
    const int64_t m = SZ(L);
    const REAL *o = acts + net->u[L - 1];
    REAL *dk = deltas + net->u[L - 1];
    const REAL lr = (REAL)sgd->lr, decay = (REAL)sgd->decay;
    const REAL zero = 0;
    REAL sq = 0, e;
    double loss;
    int64_t i, j;
    int l;

    /* forward: forward_row's bits, layer by layer */
    for (l = 0; l < L; ++l) {
        const int64_t n_out = SZ(l + 1);
        REAL *a = acts + net->u[l];
        SFX(fast_forward_row)(SZ(l), n_out,
                              l > 0 ? acts + net->u[l - 1] : x,
                              params + net->w[l],
                              net->bias ? params + net->b[l] : NULL, a, NULL);
        SFX(activate)(net->act[l], a, n_out, a);
    }

    /* squared errors: g = de/do, delta = g (.) A'(o) (output_delta) */
    {
        const REAL gscale = sgd->loss == PYBP_FAST_LOSS_SSE ? (REAL)2
                          : sgd->loss == PYBP_FAST_LOSS_MSE ? (REAL)2 / (REAL)m
                          : (REAL)1;
        for (j = 0; j < m; ++j) {
            const REAL d = o[j] - t[j];
            sq += d * d;
            dk[j] = gscale * d;
        }
    }
    e = sgd->loss == PYBP_FAST_LOSS_SSE ? sq
      : sgd->loss == PYBP_FAST_LOSS_MSE ? sq / (REAL)m
      : (REAL)0.5 * sq;
    SFX(scale_by_derivative)(net->act[L - 1], o, m, dk);
    loss = 0.0 + weight * (double)e;
    if (!apply || !(loss - loss == 0)) /* NaN or infinity: not applied */
        return loss;

    /* the update, from the output down (sample_sgd_update) */
    for (l = L - 1; l >= 0; --l) {
        const int64_t n_in = SZ(l), n_out = SZ(l + 1);
        REAL *PYBP_RESTRICT W = params + net->w[l];
        const REAL *PYBP_RESTRICT dc = deltas + net->u[l];
        const REAL *PYBP_RESTRICT ap = l > 0 ? acts + net->u[l - 1] : x;
        if (l > 0) {
            /* delta_p_i = A'(p_i) sum_j w_ij delta_c_j with the old weights,
             * each w_ij read for the sum, then updated */
            REAL *PYBP_RESTRICT dp = deltas + net->u[l - 1];
            j = 0;
            if (n_out == 1) for (i = 0; i < n_in; ++i) dp[i] = 0;
            /* two rows of W per pass, the sums still in order of j: the
             * first pass starts them (0 + w_i0 delta_0, as the unpaired
             * loop's 0-filled sums), later ones add */
            for (; j + 2 <= n_out; j += 2) {
                const REAL d0 = dc[j], d1 = dc[j + 1];
                const REAL cd0 = c * d0, cd1 = c * d1;
                REAL *PYBP_RESTRICT W0 = W + j * n_in;
                REAL *PYBP_RESTRICT W1 = W0 + n_in;
                if (j == 0) {
                    for (i = 0; i < n_in; ++i) {
                        const REAL a = ap[i], w0 = W0[i], w1 = W1[i];
                        const REAL g0 = zero + cd0 * a, g1 = zero + cd1 * a;
                        dp[i] = (zero + w0 * d0) + w1 * d1;
                        W0[i] = w0 - lr * (g0 + decay * w0);
                        W1[i] = w1 - lr * (g1 + decay * w1);
                    }
                } else {
                    for (i = 0; i < n_in; ++i) {
                        const REAL a = ap[i], w0 = W0[i], w1 = W1[i];
                        const REAL g0 = zero + cd0 * a, g1 = zero + cd1 * a;
                        dp[i] = (dp[i] + w0 * d0) + w1 * d1;
                        W0[i] = w0 - lr * (g0 + decay * w0);
                        W1[i] = w1 - lr * (g1 + decay * w1);
                    }
                }
            }
            for (; j < n_out; ++j) {
                const REAL d = dc[j], cd = c * d;
                REAL *PYBP_RESTRICT Wj = W + j * n_in;
                for (i = 0; i < n_in; ++i) {
                    const REAL w = Wj[i], g = zero + cd * ap[i];
                    dp[i] += w * d;
                    Wj[i] = w - lr * (g + decay * w);
                }
            }
            SFX(scale_by_derivative)(net->act[l - 1], ap, n_in, dp);
        } else {
            for (j = 0; j < n_out; ++j) {
                const REAL cd = c * dc[j];
                REAL *PYBP_RESTRICT Wj = W + j * n_in;
                for (i = 0; i < n_in; ++i) {
                    const REAL g = zero + cd * ap[i];
                    Wj[i] -= lr * (g + decay * Wj[i]);
                }
            }
        }
        if (net->bias && sgd->train_biases) {
            REAL *PYBP_RESTRICT b = params + net->b[l];
            for (j = 0; j < n_out; ++j) {
                const REAL g = zero + c * dc[j];
                b[j] -= lr * (g + zero * b[j]);
            }
        }
    }
    return loss;
}
#undef SZ

/* fast_kernels.h: sgd_sample: the body for the run-time shape, or for the
 * worked example's 2-2-2 and XOR's 2-2-1 with their sizes compiled in.
 * GCC's loop vectoriser is off here: for rows of a few values (the nets
 * this step is for) its run-time checks and remainder loops cost more than
 * they save. */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-vectorize")))
#endif
double SFX(pybp_fast_sgd_sample)(const pybp_fast_net *net,
                                 const pybp_fast_sgd *sgd, REAL *params,
                                 const REAL *x, const REAL *t, double weight,
                                 REAL c, int apply, REAL *acts, REAL *deltas)
{
    if (net->n_layers == 2 && net->sizes[0] == 2 && net->sizes[1] == 2) {
        if (net->sizes[2] == 2)
            return SFX(sgd_sample_body)(net, sgd, params, x, t, weight, c,
                                        apply, acts, deltas, 2, 2, 2, 2);
        if (net->sizes[2] == 1)
            return SFX(sgd_sample_body)(net, sgd, params, x, t, weight, c,
                                        apply, acts, deltas, 2, 2, 2, 1);
    }
    return SFX(sgd_sample_body)(net, sgd, params, x, t, weight, c, apply,
                                acts, deltas, 0, 0, 0, 0);
}
