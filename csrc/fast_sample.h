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

/* de/do = gscale (o - t) and e from sq = sum_j (o_j - t_j)^2, for the
 * squared-error loss of m outputs (output_delta's factors) */
FAST_INLINE REAL SFX(loss_gscale)(int loss, int64_t m)
{
    return loss == PYBP_FAST_LOSS_SSE ? (REAL)2
         : loss == PYBP_FAST_LOSS_MSE ? (REAL)2 / (REAL)m : (REAL)1;
}

FAST_INLINE REAL SFX(loss_value)(int loss, REAL sq, int64_t m)
{
    return loss == PYBP_FAST_LOSS_SSE ? sq
         : loss == PYBP_FAST_LOSS_MSE ? sq / (REAL)m : (REAL)0.5 * sq;
}

/* sgd_sample's body for a net of any shape */
FAST_INLINE double SFX(sgd_sample_body)(const pybp_fast_net *net,
                                        const pybp_fast_sgd *sgd,
                                        REAL *params, const REAL *x,
                                        const REAL *t, double weight, REAL c,
                                        int apply, REAL *acts, REAL *deltas)
{
    const int L = net->n_layers;
    const int64_t m = net->sizes[L];
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
        const int64_t n_out = net->sizes[l + 1];
        REAL *a = acts + net->u[l];
        SFX(fast_forward_row)(net->sizes[l], n_out,
                              l > 0 ? acts + net->u[l - 1] : x,
                              params + net->w[l],
                              net->bias ? params + net->b[l] : NULL, a, NULL);
        SFX(activate)(net->act[l], a, n_out, a);
    }

    /* squared errors: g = de/do, delta = g (.) A'(o) (output_delta) */
    {
        const REAL gscale = SFX(loss_gscale)(sgd->loss, m);
        for (j = 0; j < m; ++j) {
            const REAL d = o[j] - t[j];
            sq += d * d;
            dk[j] = gscale * d;
        }
    }
    e = SFX(loss_value)(sgd->loss, sq, m);
    SFX(scale_by_derivative)(net->act[L - 1], o, m, dk);
    loss = 0.0 + weight * (double)e;
    if (!apply || !(loss - loss == 0)) /* NaN or infinity: not applied */
        return loss;

    /* the update, from the output down (sample_sgd_update) */
    for (l = L - 1; l >= 0; --l) {
        const int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
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

/* sgd_sample for the net 2-2-M, M = 1 or 2 (the worked example's 2-2-2,
 * XOR's 2-2-1): sgd_sample_body's operations on the same values in the
 * same order, written out on local variables (each element's activation
 * and derivative by activate1 and times_derivative1, the functions the
 * body's row loops apply).  A step of such a net is one
 * chain of dependent operations (forward, two activations, the
 * sensitivities, the update the next step's forward waits on); through
 * the acts and deltas buffers each of its values would be stored and
 * loaded back between the statements that write and read it, several
 * cycles each time, about ten times a step.  Here they stay in registers
 * and go to the buffers once, at the end.  W1[j * 2 + i] = w_ij of layer
 * 1 (output j, hidden unit i). */
FAST_INLINE double SFX(sgd_sample_22)(const pybp_fast_net *net,
                                      const pybp_fast_sgd *sgd,
                                      REAL *params, const REAL *x,
                                      const REAL *t, double weight, REAL c,
                                      int apply, REAL *acts, REAL *deltas,
                                      const int M)
{
    REAL *W0 = params + net->w[0], *W1 = params + net->w[1];
    REAL *b0 = net->bias ? params + net->b[0] : NULL;
    REAL *b1 = net->bias ? params + net->b[1] : NULL;
    const int act0 = net->act[0], act1 = net->act[1];
    const REAL lr = (REAL)sgd->lr, decay = (REAL)sgd->decay;
    const REAL zero = 0;
    const REAL x0 = x[0], x1 = x[1];
    const REAL gscale = SFX(loss_gscale)(sgd->loss, M);
    REAL h0, h1, o0, o1 = 0, dh0, dh1, dk0, dk1 = 0, z, d, sq = 0, e;
    double loss;

    /* forward: forward_row's chains (row_chain1), + b, A */
    z = FAST_MADD(x1, W0[1], FAST_MADD(x0, W0[0], zero));
    if (b0) z += b0[0];
    h0 = SFX(activate1)(act0, z);
    z = FAST_MADD(x1, W0[3], FAST_MADD(x0, W0[2], zero));
    if (b0) z += b0[1];
    h1 = SFX(activate1)(act0, z);
    z = FAST_MADD(h1, W1[1], FAST_MADD(h0, W1[0], zero));
    if (b1) z += b1[0];
    o0 = SFX(activate1)(act1, z);
    if (M == 2) {
        z = FAST_MADD(h1, W1[3], FAST_MADD(h0, W1[2], zero));
        if (b1) z += b1[1];
        o1 = SFX(activate1)(act1, z);
    }

    /* squared errors, output sensitivities */
    d = o0 - t[0];
    sq += d * d;
    dk0 = gscale * d;
    if (M == 2) {
        d = o1 - t[1];
        sq += d * d;
        dk1 = gscale * d;
    }
    e = SFX(loss_value)(sgd->loss, sq, M);
    dk0 = SFX(times_derivative1)(act1, o0, dk0);
    if (M == 2) dk1 = SFX(times_derivative1)(act1, o1, dk1);
    loss = 0.0 + weight * (double)e;
    acts[0] = h0;
    acts[1] = h1;
    acts[2] = o0;
    deltas[2] = dk0;
    if (M == 2) {
        acts[3] = o1;
        deltas[3] = dk1;
    }
    if (!apply || !(loss - loss == 0)) /* NaN or infinity: not applied */
        return loss;

    /* layer 1: delta_p_i = A'(p_i) sum_j w_ij delta_c_j (old weights),
     * each w_ij updated after it is read */
    {
        const REAL w00 = W1[0], w01 = W1[1], cd0 = c * dk0;
        if (M == 2) {
            const REAL w10 = W1[2], w11 = W1[3], cd1 = c * dk1;
            dh0 = (zero + w00 * dk0) + w10 * dk1;
            dh1 = (zero + w01 * dk0) + w11 * dk1;
            W1[0] = w00 - lr * ((zero + cd0 * h0) + decay * w00);
            W1[2] = w10 - lr * ((zero + cd1 * h0) + decay * w10);
            W1[1] = w01 - lr * ((zero + cd0 * h1) + decay * w01);
            W1[3] = w11 - lr * ((zero + cd1 * h1) + decay * w11);
        } else {
            dh0 = zero + w00 * dk0;
            dh1 = zero + w01 * dk0;
            W1[0] = w00 - lr * ((zero + cd0 * h0) + decay * w00);
            W1[1] = w01 - lr * ((zero + cd0 * h1) + decay * w01);
        }
        dh0 = SFX(times_derivative1)(act0, h0, dh0);
        dh1 = SFX(times_derivative1)(act0, h1, dh1);
        if (b1 && sgd->train_biases) {
            b1[0] = b1[0] - lr * ((zero + c * dk0) + zero * b1[0]);
            if (M == 2)
                b1[1] = b1[1] - lr * ((zero + c * dk1) + zero * b1[1]);
        }
    }
    deltas[0] = dh0;
    deltas[1] = dh1;

    /* layer 0 */
    {
        const REAL cd0 = c * dh0, cd1 = c * dh1;
        const REAL w00 = W0[0], w01 = W0[1], w10 = W0[2], w11 = W0[3];
        W0[0] = w00 - lr * ((zero + cd0 * x0) + decay * w00);
        W0[1] = w01 - lr * ((zero + cd0 * x1) + decay * w01);
        W0[2] = w10 - lr * ((zero + cd1 * x0) + decay * w10);
        W0[3] = w11 - lr * ((zero + cd1 * x1) + decay * w11);
        if (b0 && sgd->train_biases) {
            b0[0] = b0[0] - lr * ((zero + c * dh0) + zero * b0[0]);
            b0[1] = b0[1] - lr * ((zero + c * dh1) + zero * b0[1]);
        }
    }
    return loss;
}

/* fast_kernels.h: sgd_sample: the 2-2-M step for those nets, the body for
 * any other.  GCC's loop vectoriser is off here: for rows of a few values
 * (the nets this step is for) its run-time checks and remainder loops cost
 * more than they save. */
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
            return SFX(sgd_sample_22)(net, sgd, params, x, t, weight, c,
                                      apply, acts, deltas, 2);
        if (net->sizes[2] == 1)
            return SFX(sgd_sample_22)(net, sgd, params, x, t, weight, c,
                                      apply, acts, deltas, 1);
    }
    return SFX(sgd_sample_body)(net, sgd, params, x, t, weight, c, apply,
                                acts, deltas);
}
