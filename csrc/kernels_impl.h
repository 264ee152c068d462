/*
 * kernels_impl.h -- the one body of pybp's kernels, for every precision and
 * instruction-set variant.
 *
 * Design.  The kernels are written once, here, in terms of REAL and SFX().
 * instantiate.h includes this file twice, once per precision:
 *   REAL        the floating type (double, then float)
 *   SFX(name)   name suffixed with the precision and the variant, e.g.
 *               pybp_forward -> pybp_forward_f64_generic
 *   R_EXP, R_LOG, R_LOG1P, R_TANH, R_FABS, R_SQRT   the matching libm calls
 * and each variant's .c file includes instantiate.h once with PYBP_ISA set:
 * kernels_generic.c (the platform's baseline instructions) and
 * kernels_avx2.c (compiled alone with -mavx2).  So one source gives the four
 * sets _f64/_f32 x generic/avx2, and dispatch.c forwards the public
 * pybp_*_f64/_f32 to the set chosen at run time.
 *
 * Why the variants agree bit for bit: every sum below is written in a fixed
 * order (the 8-lane dot product, the 4-sample blocks), the build forbids
 * reassociation and fused multiply-adds (no -ffast-math, -ffp-contract=off),
 * and IEEE arithmetic gives the same result for the same operations in the
 * same order whatever the vector width.  The float64 results also equal the
 * pure-Python backend's (pybp._pycore), which follows the same order.
 *
 * Only the four kernels declared in pybp.h are external (per variant); the
 * rest is static.  There is deliberately no include guard.
 */
#include "plan.h"
#include "shuffle.h"

/* ---- activations ------------------------------------------------------- */

#ifndef PYBP_FAST_LAYERS
/* Logistic function without overflow: exp() only ever sees -|x|. */
static REAL SFX(sigmoid)(REAL x)
{
    if (x >= 0) {
        return (REAL)1 / ((REAL)1 + R_EXP(-x));
    } else {
        REAL e = R_EXP(x);
        return e / ((REAL)1 + e);
    }
}
#endif

/* log(1 + exp(x)) without overflow or loss of precision for large |x|. */
static REAL SFX(softplus)(REAL x)
{
    return (x > 0 ? x : (REAL)0) + R_LOG1P(R_EXP(-R_FABS(x)));
}

/* out[k, :] = softmax(z[k, :]); the row maximum is subtracted first.  The
 * fast set's is its kernels' (R_FAST_SOFTMAX: the same steps with their
 * vectorised exp). */
static void SFX(softmax_rows)(const REAL *z, int64_t n, int64_t m, REAL *out)
{
#ifdef PYBP_FAST_LAYERS
    R_FAST_SOFTMAX(z, n, m, out);
#else
    int64_t k, j;
    for (k = 0; k < n; ++k) {
        const REAL *zk = z + k * m;
        REAL *ok = out + k * m;
        REAL zmax = zk[0], sum = 0;
        for (j = 1; j < m; ++j)
            if (zk[j] > zmax) zmax = zk[j];
        for (j = 0; j < m; ++j) {
            ok[j] = R_EXP(zk[j] - zmax);
            sum += ok[j];
        }
        for (j = 0; j < m; ++j)
            ok[j] /= sum;
    }
#endif
}

/* a = A(z) elementwise over `count` values (softmax is handled per row).
 * The fast set uses its kernels' own vectorised activation
 * (R_FAST_ACTIVATE, fast_kernels.h), the one their epilogues use, so small
 * and large layers activate alike; the exact set calls libm per element. */
static void SFX(activate)(int act, const REAL *z, int64_t count, REAL *a)
{
#ifdef PYBP_FAST_LAYERS
    R_FAST_ACTIVATE(act, z, count, a);
#else
    int64_t i;
    switch (act) {
    case PYBP_ACT_SIGMOID:
        for (i = 0; i < count; ++i) a[i] = SFX(sigmoid)(z[i]);
        break;
    case PYBP_ACT_TANH:
        for (i = 0; i < count; ++i) a[i] = R_TANH(z[i]);
        break;
    case PYBP_ACT_RELU:
        for (i = 0; i < count; ++i) a[i] = z[i] > 0 ? z[i] : (REAL)0;
        break;
    case PYBP_ACT_LEAKY_RELU:
        for (i = 0; i < count; ++i) { /* z * 1 is z; one select, vectorised */
            const REAL m = z[i] > 0 ? (REAL)1 : (REAL)PYBP_LEAKY_SLOPE;
            a[i] = z[i] * m;
        }
        break;
    default: /* identity */
        if (a != z)
            for (i = 0; i < count; ++i) a[i] = z[i];
        break;
    }
#endif
}

#include "derivative.h" /* scale_by_derivative */

/* ---- the fast set's layer products --------------------------------------- */

#ifdef PYBP_FAST_LAYERS
/*
 * Compiled only into the "fast" kernel set (fast_drivers.c): the three
 * products of a layer go to the register-blocked, threaded kernels of
 * fast_kernels.h (R_FAST_FORWARD, R_FAST_DELTA, R_FAST_GRADIENT, the
 * dispatched ones of this precision), which pack their operands into the
 * calling thread's scratch (pybp_thread_scratch).  Every forward product
 * goes there (its small-row and narrow-layer paths need no packing and give
 * a row the same bits as the blocked path).  The delta and gradient
 * products of a layer of fewer than PYBP_FAST_MIN_WEIGHTS weights run the
 * exact loops instead (packing would cost more than it saves).  The choice
 * depends on the layer alone -- not on the number of samples, so a
 * sample's result does not depend on the batch or chunk it is in, and not
 * on the thread count, so results stay bit-reproducible whatever the
 * threads.  If the scratch cannot be
 * allocated, the exact loop runs too (a correct result, with the exact
 * set's rounding).  Each helper returns 1 when it did the product.
 */
#ifndef PYBP_FAST_MIN_WEIGHTS
#define PYBP_FAST_MIN_WEIGHTS 512
#endif

static int SFX(fast_worth_it)(int64_t n, int64_t n_in, int64_t n_out)
{
    return n > 0 && n_in * n_out >= PYBP_FAST_MIN_WEIGHTS;
}

/* z = a_prev . W^T + b and a = A(z) (softmax per row); z may equal a. */
static int SFX(fast_forward_layer)(int64_t n, int64_t n_in, int64_t n_out,
                                   const REAL *a_prev, const REAL *W,
                                   const REAL *b, int act, REAL *z, REAL *a)
{
    size_t need;
    void *ws;
    int rc;
    if (n <= 0) return 0;
    if (n < PYBP_FAST_SMALL_ROWS) { /* no workspace (per-sample steps) */
        need = 0;
        ws = NULL;
    } else {
        need = pybp_fast_forward_workspace(n, n_in, n_out, sizeof(REAL));
        ws = pybp_thread_scratch(need);
        if (ws == NULL) return 0;
    }
    if (act == PYBP_ACT_SOFTMAX) {
        rc = R_FAST_FORWARD(n, n_in, n_out, a_prev, W, b, act, z, NULL, ws,
                            need, 0);
        if (rc == PYBP_FAST_OK) SFX(softmax_rows)(z, n, n_out, a);
    } else {
        rc = R_FAST_FORWARD(n, n_in, n_out, a_prev, W, b, act, a,
                            z != a ? z : NULL, ws, need, 0);
    }
    return rc == PYBP_FAST_OK;
}

/* dp = A'(ap) (.) (dc . W), A' of activation act_p. */
static int SFX(fast_delta_layer)(int64_t n, int64_t n_in, int64_t n_out,
                                 const REAL *dc, const REAL *W,
                                 const REAL *ap, int act_p, REAL *dp)
{
    size_t need;
    void *ws;
    if (!SFX(fast_worth_it)(n, n_in, n_out)) return 0;
    need = pybp_fast_delta_workspace(n, n_in, n_out, sizeof(REAL));
    ws = pybp_thread_scratch(need);
    if (ws == NULL) return 0;
    return R_FAST_DELTA(n, n_in, n_out, dc, W, ap, act_p, dp, ws, need, 0) ==
           PYBP_FAST_OK;
}

/* gW += scale sum_k sw_k d_k^T a_k, gb += scale sum_k sw_k d_k. */
static int SFX(fast_gradient_layer)(int64_t n, int64_t n_in, int64_t n_out,
                                    const REAL *d, const REAL *a_prev,
                                    const REAL *sw, double scale, REAL *gW,
                                    REAL *gb)
{
    size_t need;
    void *ws;
    if (!SFX(fast_worth_it)(n, n_in, n_out)) return 0;
    need = pybp_fast_gradient_workspace(n, n_in, n_out, sizeof(REAL));
    ws = pybp_thread_scratch(need);
    if (ws == NULL) return 0;
    return R_FAST_GRADIENT(n, n_in, n_out, d, a_prev, sw, scale, gW, gb, ws,
                           need, 0) == PYBP_FAST_OK;
}
#endif /* PYBP_FAST_LAYERS */

/* ---- forward ----------------------------------------------------------- */

/*
 * Eight partial sums, one per lane, let the compiler vectorise the dot
 * product (2 or 4 vectors of doubles, 1 or 2 of floats) without -ffast-math,
 * which would license it to reorder anything anywhere.  The order of every
 * addition is fixed by this source, so all SIMD variants agree bit for bit.
 */
#define PYBP_DOT_LANES 8
static REAL SFX(dot)(const REAL *a, const REAL *b, int64_t n)
{
    REAL s[PYBP_DOT_LANES] = {0};
    int64_t i = 0;
    int u;
    if (n < PYBP_DOT_LANES) {
        /* Only lane 0 is used, from +0, so it is never -0 and the lane sum
         * below would return it unchanged: the same value, directly. */
        REAL s0 = 0;
        for (; i < n; ++i) s0 += a[i] * b[i];
        return s0;
    }
    for (; i + PYBP_DOT_LANES <= n; i += PYBP_DOT_LANES)
        for (u = 0; u < PYBP_DOT_LANES; ++u) s[u] += a[i + u] * b[i + u];
    for (; i < n; ++i) s[0] += a[i] * b[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}
#undef PYBP_DOT_LANES

/* The exact forward product of one layer: z = a_prev . W^T + b, then
 * a = A(z) (softmax per row); z may equal a. */
static void SFX(forward_layer)(int64_t n, int64_t n_in, int64_t n_out,
                               const REAL *a_prev, const REAL *W,
                               const REAL *b, int act, REAL *z, REAL *a)
{
    int64_t k, j;
    for (k = 0; k < n; ++k) {
        const REAL *xk = a_prev + k * n_in;
        REAL *zk = z + k * n_out;
        for (j = 0; j < n_out; ++j)
            zk[j] = SFX(dot)(W + j * n_in, xk, n_in) + (b ? b[j] : (REAL)0);
    }
    if (act == PYBP_ACT_SOFTMAX)
        SFX(softmax_rows)(z, n, n_out, a);
    else
        SFX(activate)(act, z, n * n_out, a);
}

void SFX(pybp_forward)(const pybp_net *net, const REAL *params, const REAL *x,
                       int64_t n, REAL *acts, REAL *z_out)
{
    const int L = net->n_layers;
    const REAL *a_prev = x;
    REAL *a = acts;
    int64_t off = 0; /* pybp_weight_offset(net, l), kept running */
    int l;
    for (l = 0; l < L; ++l) {
        const int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
        const REAL *W = params + off;
        const REAL *b = net->bias ? W + n_in * n_out : NULL;
        const int last = (l == L - 1);
        /* The output layer's net inputs go to z_out when asked for. */
        REAL *z = (last && z_out) ? z_out : a;
#ifdef PYBP_FAST_LAYERS
        if (!SFX(fast_forward_layer)(n, n_in, n_out, a_prev, W, b,
                                     net->act[l], z, a))
#endif
            SFX(forward_layer)(n, n_in, n_out, a_prev, W, b, net->act[l], z,
                               a);
        a_prev = a;
        a += n * n_out;
        off += PYBP_LAYER_PARAMS(net, l);
    }
}

/* One sample's forward pass, pybp_forward(net, params, x, 1, acts, z_out)
 * bit for bit, with the plan's offsets and (fast set) the row product,
 * which is the batch product's row (fast_kernels.h): a per-sample step
 * skips the walk of the layer list and the batch product's checks. */
static void SFX(sample_forward)(const pybp_net *net, const pybp_plan *plan,
                                const REAL *params, const REAL *x,
                                REAL *acts, REAL *z_out)
{
    const int L = net->n_layers;
    const REAL *a_prev = x;
    REAL *a = acts;
    int l;
    for (l = 0; l < L; ++l) {
        const int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
        const REAL *W = params + pybp_plan_weights(plan, net, l);
        const REAL *b =
            net->bias ? params + pybp_plan_biases(plan, net, l) : NULL;
        const int act = net->act[l];
        REAL *z = (l == L - 1 && z_out) ? z_out : a;
#ifdef PYBP_FAST_LAYERS
        /* sizes >= 1 (pybp.h), as forward_row needs */
        if (act == PYBP_ACT_SOFTMAX) {
            R_FAST_FORWARD_ROW(n_in, n_out, a_prev, W, b, act, z, NULL);
            SFX(softmax_rows)(z, 1, n_out, a);
        } else {
            R_FAST_FORWARD_ROW(n_in, n_out, a_prev, W, b, act, a,
                               z != a ? z : NULL);
        }
#else
        SFX(forward_layer)(1, n_in, n_out, a_prev, W, b, act, z, a);
#endif
        a_prev = a;
        a += n_out;
    }
}

/* ---- loss and output sensitivity ---------------------------------------- */

/*
 * Per-sample loss and output sensitivity.  o, z, t, delta are (n x m); o are
 * the outputs, z their net inputs, `act` the output activation.  Writes each
 * sample's own delta = de_k/dz (not weighted).  Returns total + sum_k w_k e_k,
 * added in sample order, with w_k = sw[k], or 1 when sw is NULL.
 * Cross_entropy comes only with softmax, binary_cross_entropy with sigmoid.
 */
static double SFX(output_delta)(int loss, int act, const REAL *o,
                                const REAL *z, const REAL *t, const REAL *sw,
                                int64_t n, int64_t m, REAL *delta,
                                double total)
{
    int64_t k, j;
    for (k = 0; k < n; ++k) {
        const REAL *ok = o + k * m, *zk = z + k * m, *tk = t + k * m;
        REAL *dk = delta + k * m;
        REAL e = 0;
        switch (loss) {
        case PYBP_LOSS_CROSS_ENTROPY: {
            /* log o_j = z_j - logsumexp(z): finite even where o_j underflows.
             * delta = o * sum(t) - t, the softmax Jacobian applied to -t/o. */
            REAL zmax = zk[0], lse, tsum = 0;
#ifdef PYBP_FAST_LAYERS
            /* The fast set's softmax gave the row maximum exp(0) / s =
             * 1 / s rounded once, s its sum of exps: log s = -log of that
             * output, to half an ulp of 1/s (no second pass of exps). */
            int64_t jmax = 0;
            for (j = 1; j < m; ++j)
                if (zk[j] > zmax) { zmax = zk[j]; jmax = j; }
            lse = zmax - R_LOG(ok[jmax]);
#else
            REAL s = 0;
            for (j = 1; j < m; ++j)
                if (zk[j] > zmax) zmax = zk[j];
            for (j = 0; j < m; ++j) s += R_EXP(zk[j] - zmax);
            lse = zmax + R_LOG(s);
#endif
            for (j = 0; j < m; ++j) {
                if (tk[j] != 0) e -= tk[j] * (zk[j] - lse);
                tsum += tk[j];
            }
            for (j = 0; j < m; ++j) dk[j] = ok[j] * tsum - tk[j];
            break;
        }
        case PYBP_LOSS_BINARY_CROSS_ENTROPY:
            /* -log o = softplus(-z), -log(1-o) = softplus(z); delta = o - t. */
            for (j = 0; j < m; ++j) {
                e += tk[j] * SFX(softplus)(-zk[j])
                     + ((REAL)1 - tk[j]) * SFX(softplus)(zk[j]);
                dk[j] = ok[j] - tk[j];
            }
            break;
        default: {
            /* Squared errors: g = de/do, then delta = g * A'. */
            const REAL gscale = loss == PYBP_LOSS_SSE ? (REAL)2
                              : loss == PYBP_LOSS_MSE ? (REAL)2 / (REAL)m
                              : (REAL)1;
            REAL sq = 0;
            for (j = 0; j < m; ++j) {
                const REAL d = ok[j] - tk[j];
                sq += d * d;
                dk[j] = gscale * d;
            }
            e = loss == PYBP_LOSS_SSE ? sq
              : loss == PYBP_LOSS_MSE ? sq / (REAL)m
              : (REAL)0.5 * sq;
            if (act == PYBP_ACT_SOFTMAX) {
                /* Softmax Jacobian: delta_j = o_j (g_j - sum_i g_i o_i). */
                REAL go = 0;
                for (j = 0; j < m; ++j) go += dk[j] * ok[j];
                for (j = 0; j < m; ++j) dk[j] = ok[j] * (dk[j] - go);
            } else {
                SFX(scale_by_derivative)(act, ok, m, dk);
            }
            break;
        }
        }
        total += sw ? (double)sw[k] * (double)e : (double)e;
    }
    return total;
}

/* ---- backward ---------------------------------------------------------- */

/*
 * The exact delta product of one layer: dp = A'(ap) (.) (dc . W), i.e.
 * delta_p_i = A'(p_i) sum_j w_ij delta_c_j, as rows of W scaled and added
 * in order of j; four samples at a time share each pass over W.
 */
static void SFX(delta_layer)(int64_t n, int64_t n_in, int64_t n_out,
                             const REAL *dc, const REAL *W, const REAL *ap,
                             int act_p, REAL *dp)
{
    int64_t k = 0, i, j;
    for (; k + 4 <= n; k += 4) {
        const REAL *dck = dc + k * n_out;
        REAL *p0 = dp + k * n_in, *p1 = p0 + n_in;
        REAL *p2 = p1 + n_in, *p3 = p2 + n_in;
        for (i = 0; i < 4 * n_in; ++i) p0[i] = 0;
        for (j = 0; j < n_out; ++j) {
            const REAL d0 = dck[j], d1 = dck[n_out + j];
            const REAL d2 = dck[2 * n_out + j], d3 = dck[3 * n_out + j];
            const REAL *Wj = W + j * n_in;
            for (i = 0; i < n_in; ++i) {
                const REAL w = Wj[i];
                p0[i] += w * d0;
                p1[i] += w * d1;
                p2[i] += w * d2;
                p3[i] += w * d3;
            }
        }
    }
    for (; k < n; ++k) {
        const REAL *dck = dc + k * n_out;
        REAL *dpk = dp + k * n_in;
        for (i = 0; i < n_in; ++i) dpk[i] = 0;
        for (j = 0; j < n_out; ++j) {
            const REAL d = dck[j];
            const REAL *Wj = W + j * n_in;
            for (i = 0; i < n_in; ++i) dpk[i] += Wj[i] * d;
        }
    }
    SFX(scale_by_derivative)(act_p, ap, n * n_in, dp);
}

/*
 * The delta recurrence delta_p_i = A'(p_i) sum_j w_ij delta_c_j, from the
 * output layer's block of `deltas` (already filled) down to layer 0.
 */
static void SFX(backward)(const pybp_net *net, const REAL *params, int64_t n,
                          const REAL *acts, REAL *deltas)
{
    const int L = net->n_layers;
    int64_t off = n * (pybp_n_units(net) - net->sizes[L]); /* output block */
    int l;
    for (l = L - 1; l > 0; --l) {
        /* Layer l's inputs are layer l-1's activations A(p). */
        const int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
        const REAL *W = params + pybp_weight_offset(net, l);
        const REAL *dc = deltas + off;
        const int64_t off_p = off - n * n_in;
        REAL *dp = deltas + off_p;
        const REAL *ap = acts + off_p;
#ifdef PYBP_FAST_LAYERS
        if (!SFX(fast_delta_layer)(n, n_in, n_out, dc, W, ap, net->act[l - 1],
                                   dp))
#endif
            SFX(delta_layer)(n, n_in, n_out, dc, W, ap, net->act[l - 1], dp);
        off = off_p;
    }
}

/*
 * The exact gradient product of one layer: gW += sum_k c_k d_k^T a_k and
 * gb += sum_k c_k d_k (gb may be NULL), c_k = scale * sw[k] (or scale when
 * sw is NULL).  Samples are added in order, four per pass over the gradient
 * rows: every element sees the same additions in the same order as one
 * sample at a time, with a quarter of the memory traffic.
 */
static void SFX(gradient_layer)(int64_t n, int64_t n_in, int64_t n_out,
                                const REAL *d, const REAL *a_prev,
                                const REAL *sw, double scale, REAL *gW,
                                REAL *gb)
{
    int64_t k = 0, j, i;
    for (; k + 4 <= n; k += 4) {
        REAL c[4];
        const REAL *a0 = a_prev + k * n_in, *a1 = a0 + n_in;
        const REAL *a2 = a1 + n_in, *a3 = a2 + n_in;
        const REAL *dk = d + k * n_out;
        int r;
        for (r = 0; r < 4; ++r)
            c[r] = (REAL)(sw ? scale * (double)sw[k + r] : scale);
        for (j = 0; j < n_out; ++j) {
            const REAL cd0 = c[0] * dk[j], cd1 = c[1] * dk[n_out + j];
            const REAL cd2 = c[2] * dk[2 * n_out + j];
            const REAL cd3 = c[3] * dk[3 * n_out + j];
            REAL *gWj = gW + j * n_in;
            for (i = 0; i < n_in; ++i) {
                REAL g = gWj[i];
                g += cd0 * a0[i];
                g += cd1 * a1[i];
                g += cd2 * a2[i];
                g += cd3 * a3[i];
                gWj[i] = g;
            }
            if (gb) {
                gb[j] += cd0;
                gb[j] += cd1;
                gb[j] += cd2;
                gb[j] += cd3;
            }
        }
    }
    for (; k < n; ++k) {
        const REAL c = (REAL)(sw ? scale * (double)sw[k] : scale);
        const REAL *ak = a_prev + k * n_in;
        const REAL *dk = d + k * n_out;
        for (j = 0; j < n_out; ++j) {
            const REAL cd = c * dk[j];
            REAL *gWj = gW + j * n_in;
            for (i = 0; i < n_in; ++i) gWj[i] += cd * ak[i];
            if (gb) gb[j] += cd;
        }
    }
}

/*
 * grad += sum_k c_k * (dE/dW, dE/db of sample k), c_k = scale * sw[k] (or
 * scale when sw is NULL): dE/dw_ij = A(p_i) delta_c_j, dE/db_j = delta_c_j.
 * Samples are added in order, so the gradient of a batch is the same whether
 * it is accumulated in one call or in several over consecutive chunks.
 */
static void SFX(accumulate_gradient)(const pybp_net *net, const REAL *x,
                                     int64_t n, const REAL *acts,
                                     const REAL *deltas, const REAL *sw,
                                     double scale, REAL *grad)
{
    const int L = net->n_layers;
    const REAL *a_prev = x;
    const REAL *d = deltas;
    int l;
    for (l = 0; l < L; ++l) {
        const int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
        REAL *gW = grad + pybp_weight_offset(net, l);
        REAL *gb = net->bias ? grad + pybp_bias_offset(net, l) : NULL;
#ifdef PYBP_FAST_LAYERS
        if (!SFX(fast_gradient_layer)(n, n_in, n_out, d, a_prev, sw, scale,
                                      gW, gb))
#endif
            SFX(gradient_layer)(n, n_in, n_out, d, a_prev, sw, scale, gW, gb);
        /* This layer's activations are the next layer's inputs; they sit
         * at the same offset in acts as this layer's deltas in deltas. */
        a_prev = acts + (d - deltas);
        d += n * n_out;
    }
}

/* ---- optimizers -------------------------------------------------------- */

/*
 * One optimizer update of `count` parameters w with gradient g, L2
 * coefficient `decay` (0 for biases), and the optimizer's two state slots
 * for these parameters, slot[0] and slot[1] (NULL where the optimizer has
 * fewer; each case below names them as pybp.h lists them).  gd below is the
 * gradient of the loss plus the L2 term, g + decay * w.  c1, c2 are Adam's
 * bias corrections 1 - beta^t for this step.
 */
static void SFX(update_segment)(const pybp_optim *opt, REAL *w, const REAL *g,
                                REAL *const slot[2], int64_t count,
                                REAL decay, REAL c1, REAL c2)
{
    const REAL lr = (REAL)opt->lr;
    int64_t p;
    switch (opt->kind) {
    case PYBP_OPT_SGD: {
        /* The seeds' momentum: V <- mu V - eta gd; W <- W + V.  Nesterov's
         * variant moves by mu V_new - eta gd. */
        REAL *velocity = slot[0];
        const REAL mu = (REAL)opt->momentum;
        if (opt->momentum == 0) {
            for (p = 0; p < count; ++p) w[p] -= lr * (g[p] + decay * w[p]);
        } else if (opt->nesterov) {
            for (p = 0; p < count; ++p) {
                const REAL gd = g[p] + decay * w[p];
                velocity[p] = mu * velocity[p] - lr * gd;
                w[p] += mu * velocity[p] - lr * gd;
            }
        } else {
            for (p = 0; p < count; ++p) {
                velocity[p] = mu * velocity[p] - lr * (g[p] + decay * w[p]);
                w[p] += velocity[p];
            }
        }
        break;
    }
    case PYBP_OPT_ADAM: {
        /* m <- b1 m + (1-b1) gd; v <- b2 v + (1-b2) gd^2;
         * w -= lr * (m / c1) / (sqrt(v / c2) + eps), computed as in Kingma &
         * Ba's Section 2: lr_t * m / (sqrt(v) + eps_t), lr_t = lr sqrt(c2)/c1,
         * eps_t = eps sqrt(c2) -- the same value, with one division. */
        REAL *m = slot[0], *v = slot[1];
        const REAL b1 = (REAL)opt->beta1, b2 = (REAL)opt->beta2;
        const REAL root_c2 = R_SQRT(c2);
        const REAL lr_t = lr * root_c2 / c1, eps_t = (REAL)opt->eps * root_c2;
        for (p = 0; p < count; ++p) {
            const REAL gd = g[p] + decay * w[p];
            m[p] = b1 * m[p] + ((REAL)1 - b1) * gd;
            v[p] = b2 * v[p] + ((REAL)1 - b2) * gd * gd;
            w[p] -= lr_t * m[p] / (R_SQRT(v[p]) + eps_t);
        }
        break;
    }
    case PYBP_OPT_RMSPROP: {
        /* v <- rho v + (1-rho) gd^2;  w -= lr gd / (sqrt(v) + eps). */
        REAL *v = slot[0];
        const REAL rho = (REAL)opt->rho, eps = (REAL)opt->eps;
        for (p = 0; p < count; ++p) {
            const REAL gd = g[p] + decay * w[p];
            v[p] = rho * v[p] + ((REAL)1 - rho) * gd * gd;
            w[p] -= lr * gd / (R_SQRT(v[p]) + eps);
        }
        break;
    }
    case PYBP_OPT_ADAGRAD: {
        /* G <- G + gd^2;  w -= lr gd / (sqrt(G) + eps). */
        REAL *G = slot[0];
        const REAL eps = (REAL)opt->eps;
        for (p = 0; p < count; ++p) {
            const REAL gd = g[p] + decay * w[p];
            G[p] += gd * gd;
            w[p] -= lr * gd / (R_SQRT(G[p]) + eps);
        }
        break;
    }
    case PYBP_OPT_RPROP: {
        /* iRPROP-: each weight has its own step size delta.  While the
         * gradient keeps its sign the step grows by eta+, when it flips the
         * step shrinks by eta- and that gradient is forgotten (stored as 0),
         * so the next update does not count a second flip.  Moves by the
         * sign only: w -= sign(gd) * delta. */
        REAL *prev_grad = slot[0], *step_size = slot[1];
        const REAL up = (REAL)opt->eta_plus, down = (REAL)opt->eta_minus;
        const REAL dmin = (REAL)opt->delta_min, dmax = (REAL)opt->delta_max;
        for (p = 0; p < count; ++p) {
            REAL gd = g[p] + decay * w[p];
            REAL delta = opt->step == 0 ? (REAL)opt->delta0 : step_size[p];
            const REAL sign_change = gd * prev_grad[p];
            if (sign_change > 0) {
                delta = delta * up < dmax ? delta * up : dmax;
            } else if (sign_change < 0) {
                delta = delta * down > dmin ? delta * down : dmin;
                gd = 0;
            }
            if (gd > 0) w[p] -= delta;
            else if (gd < 0) w[p] += delta;
            prev_grad[p] = gd;
            step_size[p] = delta;
        }
        break;
    }
    case PYBP_OPT_QUICKPROP: {
        /* Fahlman's quickprop on the slope S = -gd.  Each weight jumps to
         * the minimum of the parabola through its last two slopes,
         * S / (S_prev - S) * step, capped at mu times the previous step; a
         * gradient term lr * S is added while the slope still points the way
         * of the last step, and is the whole step when there was none. */
        REAL *prev_slope = slot[0], *prev_step = slot[1];
        const REAL mu = (REAL)opt->mu, shrink = mu / ((REAL)1 + mu);
        for (p = 0; p < count; ++p) {
            const REAL S = -(g[p] + decay * w[p]);
            const REAL Sp = prev_slope[p], prev = prev_step[p];
            REAL step = 0;
            if (prev > 0 || prev < 0) {
                const int forward = prev > 0 ? S > 0 : S < 0;
                const int steep = prev > 0 ? S > shrink * Sp : S < shrink * Sp;
                if (forward) step += lr * S;
                if (steep) step += mu * prev;
                else if (Sp != S) step += prev * S / (Sp - S);
            } else {
                step = lr * S;
            }
            w[p] += step;
            prev_slope[p] = S;
            prev_step[p] = step;
        }
        break;
    }
    default:
        break;
    }
}

/*
 * One optimizer update of params from grad (the gradient of the mean loss).
 * weight_decay adds lambda * w to the gradient of weights, never of biases;
 * biases are left alone when train_biases is 0.  Increments opt->step.
 */
#ifdef PYBP_FAST_LAYERS
/*
 * The fast set spreads a long segment's update over the thread pool, in
 * blocks of PYBP_UPDATE_BLOCK values: every optimizer's update is
 * elementwise (each value's new weight and state depend on its own weight,
 * gradient and state only), so the split changes no bit.
 */
#define PYBP_UPDATE_BLOCK 8192
typedef struct SFX(update_job) {
    const pybp_optim *opt;
    REAL *w;
    const REAL *g;
    REAL *slot[2];
    int64_t count;
    REAL decay, c1, c2;
} SFX(update_job);

static void SFX(update_task)(void *ctx, int64_t t, int worker)
{
    const SFX(update_job) *J = (const SFX(update_job) *)ctx;
    const int64_t p0 = t * PYBP_UPDATE_BLOCK;
    const int64_t n = J->count - p0 < PYBP_UPDATE_BLOCK ? J->count - p0
                                                        : PYBP_UPDATE_BLOCK;
    REAL *const slot[2] = {J->slot[0] ? J->slot[0] + p0 : NULL,
                           J->slot[1] ? J->slot[1] + p0 : NULL};
    (void)worker;
    SFX(update_segment)(J->opt, J->w + p0, J->g + p0, slot, n, J->decay,
                        J->c1, J->c2);
}
#endif

/* update_segment, over the pool in the fast set when the segment is long. */
static void SFX(update_range)(const pybp_optim *opt, REAL *w, const REAL *g,
                              REAL *const slot[2], int64_t count, REAL decay,
                              REAL c1, REAL c2)
{
#ifdef PYBP_FAST_LAYERS
    if (count >= 2 * PYBP_UPDATE_BLOCK) {
        SFX(update_job) J;
        J.opt = opt; J.w = w; J.g = g; J.slot[0] = slot[0];
        J.slot[1] = slot[1]; J.count = count; J.decay = decay; J.c1 = c1;
        J.c2 = c2;
        /* about ten operations and three or four memory streams a value */
        pybp_pool_run((count + PYBP_UPDATE_BLOCK - 1) / PYBP_UPDATE_BLOCK,
                      SFX(update_task), &J,
                      pybp_pool_workers_for(10.0 * (double)count, 0));
        return;
    }
#endif
    SFX(update_segment)(opt, w, g, slot, count, decay, c1, c2);
}

static void SFX(optim_step)(const pybp_net *net, pybp_optim *opt,
                            REAL *params, const REAL *grad, REAL *state,
                            int train_biases)
{
    const REAL decay = (REAL)opt->weight_decay;
    const int slots = pybp_optim_state_slots(opt);
    const int64_t np = pybp_n_params(net);
    REAL *const slot0 = slots > 0 ? state : NULL;
    REAL *const slot1 = slots > 1 ? state + np : NULL;
    /* Adam's bias corrections; the pow() calls only when Adam uses them. */
    REAL c1 = 1, c2 = 1;
    int l;
    if (opt->kind == PYBP_OPT_ADAM) {
        const double t = (double)(opt->step + 1);
        c1 = (REAL)(1.0 - pow(opt->beta1, t));
        c2 = (REAL)(1.0 - pow(opt->beta2, t));
    }
    for (l = 0; l < net->n_layers; ++l) {
        const int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
        const int64_t wo = pybp_weight_offset(net, l);
        REAL *const w_slot[2] = {slot0 ? slot0 + wo : NULL,
                                 slot1 ? slot1 + wo : NULL};
        SFX(update_range)(opt, params + wo, grad + wo, w_slot, n_out * n_in,
                          decay, c1, c2);
        if (net->bias && train_biases) {
            const int64_t bo = pybp_bias_offset(net, l);
            REAL *const b_slot[2] = {slot0 ? slot0 + bo : NULL,
                                     slot1 ? slot1 + bo : NULL};
            SFX(update_segment)(opt, params + bo, grad + bo, b_slot, n_out,
                                (REAL)0, c1, c2);
        }
    }
    opt->step += 1;
}

/* ---- batch and epoch drivers ------------------------------------------- */

/* correct + sum_k w_k [sample k predicted right], added in sample order, for
 * outputs o and targets t (n x m). */
static double SFX(count_correct)(const pybp_task *task, const REAL *o,
                                 const REAL *t, const REAL *sw, int64_t n,
                                 int64_t m, double correct)
{
    const REAL thr = (REAL)task->threshold;
    int64_t k, j;
    if (task->metric == PYBP_METRIC_NONE) return correct;
    for (k = 0; k < n; ++k) {
        const REAL *ok = o + k * m, *tk = t + k * m;
        int right = 1;
        if (task->metric == PYBP_METRIC_ARGMAX) {
            /* the largest values kept in registers, not reloaded through
             * their indices (a load on each comparison's critical path) */
            int64_t io = 0, it = 0;
            REAL omax = ok[0], tmax = tk[0];
            for (j = 1; j < m; ++j) {
                if (ok[j] > omax) { omax = ok[j]; io = j; }
                if (tk[j] > tmax) { tmax = tk[j]; it = j; }
            }
            right = io == it;
        } else {
            for (j = 0; j < m && right; ++j)
                right = (ok[j] >= thr) == (tk[j] >= thr);
        }
        if (right) correct += sw ? (double)sw[k] : 1.0;
    }
    return correct;
}

/* sum_k sw[k] in sample order, or n when sw is NULL. */
static double SFX(weight_sum)(const REAL *sw, int64_t n)
{
    double wsum = 0;
    int64_t k;
    if (!sw) return (double)n;
    for (k = 0; k < n; ++k) wsum += (double)sw[k];
    return wsum;
}

/*
 * Forward pass, losses, output deltas and the delta recurrence for n
 * contiguous samples; adds their losses into *loss_sum and their correct
 * predictions into *correct_sum, in sample order, so that a batch split
 * into consecutive chunks gives the same sums as in one piece.
 */
static void SFX(chunk_deltas)(const pybp_net *net, const REAL *params,
                              const REAL *x, const REAL *t, const REAL *sw,
                              int64_t n, const pybp_task *task, REAL *acts,
                              REAL *deltas, REAL *z_out, double *loss_sum,
                              double *correct_sum)
{
    const int L = net->n_layers;
    const int64_t m = net->sizes[L];
    const int64_t out_off = n * (pybp_n_units(net) - m);
    SFX(pybp_forward)(net, params, x, n, acts, z_out);
    *loss_sum = SFX(output_delta)(task->loss, net->act[L - 1], acts + out_off,
                                  z_out, t, sw, n, m, deltas + out_off,
                                  *loss_sum);
    SFX(backward)(net, params, n, acts, deltas);
    *correct_sum = SFX(count_correct)(task, acts + out_off, t, sw, n, m,
                                      *correct_sum);
}

double SFX(pybp_batch_gradient)(const pybp_net *net, const REAL *params,
                                const REAL *x, const REAL *t, const REAL *sw,
                                int64_t n, int loss, REAL *acts, REAL *deltas,
                                REAL *z_out, REAL *grad, double *weight_sum)
{
    const int64_t np = pybp_n_params(net);
    const double wsum = SFX(weight_sum)(sw, n);
    pybp_task task = {0};
    double loss_sum = 0, correct = 0;
    int64_t p;
    task.loss = loss;
    SFX(chunk_deltas)(net, params, x, t, sw, n, &task, acts, deltas, z_out,
                      &loss_sum, &correct);
    for (p = 0; p < np; ++p) grad[p] = 0;
    if (wsum > 0)
        SFX(accumulate_gradient)(net, x, n, acts, deltas, sw, 1.0 / wsum,
                                 grad);
    *weight_sum = wsum;
    return loss_sum;
}

void SFX(pybp_evaluate)(const pybp_net *net, const REAL *params,
                        const REAL *X, const REAL *T, const REAL *sw,
                        int64_t n, const pybp_task *task, REAL *work,
                        pybp_stats *stats)
{
    const int L = net->n_layers;
    const int64_t n_in = net->sizes[0], m = net->sizes[L];
    const int64_t batch = task->batch, units = pybp_n_units(net);
    REAL *acts = work;
    REAL *z_out = acts + batch * units;
    REAL *delta = z_out + batch * m;
    int64_t start;
    if (batch < 1) return; /* precondition; guarded: it would never end */
    for (start = 0; start < n; start += batch) {
        const int64_t b = (n - start < batch) ? n - start : batch;
        const REAL *x = X + start * n_in, *t = T + start * m;
        const REAL *swk = sw ? sw + start : NULL;
        const REAL *o = acts + b * (units - m);
        SFX(pybp_forward)(net, params, x, b, acts, z_out);
        stats->loss_sum += SFX(output_delta)(task->loss, net->act[L - 1], o,
                                             z_out, t, swk, b, m, delta, 0.0);
        stats->weight_sum += SFX(weight_sum)(swk, b);
        stats->correct_sum += SFX(count_correct)(task, o, t, swk, b, m, 0.0);
    }
}

/* Rows this far ahead are asked for while one is copied: shuffled rows of
 * a training set larger than the caches come from memory, one row after
 * another, and the hardware prefetcher only follows a row once it has
 * started on it.  Into every cache level (locality 3): the non-temporal
 * hint (0) made the gather of a 10240 x 784 float32 epoch 1.5x (from
 * memory) to 2.7x (from cache) slower than no prefetch at all on a Xeon
 * with AVX-512 (3.5 and 6.4 ms against 2.5 and 2.4), the rows' lines
 * waiting for fill buffers; locality 3 is no slower than none there, and
 * a 784-128-64-10 float32 fit of that epoch took 2-3 % less time with it
 * than with hint 0, on 1 and on 2 threads. */
#define PYBP_GATHER_AHEAD 2

/* Gathered rows: dst[r, :] = src[idx[r], :] for r < n.  With check, also
 * whether every copied value is finite (zero when one is NaN or infinite),
 * on the read the training makes anyway, instead of a pass of its own over
 * X: adding the exponent's unit to |v|'s bits carries into the sign bit
 * exactly when the exponent is all ones (infinity, NaN), so the sign bit
 * of the OR of those sums says whether any value was not finite -- integer
 * operations, which the compiler vectorises with the copy (a test of
 * v - v in floating point keeps the copy scalar or takes twice the work). */
static int SFX(gather_rows_serial)(const REAL *src, const int64_t *idx,
                                   int64_t n, int64_t width, REAL *dst,
                                   int check)
{
    R_BITS seen = 0;
    int64_t r, c;
    for (r = 0; r < n; ++r) {
        const REAL *s = src + idx[r] * width;
        REAL *d = dst + r * width;
#if defined(__GNUC__) || defined(__clang__)
        if (r + PYBP_GATHER_AHEAD < n && width * (int64_t)sizeof(REAL) >= 256) {
            const char *ahead =
                (const char *)(src + idx[r + PYBP_GATHER_AHEAD] * width);
            const int64_t bytes = width * (int64_t)sizeof(REAL);
            int64_t off;
            for (off = 0; off < bytes; off += 64)
                __builtin_prefetch(ahead + off, 0, 3);
        }
#endif
        if (check) {
            for (c = 0; c < width; ++c) {
                const REAL v = s[c];
                R_BITS u;
                d[c] = v;
                memcpy(&u, &v, sizeof u);
                seen |= (u & R_ABS_BITS) + R_EXP_UNIT;
            }
        } else {
            for (c = 0; c < width; ++c) d[c] = s[c];
        }
    }
    return (seen >> (8 * sizeof(R_BITS) - 1)) == 0;
}

#ifdef PYBP_FAST_LAYERS
/* The fast set copies a large batch's rows over the thread pool, in blocks
 * of PYBP_GATHER_ROWS rows (a copy: any split gives the same bytes). */
#define PYBP_GATHER_ROWS 16
typedef struct SFX(gather_job) {
    const REAL *src;
    const int64_t *idx;
    int64_t n, width;
    REAL *dst;
    int check;
    /* bad[w]: worker w copied a value that is not finite (each worker
     * writes only its own flag) */
    unsigned char bad[PYBP_MAX_THREADS];
} SFX(gather_job);

static void SFX(gather_task)(void *ctx, int64_t t, int worker)
{
    SFX(gather_job) *J = (SFX(gather_job) *)ctx;
    const int64_t r0 = t * PYBP_GATHER_ROWS;
    const int64_t n = J->n - r0 < PYBP_GATHER_ROWS ? J->n - r0
                                                   : PYBP_GATHER_ROWS;
    if (!SFX(gather_rows_serial)(J->src, J->idx + r0, n, J->width,
                                 J->dst + r0 * J->width, J->check))
        J->bad[worker] = 1;
}
#endif

/* gather_rows_serial's copy (and check), over the pool when it is large. */
static int SFX(gather_rows)(const REAL *src, const int64_t *idx, int64_t n,
                            int64_t width, REAL *dst, int check)
{
#ifdef PYBP_FAST_LAYERS
    if (n * width >= 65536 && n >= 2 * PYBP_GATHER_ROWS) {
        SFX(gather_job) J;
        int w, workers, ok = 1;
        J.src = src; J.idx = idx; J.n = n; J.width = width; J.dst = dst;
        J.check = check;
        memset(J.bad, 0, sizeof J.bad);
        workers = pybp_pool_run((n + PYBP_GATHER_ROWS - 1) / PYBP_GATHER_ROWS,
                                SFX(gather_task), &J, 0);
        for (w = 0; w < workers; ++w)
            if (J.bad[w]) ok = 0;
        return ok;
    }
#endif
    return SFX(gather_rows_serial)(src, idx, n, width, dst, check);
}

/* sum_r sw[idx[r]] for r < n, in order. */
static double SFX(gathered_weight)(const REAL *sw, const int64_t *idx,
                                   int64_t n)
{
    double wsum = 0;
    int64_t r;
    for (r = 0; r < n; ++r) wsum += (double)sw[idx[r]];
    return wsum;
}

/* ---- per-sample plain SGD, fused ---------------------------------------- */

/* Whether the per-sample path below applies: SGD without momentum, where
 * an update needs nothing but the sample's own gradient. */
static int SFX(fused_sgd)(const pybp_optim *opt)
{
    return opt->kind == PYBP_OPT_SGD && opt->momentum == 0;
}

/* Whether an epoch gathers its batches' rows (batched_epoch), rather than
 * reading each sample's row of X in place (sample_sgd_epoch). */
static int SFX(gathers)(const pybp_optim *opt, const pybp_task *task)
{
    return !(task->batch == 1 && SFX(fused_sgd)(opt));
}

/*
 * One sample's backward pass and plain-SGD update, layer by layer from the
 * output down, without a gradient buffer: layer l's weights are read for
 * the sensitivities of layer l-1 before they are updated, so every value
 * equals the unfused path's (gradient g = 0 + c delta_j A(p_i), then
 * w -= lr (g + decay w)), operation for operation.  deltas holds the output
 * block already; acts the sample's activations; c the sample's gradient
 * scale, as accumulate_gradient computes it; plan the net's offsets.
 */
static void SFX(sample_sgd_update)(const pybp_net *net, const pybp_plan *plan,
                                   const pybp_optim *opt, REAL *params,
                                   const REAL *x, const REAL *acts,
                                   REAL *deltas, REAL c, int train_biases)
{
    const int L = net->n_layers;
    const REAL lr = (REAL)opt->lr, decay = (REAL)opt->weight_decay;
    const REAL zero = 0;
    int64_t off = plan->out_off;
    int l;
    for (l = L - 1; l >= 0; --l) {
        const int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
        /* restrict: weights, activations and deltas are separate arrays
         * (and dp, dc separate blocks), so the compiler needs no run-time
         * overlap checks around these short loops */
        REAL *PYBP_RESTRICT W = params + pybp_plan_weights(plan, net, l);
        const REAL *PYBP_RESTRICT dc = deltas + off;
        const int64_t off_p = off - n_in;
        const REAL *PYBP_RESTRICT ap = l > 0 ? acts + off_p : x;
        int64_t i, j;
        if (l > 0) {
            /* delta_p_i = A'(p_i) sum_j w_ij delta_c_j with the old weights:
             * each w_ij is read for the sum, then updated, in one pass over
             * the layer (the sums still run over j in order). */
            REAL *PYBP_RESTRICT dp = deltas + off_p;
            for (i = 0; i < n_in; ++i) dp[i] = 0;
            for (j = 0; j < n_out; ++j) {
                const REAL d = dc[j], cd = c * d;
                REAL *Wj = W + j * n_in;
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
                REAL *Wj = W + j * n_in;
                for (i = 0; i < n_in; ++i) {
                    const REAL g = zero + cd * ap[i];
                    Wj[i] -= lr * (g + decay * Wj[i]);
                }
            }
        }
        if (net->bias && train_biases) {
            REAL *PYBP_RESTRICT b = params + pybp_plan_biases(plan, net, l);
            for (j = 0; j < n_out; ++j) {
                const REAL g = zero + c * dc[j];
                b[j] -= lr * (g + zero * b[j]);
            }
        }
        off = off_p;
    }
}

#ifdef PYBP_FAST_LAYERS
/* Whether the variant's whole step (fast_kernels.h: sgd_sample) takes this
 * net and loss: the squared-error losses on a non-softmax output. */
static int SFX(whole_step)(const pybp_net *net, const pybp_plan *plan,
                           int loss)
{
    return plan->hoisted && net->act[net->n_layers - 1] != PYBP_ACT_SOFTMAX &&
           (loss == PYBP_LOSS_SSE || loss == PYBP_LOSS_HALF_SSE ||
            loss == PYBP_LOSS_MSE);
}

#endif

/* One sample's step by the shared loops: forward, loss and output delta
 * (output_delta's value, 0 + w e, is returned), then, when apply is set
 * and that value is finite, the fused update with gradient scale c. */
static double SFX(sample_sgd_step)(const pybp_net *net, const pybp_plan *plan,
                                   const pybp_optim *opt,
                                   const pybp_task *task, REAL *params,
                                   const REAL *x, const REAL *t,
                                   const REAL *sws, REAL c, int apply,
                                   REAL *acts, REAL *deltas, REAL *z_out)
{
    const int L = net->n_layers;
    const int64_t out_off = plan->out_off;
    double bl;
    SFX(sample_forward)(net, plan, params, x, acts, z_out);
    bl = SFX(output_delta)(task->loss, net->act[L - 1], acts + out_off, z_out,
                           t, sws, 1, net->sizes[L], deltas + out_off, 0.0);
    if (apply && bl - bl == 0)
        SFX(sample_sgd_update)(net, plan, opt, params, x, acts, deltas, c,
                               task->train_biases);
    return bl;
}

/*
 * The epoch driver's loop for batch 1 and plain SGD: no gather, no
 * gradient buffer, no optimizer pass; the same results, the same progress
 * calls and the same early stops as the general loop.  In the fast set,
 * for the nets and losses whole_step takes, each sample is the variant's
 * whole step (fast_kernels.h: sgd_sample), with the same values.
 */
static int64_t SFX(sample_sgd_epoch)(const pybp_net *net,
                                     const pybp_plan *plan, pybp_optim *opt,
                                     REAL *params, const REAL *X,
                                     const REAL *T, const REAL *sw,
                                     const int64_t *order, int64_t n,
                                     const pybp_task *task, REAL *work,
                                     pybp_stats *stats,
                                     pybp_progress_fn progress, void *ctx,
                                     double *work_since)
{
    const int64_t n_in = net->sizes[0], m = net->sizes[net->n_layers];
    const int64_t np = plan->n_params, out_off = plan->out_off;
    REAL *acts = work;
    REAL *deltas = acts + plan->n_units;
    REAL *z_out = deltas + plan->n_units;
    int64_t k;
#ifdef PYBP_FAST_LAYERS
    const int whole = SFX(whole_step)(net, plan, task->loss);
    pybp_fast_sgd sgd;
    sgd.loss = task->loss;
    sgd.train_biases = task->train_biases;
    sgd.lr = opt->lr;
    sgd.decay = opt->weight_decay;
#endif
    for (k = 0; k < n; ++k) {
        const int64_t s = order[k];
        const REAL *x = X + s * n_in, *t = T + s * m;
        const REAL *sws = sw ? sw + s : NULL;
        const double bw = sw ? (double)sw[s] : 1.0;
        const double scale = 1.0 / bw;
        const REAL c = (REAL)(sw ? scale * (double)sw[s] : scale);
        double bl;
#ifdef PYBP_FAST_LAYERS
        if (plan->tiny) /* params is the tiny-net packing */
            bl = R_FAST_TINY_SGD(&plan->shape, &sgd, params, x, t, bw, c,
                                   bw > 0, acts + out_off);
        else if (whole)
            bl = R_FAST_SGD_SAMPLE(&plan->shape, &sgd, params, x, t, bw, c,
                                   bw > 0, acts, deltas);
        else
#endif
            bl = SFX(sample_sgd_step)(net, plan, opt, task, params, x, t, sws,
                                      c, bw > 0, acts, deltas, z_out);
        if (task->metric != PYBP_METRIC_NONE)
            stats->correct_sum = SFX(count_correct)(
                task, acts + out_off, t, sws, 1, m, stats->correct_sum);
        stats->loss_sum += bl;
        stats->weight_sum += bw;
        if (!(bl - bl == 0)) /* NaN or infinity: not applied */
            return k;
        if (bw > 0) opt->step += 1;
        *work_since += (double)np;
        if (progress && *work_since >= PYBP_PROGRESS_WORK) {
            *work_since = 0;
            if (progress(ctx, k + 1)) return k + 1;
        }
    }
    return n;
}

/* ---- one epoch, many epochs ----------------------------------------------- */

/* pybp_train_epoch's body for every case but the fused one: batches
 * gathered in chunks, a gradient buffer, one optimizer step per batch. */
static int64_t SFX(batched_epoch)(const pybp_net *net, pybp_optim *opt,
                                  REAL *params, REAL *state, const REAL *X,
                                  const REAL *T, const REAL *sw,
                                  const int64_t *order, int64_t n,
                                  const pybp_task *task, REAL *work,
                                  pybp_stats *stats,
                                  pybp_progress_fn progress, void *ctx,
                                  double *work_since, int *x_bad)
{
    const int L = net->n_layers;
    const int64_t n_in = net->sizes[0], m = net->sizes[L];
    const int64_t batch = task->batch;
    const int64_t units = pybp_n_units(net), np = pybp_n_params(net);
    const int full_batch = pybp_optim_full_batch(opt);
    /* A batch is gathered and processed one chunk of samples at a time.
     * Workspace carving; sizes match pybp_epoch_workspace_size. */
    const int64_t chunk = pybp_epoch_chunk(net, batch);
    REAL *acts = work;
    REAL *deltas = acts + chunk * units;
    REAL *z_out = deltas + chunk * units;
    REAL *xb = z_out + chunk * m;
    REAL *tb = xb + chunk * n_in;
    REAL *swb = tb + chunk * m;
    REAL *grad = swb + chunk;
    double epoch_weight = 0;
    int64_t start, p;

    if (batch < 1) return 0; /* precondition; guarded: it would never end */
    if (full_batch)
        for (p = 0; p < np; ++p) grad[p] = 0;
    for (start = 0; start < n; start += batch) {
        const int64_t b = (n - start < batch) ? n - start : batch;
        const int64_t *idx = order + start;
        /* The batch's loss and correct sums, and its weight, found first:
         * the gradient is scaled by 1/bw as each chunk is added in. */
        double bl = 0, bc = 0;
        const double bw = sw ? SFX(gathered_weight)(sw, idx, b) : (double)b;
        int64_t done, r;
        if (!full_batch)
            for (p = 0; p < np; ++p) grad[p] = 0;
        for (done = 0; done < b;) {
            const int64_t c = (b - done < chunk) ? b - done : chunk;
            const REAL *swc = NULL;
            if (!SFX(gather_rows)(X, idx + done, c, n_in, xb, x_bad != NULL)) {
                /* a value of X is not finite: the batch is abandoned
                 * before any of it is applied; the caller undoes the rest */
                *x_bad = 1;
                return full_batch ? 0 : start;
            }
            SFX(gather_rows)(T, idx + done, c, m, tb, 0);
            if (sw) {
                for (r = 0; r < c; ++r) swb[r] = sw[idx[done + r]];
                swc = swb;
            }
            SFX(chunk_deltas)(net, params, xb, tb, swc, c, task, acts, deltas,
                              z_out, &bl, &bc);
            /* Full batch: the sum of per-sample gradients, divided by the
             * epoch's weight at the end. */
            if (full_batch)
                SFX(accumulate_gradient)(net, xb, c, acts, deltas, swc, 1.0,
                                         grad);
            else if (bw > 0)
                SFX(accumulate_gradient)(net, xb, c, acts, deltas, swc,
                                         1.0 / bw, grad);
            done += c;
            (*work_since) += (double)c * (double)np;
            if (done < b && progress && (*work_since) >= PYBP_PROGRESS_WORK) {
                /* Inside a batch: stopping abandons it, nothing applied;
                 * the losses of the samples seen so far still count. */
                (*work_since) = 0;
                if (progress(ctx, start + done)) {
                    stats->loss_sum += bl;
                    stats->weight_sum +=
                        sw ? SFX(gathered_weight)(sw, idx, done) : (double)done;
                    stats->correct_sum += bc;
                    return full_batch ? 0 : start;
                }
            }
        }
        stats->loss_sum += bl;
        stats->weight_sum += bw;
        stats->correct_sum += bc;
        if (!(bl - bl == 0)) /* NaN or infinity: this batch is not applied */
            return full_batch ? 0 : start;
        if (full_batch) {
            epoch_weight += bw;
        } else if (bw > 0) {
            SFX(optim_step)(net, opt, params, grad, state, task->train_biases);
        }
        if (progress && (*work_since) >= PYBP_PROGRESS_WORK) {
            (*work_since) = 0;
            if (progress(ctx, start + b))
                return full_batch ? 0 : start + b;
        }
    }
    if (full_batch) {
        if (!(epoch_weight > 0)) return 0;
        for (p = 0; p < np; ++p) grad[p] = (REAL)(grad[p] / epoch_weight);
        SFX(optim_step)(net, opt, params, grad, state, task->train_biases);
    }
    return n;
}

/* pybp_train_epoch's body; *work_since counts multiply-adds since the last
 * progress call, carried across the epochs of pybp_train_epochs.  x_bad
 * not NULL (only where SFX(gathers)): the rows of X are checked finite as
 * they are gathered, and a bad one sets *x_bad and stops the epoch. */
static int64_t SFX(epoch)(const pybp_net *net, const pybp_plan *plan,
                          pybp_optim *opt, REAL *params, REAL *state,
                          const REAL *X, const REAL *T, const REAL *sw,
                          const int64_t *order, int64_t n,
                          const pybp_task *task, REAL *work,
                          pybp_stats *stats, pybp_progress_fn progress,
                          void *ctx, double *work_since, int *x_bad)
{
    if (!SFX(gathers)(opt, task))
        return SFX(sample_sgd_epoch)(net, plan, opt, params, X, T, sw, order,
                                     n, task, work, stats, progress, ctx,
                                     work_since);
    return SFX(batched_epoch)(net, opt, params, state, X, T, sw, order, n,
                              task, work, stats, progress, ctx, work_since,
                              x_bad);
}

int64_t SFX(pybp_train_epoch)(const pybp_net *net, pybp_optim *opt,
                              REAL *params, REAL *state, const REAL *X,
                              const REAL *T, const REAL *sw,
                              const int64_t *order, int64_t n,
                              const pybp_task *task, REAL *work,
                              pybp_stats *stats, pybp_progress_fn progress,
                              void *ctx)
{
    double work_since = 0;
    pybp_plan plan;
    pybp_plan_init(net, &plan);
    return SFX(epoch)(net, &plan, opt, params, state, X, T, sw, order, n,
                      task, work, stats, progress, ctx, &work_since, NULL);
}

/* Nonzero when every one of the count values is finite: |v|'s bits plus the
 * exponent's unit carry into the sign bit exactly for infinity and NaN (all
 * exponent bits set).  Integer operations ORed over the values: the loop
 * vectorises, and its result waits on no chain of floating-point adds.  For
 * a tiny net this runs after every epoch, on the parameters its last update
 * has just stored: the sums of v - v it replaces took 3.5 ns more of the
 * worked example's 111 ns epoch. */
static int SFX(all_finite)(const REAL *v, int64_t count)
{
    R_BITS seen = 0;
    int64_t i;
    for (i = 0; i < count; ++i) {
        R_BITS u;
        memcpy(&u, v + i, sizeof u);
        seen |= (u & R_ABS_BITS) + R_EXP_UNIT;
    }
    return (seen >> (8 * sizeof(R_BITS) - 1)) == 0;
}

/* count >= 0 values; dst and src do not overlap */
static void SFX(copy)(REAL *dst, const REAL *src, int64_t count)
{
    if (count > 0) memcpy(dst, src, (size_t)count * sizeof(REAL));
}

/* dst (pybp_n_params values) gets the parameters that run holds: run's
 * values, or, with the tiny-net packing (plan->tiny), their unpacking.
 * For the caller's parameters before each progress call, where Python may
 * read them (snapshots), and at the end; for best_params. */
static void SFX(publish)(const pybp_plan *plan, const REAL *run, REAL *dst)
{
#ifdef PYBP_FAST_LAYERS
    if (plan->tiny) {
        R_FAST_TINY_UNPACK(&plan->shape, run, dst);
        return;
    }
#endif
    if (dst != run) SFX(copy)(dst, run, plan->n_params);
}

/* The progress function of pybp_train_epochs: the caller's, noting
 * whether it asked to stop, with the parameters published first. */
typedef struct SFX(progress_box) {
    pybp_progress_fn fn;
    void *ctx;
    int asked;
    const pybp_plan *plan;
    const REAL *run;
    REAL *params;
} SFX(progress_box);

static int SFX(noting_progress)(void *ctx, int64_t done)
{
    SFX(progress_box) *box = (SFX(progress_box) *)ctx;
    SFX(publish)(box->plan, box->run, box->params);
    if (box->fn(box->ctx, done)) {
        box->asked = 1;
        return 1;
    }
    return 0;
}

/* pybp_train_epochs' loop over epochs, on the parameters run (n_run
 * values: params itself, or the tiny-net packing of them, when
 * plan->tiny), with backup for n_run values and the optimizer state. */
static int64_t SFX(epochs_loop)(const pybp_net *net, const pybp_plan *plan,
                                pybp_optim *opt, REAL *run, int64_t n_run,
                                REAL *params, REAL *state, const REAL *X,
                                const REAL *T, const REAL *sw, int64_t n,
                                const pybp_task *task, pybp_epochs *ep,
                                int64_t *order, REAL *backup,
                                REAL *best_params, REAL *work, double *record,
                                pybp_progress_fn progress, void *ctx)
{
    const int64_t np = plan->n_params;
    const int64_t ns = (int64_t)pybp_optim_state_slots(opt) * np;
    const int64_t x_count = n * net->sizes[0];
    SFX(progress_box) box;
    double work_since = 0;
    int64_t e, k;
    box.fn = progress;
    box.ctx = ctx;
    box.asked = 0;
    box.plan = plan;
    box.run = run;
    box.params = params;
    if (!ep->seeds)
        for (k = 0; k < n; ++k) order[k] = k;
    for (e = 0; e < ep->max_epochs; ++e) {
        pybp_stats stats = {0, 0, 0};
        const int64_t step0 = opt->step;
        double *rec = record + e; /* column c at rec[c * max_epochs] */
        double loss = 0;
        int64_t done;
        int x_bad = 0, checking = ep->check_x;
        if (checking && !SFX(gathers)(opt, task)) {
            /* The per-sample loop reads X's rows in place: X is checked
             * whole before the epoch, and nothing has changed yet. */
            if (!SFX(all_finite)(X, x_count)) {
                ep->stop = PYBP_STOP_BAD_INPUT;
                return e;
            }
            checking = ep->check_x = 0;
        }
        if (ep->seeds) {
            uint64_t rng = ep->seeds[e];
            pybp_shuffle_order(&rng, order, n);
        }
        if (ep->lr) opt->lr = ep->lr[e];
        SFX(copy)(backup, run, n_run);
        if (ns) SFX(copy)(backup + n_run, state, ns);
        done = SFX(epoch)(net, plan, opt, run, state, X, T, sw, order, n,
                          task, work, &stats,
                          progress ? SFX(noting_progress) : NULL, &box,
                          &work_since, checking ? &x_bad : NULL);
        if (checking) {
            /* An epoch that stopped before gathering every row leaves the
             * rest of X unchecked: checked here, so that the check is
             * whole whenever this returns without PYBP_STOP_BAD_INPUT. */
            if (!x_bad && done < n && !SFX(all_finite)(X, x_count)) x_bad = 1;
            if (x_bad) {
                SFX(copy)(run, backup, n_run);
                if (ns) SFX(copy)(state, backup + n_run, ns);
                opt->step = step0;
                ep->stop = PYBP_STOP_BAD_INPUT;
                return e;
            }
            ep->check_x = 0;
        }
        /* the History's values, as the per-epoch loop divides (the same
         * IEEE division of the same sums) */
        if (stats.weight_sum > 0) loss = stats.loss_sum / stats.weight_sum;
        rec[0] = stats.weight_sum > 0 ? loss : (double)NAN;
        rec[ep->max_epochs] = stats.weight_sum;
        rec[2 * ep->max_epochs] = stats.weight_sum > 0
            ? stats.correct_sum / stats.weight_sum : (double)NAN;
        rec[3 * ep->max_epochs] = (double)done;
        ep->last_step0 = step0;
        if ((!box.asked && (!(stats.weight_sum > 0) || !(loss - loss == 0)))
                || !SFX(all_finite)(run, n_run)) {
            /* Diverged: the epoch is undone; its record stays. */
            SFX(copy)(run, backup, n_run);
            if (ns) SFX(copy)(state, backup + n_run, ns);
            opt->step = step0;
            ep->stop = PYBP_STOP_DIVERGED;
            return e + 1;
        }
        if (box.asked) {
            /* Stopped inside the epoch: the caller finishes it. */
            ep->stop = PYBP_STOP_ASKED_INSIDE;
            return e + 1;
        }
        if (ep->watch) {
            if (loss < ep->best - ep->min_delta) {
                ep->best = loss;
                ep->wait = 0;
                if (best_params) {
                    SFX(publish)(plan, run, best_params);
                    ep->improved = 1;
                }
            } else {
                ep->wait += 1;
            }
        }
        if (ep->has_target && loss <= ep->target_loss) {
            ep->stop = PYBP_STOP_TARGET;
            return e + 1;
        }
        if (ep->patience > 0 && ep->wait >= ep->patience) {
            ep->stop = PYBP_STOP_PATIENCE;
            return e + 1;
        }
        /* Between epochs: the progress function, as often as inside one. */
        work_since += (double)np;
        if (progress && work_since >= PYBP_PROGRESS_WORK) {
            work_since = 0;
            SFX(publish)(plan, run, params);
            if (progress(ctx, -1)) {
                ep->stop = PYBP_STOP_ASKED;
                return e + 1;
            }
        }
    }
    return ep->max_epochs;
}

#ifdef PYBP_FAST_LAYERS
/* The tiny-net step pays from this many weights on: below it (the worked
 * example's 2-2-2, nets of two-unit layers) the vector step's fixed costs
 * -- its sigmoid called, not inlined, the 4 x 4 / 8 x 8 transposes for two
 * outputs -- outweigh what it saves, and sgd_sample is faster (tests/c's
 * timing loop, AVX2, per step: 2-2-2 77 vs 89 ns in float64, 62 vs 90 in
 * float32; 4-4-4 119 vs 75 and 108 vs 98; 10-4-6-8-4 293 vs 206 and 293
 * vs 215). */
#ifndef PYBP_TINY_MIN_WEIGHTS
#define PYBP_TINY_MIN_WEIGHTS 32
#endif

/* The REALs of the tiny-net packing pybp_train_epochs runs this training
 * on, or 0 for none: per-sample plain SGD (no optimizer state) of a net
 * whose step is the variant's (whole_step), that the variant packs
 * (fast_kernels.h: tiny_size) and that has PYBP_TINY_MIN_WEIGHTS weights. */
static int64_t SFX(tiny_packing)(const pybp_net *net, const pybp_plan *plan,
                                 const pybp_optim *opt, const pybp_task *task)
{
    int64_t weights = 0;
    int l;
    if (task->batch != 1 || !SFX(fused_sgd)(opt) ||
        !SFX(whole_step)(net, plan, task->loss))
        return 0;
    for (l = 0; l < net->n_layers; ++l)
        weights += net->sizes[l] * net->sizes[l + 1];
    return weights >= PYBP_TINY_MIN_WEIGHTS ? R_FAST_TINY_SIZE(&plan->shape) : 0;
}
#endif

int64_t SFX(pybp_train_epochs)(const pybp_net *net, pybp_optim *opt,
                               REAL *params, REAL *state, const REAL *X,
                               const REAL *T, const REAL *sw, int64_t n,
                               const pybp_task *task, pybp_epochs *ep,
                               int64_t *order, REAL *backup,
                               REAL *best_params, REAL *work, double *record,
                               pybp_progress_fn progress, void *ctx)
{
    pybp_plan plan;
    ep->stop = PYBP_STOP_MAX_EPOCHS;
    ep->improved = 0;
    if (task->batch < 1) return 0; /* precondition; guarded */
    pybp_plan_init(net, &plan);
#ifdef PYBP_FAST_LAYERS
    {
        /* A tiny net's per-sample plain SGD runs on the variant's packing
         * of the parameters, kept here for the whole call, with its own
         * backup: the same values as on params. */
        const int64_t size = SFX(tiny_packing)(net, &plan, opt, task);
        if (size > 0) {
            REAL buf[2 * PYBP_FAST_TINY_MAX + 32 / sizeof(REAL)];
            REAL *P = (REAL *)(((uintptr_t)buf + 31) & ~(uintptr_t)31);
            int64_t done;
            R_FAST_TINY_PACK(&plan.shape, params, P);
            plan.tiny = 1;
            done = SFX(epochs_loop)(net, &plan, opt, P, size, params, state,
                                    X, T, sw, n, task, ep, order, P + size,
                                    best_params, work, record, progress,
                                    ctx);
            SFX(publish)(&plan, P, params);
            return done;
        }
    }
#endif
    return SFX(epochs_loop)(net, &plan, opt, params, plan.n_params, params,
                            state, X, T, sw, n, task, ep, order, backup,
                            best_params, work, record, progress, ctx);
}
