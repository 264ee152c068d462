/*
 * kernels_impl.h -- the precision-generic body of pybp's kernels.
 *
 * Included by kernels.c once per precision with these macros defined:
 *   REAL        the floating type (double or float)
 *   SFX(name)   name with the precision suffix appended (name_f64, name_f32)
 *   R_EXP, R_LOG, R_LOG1P, R_TANH, R_FABS, R_SQRT   the matching libm calls
 * There is deliberately no include guard.
 */

/* ---- activations ------------------------------------------------------- */

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

/* log(1 + exp(x)) without overflow or loss of precision for large |x|. */
static REAL SFX(softplus)(REAL x)
{
    return (x > 0 ? x : (REAL)0) + R_LOG1P(R_EXP(-R_FABS(x)));
}

/* out[k, :] = softmax(z[k, :]); the row maximum is subtracted first. */
static void SFX(softmax_rows)(const REAL *z, int64_t n, int64_t m, REAL *out)
{
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
}

/* a = A(z) elementwise over `count` values (softmax is handled per row). */
static void SFX(activate)(int act, const REAL *z, int64_t count, REAL *a)
{
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
        for (i = 0; i < count; ++i)
            a[i] = z[i] > 0 ? z[i] : (REAL)PYBP_LEAKY_SLOPE * z[i];
        break;
    default: /* identity */
        if (a != z)
            for (i = 0; i < count; ++i) a[i] = z[i];
        break;
    }
}

/*
 * delta[i] *= A'(net_i), with A' written in terms of the activation a = A(net)
 * so that the forward pass need not keep the net inputs: sigmoid a(1-a),
 * tanh 1-a^2, relu [a>0], leaky_relu 1 or the slope (a has the sign of net).
 */
static void SFX(scale_by_derivative)(int act, const REAL *a, int64_t count,
                                     REAL *delta)
{
    int64_t i;
    switch (act) {
    case PYBP_ACT_SIGMOID:
        for (i = 0; i < count; ++i) delta[i] *= a[i] * ((REAL)1 - a[i]);
        break;
    case PYBP_ACT_TANH:
        for (i = 0; i < count; ++i) delta[i] *= (REAL)1 - a[i] * a[i];
        break;
    case PYBP_ACT_RELU:
        for (i = 0; i < count; ++i) if (!(a[i] > 0)) delta[i] = 0;
        break;
    case PYBP_ACT_LEAKY_RELU:
        for (i = 0; i < count; ++i)
            if (!(a[i] > 0)) delta[i] *= (REAL)PYBP_LEAKY_SLOPE;
        break;
    default: /* identity */
        break;
    }
}

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
    for (; i + PYBP_DOT_LANES <= n; i += PYBP_DOT_LANES)
        for (u = 0; u < PYBP_DOT_LANES; ++u) s[u] += a[i + u] * b[i + u];
    for (; i < n; ++i) s[0] += a[i] * b[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}
#undef PYBP_DOT_LANES

void SFX(pybp_forward)(const pybp_net *net, const REAL *params, const REAL *x,
                       int64_t n, REAL *acts, REAL *z_out)
{
    const int L = net->n_layers;
    const REAL *a_prev = x;
    REAL *a = acts;
    int l;
    for (l = 0; l < L; ++l) {
        const int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
        const REAL *W = params + pybp_weight_offset(net, l);
        const REAL *b = net->bias ? params + pybp_bias_offset(net, l) : NULL;
        const int last = (l == L - 1);
        /* The output layer's net inputs go to z_out when asked for. */
        REAL *z = (last && z_out) ? z_out : a;
        int64_t k, j;
        for (k = 0; k < n; ++k) {
            const REAL *xk = a_prev + k * n_in;
            REAL *zk = z + k * n_out;
            for (j = 0; j < n_out; ++j)
                zk[j] = SFX(dot)(W + j * n_in, xk, n_in) + (b ? b[j] : (REAL)0);
        }
        if (net->act[l] == PYBP_ACT_SOFTMAX)
            SFX(softmax_rows)(z, n, n_out, a);
        else
            SFX(activate)(net->act[l], z, n * n_out, a);
        a_prev = a;
        a += n * n_out;
    }
}

/* ---- loss and output sensitivity ---------------------------------------- */

double SFX(pybp_output_delta)(int loss, int act, const REAL *o, const REAL *z,
                              const REAL *t, const REAL *sw, int64_t n,
                              int64_t m, REAL *delta)
{
    double total = 0;
    int64_t k, j;
    for (k = 0; k < n; ++k) {
        const REAL *ok = o + k * m, *zk = z + k * m, *tk = t + k * m;
        REAL *dk = delta + k * m;
        REAL e = 0;
        switch (loss) {
        case PYBP_LOSS_CROSS_ENTROPY: {
            /* log o_j = z_j - logsumexp(z): finite even where o_j underflows.
             * delta = o * sum(t) - t, the softmax Jacobian applied to -t/o. */
            REAL zmax = zk[0], s = 0, lse, tsum = 0;
            for (j = 1; j < m; ++j)
                if (zk[j] > zmax) zmax = zk[j];
            for (j = 0; j < m; ++j) s += R_EXP(zk[j] - zmax);
            lse = zmax + R_LOG(s);
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

void SFX(pybp_backward)(const pybp_net *net, const REAL *params, int64_t n,
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
        int64_t k = 0, i, j;
        /* sum_j w_ij delta_c_j, as rows of W scaled and added in order of j;
         * four samples at a time share each pass over W. */
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
        SFX(scale_by_derivative)(net->act[l - 1], ap, n * n_in, dp);
        off = off_p;
    }
}

void SFX(pybp_accumulate_gradient)(const pybp_net *net, const REAL *x,
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
        int64_t k = 0, j, i;
        /* Samples are added in order, four per pass over the gradient rows:
         * every element sees the same additions in the same order as one
         * sample at a time, with a quarter of the memory traffic. */
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
        /* This layer's activations are the next layer's inputs; they sit
         * at the same offset in acts as this layer's deltas in deltas. */
        a_prev = acts + (d - deltas);
        d += n * n_out;
    }
}

/* ---- optimizers -------------------------------------------------------- */

/*
 * One optimizer update of `count` parameters w with gradient g, L2
 * coefficient `decay` (0 for biases), and the optimizer's state slots s0, s1
 * for these parameters (NULL when the optimizer has fewer slots).  gd below
 * is the gradient of the loss plus the L2 term, g + decay * w.  c1, c2 are
 * Adam's bias corrections 1 - beta^t for this step.
 */
static void SFX(update_segment)(const pybp_optim *opt, REAL *w, const REAL *g,
                                REAL *s0, REAL *s1, int64_t count, REAL decay,
                                REAL c1, REAL c2)
{
    const REAL lr = (REAL)opt->lr;
    int64_t p;
    switch (opt->kind) {
    case PYBP_OPT_SGD: {
        /* The seeds' momentum: V <- mu V - eta gd; W <- W + V.  Nesterov's
         * variant moves by mu V_new - eta gd.  s0 is V. */
        const REAL mu = (REAL)opt->momentum;
        if (opt->momentum == 0) {
            for (p = 0; p < count; ++p) w[p] -= lr * (g[p] + decay * w[p]);
        } else if (opt->nesterov) {
            for (p = 0; p < count; ++p) {
                const REAL gd = g[p] + decay * w[p];
                s0[p] = mu * s0[p] - lr * gd;
                w[p] += mu * s0[p] - lr * gd;
            }
        } else {
            for (p = 0; p < count; ++p) {
                s0[p] = mu * s0[p] - lr * (g[p] + decay * w[p]);
                w[p] += s0[p];
            }
        }
        break;
    }
    case PYBP_OPT_ADAM: {
        /* m <- b1 m + (1-b1) gd; v <- b2 v + (1-b2) gd^2;
         * w -= lr * (m / c1) / (sqrt(v / c2) + eps), computed as in Kingma &
         * Ba's Section 2: lr_t * m / (sqrt(v) + eps_t), lr_t = lr sqrt(c2)/c1,
         * eps_t = eps sqrt(c2) -- the same value, with one division. */
        const REAL b1 = (REAL)opt->beta1, b2 = (REAL)opt->beta2;
        const REAL root_c2 = R_SQRT(c2);
        const REAL lr_t = lr * root_c2 / c1, eps_t = (REAL)opt->eps * root_c2;
        for (p = 0; p < count; ++p) {
            const REAL gd = g[p] + decay * w[p];
            s0[p] = b1 * s0[p] + ((REAL)1 - b1) * gd;
            s1[p] = b2 * s1[p] + ((REAL)1 - b2) * gd * gd;
            w[p] -= lr_t * s0[p] / (R_SQRT(s1[p]) + eps_t);
        }
        break;
    }
    case PYBP_OPT_RMSPROP: {
        /* v <- rho v + (1-rho) gd^2;  w -= lr gd / (sqrt(v) + eps). */
        const REAL rho = (REAL)opt->rho, eps = (REAL)opt->eps;
        for (p = 0; p < count; ++p) {
            const REAL gd = g[p] + decay * w[p];
            s0[p] = rho * s0[p] + ((REAL)1 - rho) * gd * gd;
            w[p] -= lr * gd / (R_SQRT(s0[p]) + eps);
        }
        break;
    }
    case PYBP_OPT_ADAGRAD: {
        /* G <- G + gd^2;  w -= lr gd / (sqrt(G) + eps). */
        const REAL eps = (REAL)opt->eps;
        for (p = 0; p < count; ++p) {
            const REAL gd = g[p] + decay * w[p];
            s0[p] += gd * gd;
            w[p] -= lr * gd / (R_SQRT(s0[p]) + eps);
        }
        break;
    }
    case PYBP_OPT_RPROP: {
        /* iRPROP-: each weight has its own step size delta (s1).  While the
         * gradient keeps its sign the step grows by eta+, when it flips the
         * step shrinks by eta- and that gradient is forgotten (s0 = 0), so
         * the next update does not count a second flip.  Moves by the sign
         * only: w -= sign(gd) * delta. */
        const REAL up = (REAL)opt->eta_plus, down = (REAL)opt->eta_minus;
        const REAL dmin = (REAL)opt->delta_min, dmax = (REAL)opt->delta_max;
        for (p = 0; p < count; ++p) {
            REAL gd = g[p] + decay * w[p];
            REAL delta = opt->step == 0 ? (REAL)opt->delta0 : s1[p];
            const REAL sign_change = gd * s0[p];
            if (sign_change > 0) {
                delta = delta * up < dmax ? delta * up : dmax;
            } else if (sign_change < 0) {
                delta = delta * down > dmin ? delta * down : dmin;
                gd = 0;
            }
            if (gd > 0) w[p] -= delta;
            else if (gd < 0) w[p] += delta;
            s0[p] = gd;
            s1[p] = delta;
        }
        break;
    }
    case PYBP_OPT_QUICKPROP: {
        /* Fahlman's quickprop on the slope S = -gd (s0: previous slope,
         * s1: previous step).  Each weight jumps to the minimum of the
         * parabola through its last two slopes, S / (S_prev - S) * step,
         * capped at mu times the previous step; a gradient term lr * S is
         * added while the slope still points the way of the last step, and
         * is the whole step when there was none. */
        const REAL mu = (REAL)opt->mu, shrink = mu / ((REAL)1 + mu);
        for (p = 0; p < count; ++p) {
            const REAL S = -(g[p] + decay * w[p]);
            const REAL Sp = s0[p], prev = s1[p];
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
            s0[p] = S;
            s1[p] = step;
        }
        break;
    }
    default:
        break;
    }
}

void SFX(pybp_optim_step)(const pybp_net *net, pybp_optim *opt, REAL *params,
                          const REAL *grad, REAL *state, int train_biases)
{
    const REAL decay = (REAL)opt->weight_decay;
    const int slots = pybp_optim_state_slots(opt);
    const int64_t np = pybp_n_params(net);
    REAL *slot0 = slots > 0 ? state : NULL;
    REAL *slot1 = slots > 1 ? state + np : NULL;
    const double t = (double)(opt->step + 1);
    const REAL c1 = (REAL)(1.0 - pow(opt->beta1, t));
    const REAL c2 = (REAL)(1.0 - pow(opt->beta2, t));
    int l;
    for (l = 0; l < net->n_layers; ++l) {
        const int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];
        const int64_t wo = pybp_weight_offset(net, l);
        SFX(update_segment)(opt, params + wo, grad + wo,
                            slot0 ? slot0 + wo : NULL,
                            slot1 ? slot1 + wo : NULL, n_out * n_in, decay,
                            c1, c2);
        if (net->bias && train_biases) {
            const int64_t bo = pybp_bias_offset(net, l);
            SFX(update_segment)(opt, params + bo, grad + bo,
                                slot0 ? slot0 + bo : NULL,
                                slot1 ? slot1 + bo : NULL, n_out, (REAL)0,
                                c1, c2);
        }
    }
    opt->step += 1;
}

/* ---- batch and epoch drivers ------------------------------------------- */

/* sum_k w_k [sample k predicted right] for outputs o and targets t (n x m). */
static double SFX(count_correct)(const pybp_task *task, const REAL *o,
                                 const REAL *t, const REAL *sw, int64_t n,
                                 int64_t m)
{
    const REAL thr = (REAL)task->threshold;
    double correct = 0;
    int64_t k, j;
    if (task->metric == PYBP_METRIC_NONE) return 0;
    for (k = 0; k < n; ++k) {
        const REAL *ok = o + k * m, *tk = t + k * m;
        int right = 1;
        if (task->metric == PYBP_METRIC_ARGMAX) {
            int64_t io = 0, it = 0;
            for (j = 1; j < m; ++j) {
                if (ok[j] > ok[io]) io = j;
                if (tk[j] > tk[it]) it = j;
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

/*
 * Forward pass, losses, output deltas and the delta recurrence for one
 * contiguous batch; adds its loss, weight and correct sums into *stats and
 * returns its loss sum.
 */
static double SFX(batch_deltas)(const pybp_net *net, const REAL *params,
                                const REAL *x, const REAL *t, const REAL *sw,
                                int64_t n, const pybp_task *task, REAL *acts,
                                REAL *deltas, REAL *z_out, pybp_stats *stats)
{
    const int L = net->n_layers;
    const int64_t m = net->sizes[L];
    const int64_t out_off = n * (pybp_n_units(net) - m);
    double loss_sum, wsum = 0;
    int64_t k;
    SFX(pybp_forward)(net, params, x, n, acts, z_out);
    loss_sum = SFX(pybp_output_delta)(task->loss, net->act[L - 1],
                                      acts + out_off, z_out, t, sw, n, m,
                                      deltas + out_off);
    SFX(pybp_backward)(net, params, n, acts, deltas);
    if (sw) {
        for (k = 0; k < n; ++k) wsum += (double)sw[k];
    } else {
        wsum = (double)n;
    }
    stats->loss_sum += loss_sum;
    stats->weight_sum += wsum;
    stats->correct_sum += SFX(count_correct)(task, acts + out_off, t, sw, n, m);
    return loss_sum;
}

double SFX(pybp_batch_gradient)(const pybp_net *net, const REAL *params,
                                const REAL *x, const REAL *t, const REAL *sw,
                                int64_t n, int loss, REAL *acts, REAL *deltas,
                                REAL *z_out, REAL *grad, double *weight_sum)
{
    const int64_t np = pybp_n_params(net);
    pybp_task task = {0};
    pybp_stats stats = {0, 0, 0};
    double loss_sum;
    int64_t p;
    task.loss = loss;
    loss_sum = SFX(batch_deltas)(net, params, x, t, sw, n, &task, acts, deltas,
                                 z_out, &stats);
    for (p = 0; p < np; ++p) grad[p] = 0;
    if (stats.weight_sum > 0)
        SFX(pybp_accumulate_gradient)(net, x, n, acts, deltas, sw,
                                      1.0 / stats.weight_sum, grad);
    *weight_sum = stats.weight_sum;
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
    for (start = 0; start < n; start += batch) {
        const int64_t b = (n - start < batch) ? n - start : batch;
        const REAL *x = X + start * n_in, *t = T + start * m;
        const REAL *swk = sw ? sw + start : NULL;
        const REAL *o = acts + b * (units - m);
        double wsum = 0;
        int64_t k;
        SFX(pybp_forward)(net, params, x, b, acts, z_out);
        stats->loss_sum += SFX(pybp_output_delta)(task->loss, net->act[L - 1],
                                                  o, z_out, t, swk, b, m,
                                                  delta);
        if (swk) {
            for (k = 0; k < b; ++k) wsum += (double)swk[k];
        } else {
            wsum = (double)b;
        }
        stats->weight_sum += wsum;
        stats->correct_sum += SFX(count_correct)(task, o, t, swk, b, m);
    }
}

/* Gathered rows: dst[r, :] = src[idx[r], :] for r < n. */
static void SFX(gather_rows)(const REAL *src, const int64_t *idx, int64_t n,
                             int64_t width, REAL *dst)
{
    int64_t r, c;
    for (r = 0; r < n; ++r) {
        const REAL *s = src + idx[r] * width;
        REAL *d = dst + r * width;
        for (c = 0; c < width; ++c) d[c] = s[c];
    }
}

int64_t SFX(pybp_train_epoch)(const pybp_net *net, pybp_optim *opt,
                              REAL *params, REAL *state, const REAL *X,
                              const REAL *T, const REAL *sw,
                              const int64_t *order, int64_t n,
                              const pybp_task *task, REAL *work,
                              pybp_stats *stats, pybp_progress_fn progress,
                              void *ctx)
{
    const int L = net->n_layers;
    const int64_t n_in = net->sizes[0], m = net->sizes[L];
    const int64_t batch = task->batch;
    const int64_t units = pybp_n_units(net), np = pybp_n_params(net);
    const int full_batch = pybp_optim_full_batch(opt);
    /* Workspace carving; sizes match pybp_epoch_workspace_size. */
    REAL *acts = work;
    REAL *deltas = acts + batch * units;
    REAL *z_out = deltas + batch * units;
    REAL *xb = z_out + batch * m;
    REAL *tb = xb + batch * n_in;
    REAL *swb = tb + batch * m;
    REAL *grad = swb + batch;
    /* Report progress about every few million multiply-adds: the callback
     * then costs nothing next to the work, yet comes every millisecond or
     * so, often enough for a prompt Ctrl-C. */
    const double progress_work = 4.0e6;
    double work_since = 0, epoch_weight = 0;
    int64_t start, p;

    if (full_batch)
        for (p = 0; p < np; ++p) grad[p] = 0;
    for (start = 0; start < n; start += batch) {
        const int64_t b = (n - start < batch) ? n - start : batch;
        const int64_t *idx = order + start;
        const REAL *swk = NULL;
        const double weight_before = stats->weight_sum;
        double bl, bw;
        SFX(gather_rows)(X, idx, b, n_in, xb);
        SFX(gather_rows)(T, idx, b, m, tb);
        if (sw) {
            int64_t r;
            for (r = 0; r < b; ++r) swb[r] = sw[idx[r]];
            swk = swb;
        }
        bl = SFX(batch_deltas)(net, params, xb, tb, swk, b, task, acts, deltas,
                               z_out, stats);
        bw = stats->weight_sum - weight_before;
        if (!(bl - bl == 0)) /* NaN or infinity: this batch is not applied */
            return full_batch ? 0 : start;
        if (full_batch) {
            /* Sum of per-sample gradients; divided by the weight at the end. */
            SFX(pybp_accumulate_gradient)(net, xb, b, acts, deltas, swk, 1.0,
                                          grad);
            epoch_weight += bw;
        } else {
            for (p = 0; p < np; ++p) grad[p] = 0;
            if (bw > 0) {
                SFX(pybp_accumulate_gradient)(net, xb, b, acts, deltas, swk,
                                              1.0 / bw, grad);
                SFX(pybp_optim_step)(net, opt, params, grad, state,
                                     task->train_biases);
            }
        }
        work_since += (double)b * (double)np;
        if (progress && work_since >= progress_work) {
            work_since = 0;
            if (progress(ctx, start + b))
                return full_batch ? 0 : start + b;
        }
    }
    if (full_batch) {
        if (!(epoch_weight > 0)) return 0;
        for (p = 0; p < np; ++p) grad[p] = (REAL)(grad[p] / epoch_weight);
        SFX(pybp_optim_step)(net, opt, params, grad, state, task->train_biases);
    }
    return n;
}
