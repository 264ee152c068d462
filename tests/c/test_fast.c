/*
 * test_fast.c -- the fast kernels (csrc/fast_kernels.h) against a naive
 * reference summed in long double, for every variant this CPU runs, both
 * precisions, every activation, edge sizes; bit-identical results for 1 to
 * 4 threads (the threaded runs in a workspace of NaN bytes, which shows any
 * read of unwritten workspace), also when a helper's or every thread's
 * private pack scratch cannot be had (the wrapper below); a forward row's bits the same in any batch
 * (narrow, blocked and small-row paths); the per-sample step against the
 * variant's forward_row and a written-out update; the argument checks.
 * Exit status 0 when everything passes.
 *
 * Tolerance: for an output whose exact value is y and whose terms have
 * absolute sum S (e.g. S = sum_i |x_i w_ij| + |b_j| in the forward product),
 * |fast - y| <= tol * (S + |y|), tol = 1e-12 (double) and 2e-6 (float), or
 * K * eps with K the sum's length, whichever is larger.
 */
#define _POSIX_C_SOURCE 200112L /* pthread_self */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fast_kernels.h"
#include "threads.h"

typedef pybp_fast_kernels variant;
static const variant all_variants[] = PYBP_FAST_ALL_KERNELS;

static int failures = 0, checks = 0;
static double worst[2][3]; /* [f32?][op]: largest error / allowance */

#define FAIL(...) do { ++failures; if (failures < 30) { printf("FAIL: "); \
    printf(__VA_ARGS__); printf("\n"); } } while (0)

/* ---- data ---------------------------------------------------------------- */

static uint64_t rng = 88172645463325252ull;
static double uniform(void) /* in [-1, 1), exactly a float */
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (double)(float)((double)(rng >> 11) / 4503599627370496.0 - 1.0);
}
static double *rand_vec(int64_t n)
{
    double *v = malloc((size_t)(n > 0 ? n : 1) * sizeof *v);
    int64_t i;
    for (i = 0; i < n; ++i) v[i] = uniform();
    return v;
}
static float *to_f32(const double *v, int64_t n)
{
    float *f = malloc((size_t)(n > 0 ? n : 1) * sizeof *f);
    int64_t i;
    for (i = 0; i < n; ++i) f[i] = (float)v[i];
    return f;
}
static void from_f32(double *d, const float *f, int64_t n)
{
    int64_t i;
    for (i = 0; i < n; ++i) d[i] = f[i];
}

/* ---- reference ------------------------------------------------------------ */

static long double act_ref(int act, long double z)
{
    switch (act) {
    case PYBP_FAST_ACT_SIGMOID: return 1.0L / (1.0L + expl(-z));
    case PYBP_FAST_ACT_TANH: return tanhl(z);
    case PYBP_FAST_ACT_RELU: return z > 0 ? z : 0;
    case PYBP_FAST_ACT_LEAKY_RELU: return z > 0 ? z : 0.01L * z;
    default: return z;
    }
}
/* A'(p) from a = A(p), rounded as the kernels compute it (in the working
 * precision: its rounding is part of the definition, not an error of the
 * product). */
static long double deriv_ref(int act, double a, int f32)
{
    if (f32) {
        float f = (float)a;
        switch (act) {
        case PYBP_FAST_ACT_SIGMOID: return f * (1.0f - f);
        case PYBP_FAST_ACT_TANH: return 1.0f - f * f;
        default: break;
        }
    } else {
        switch (act) {
        case PYBP_FAST_ACT_SIGMOID: return a * (1.0 - a);
        case PYBP_FAST_ACT_TANH: return 1.0 - a * a;
        default: break;
        }
    }
    switch (act) {
    case PYBP_FAST_ACT_SIGMOID: return a * (1 - a);
    case PYBP_FAST_ACT_TANH: return 1 - a * a;
    case PYBP_FAST_ACT_RELU: return a > 0 ? 1 : 0;
    case PYBP_FAST_ACT_LEAKY_RELU: return a > 0 ? 1 : 0.01L;
    default: return 1;
    }
}
/* activations a layer with `act` could have stored, from uniform u */
static double plausible_activation(int act, double u)
{
    switch (act) {
    case PYBP_FAST_ACT_SIGMOID: return (u + 1) / 2;
    case PYBP_FAST_ACT_RELU: return u > 0 ? u : 0;
    case PYBP_FAST_ACT_LEAKY_RELU: return u > 0 ? u : (double)(float)(0.01 * u);
    default: return u;
    }
}

static void check(int f32, int op, int64_t K, double got, long double ref,
                  long double S, const char *what, const char *vname,
                  int64_t n, int64_t ni, int64_t no, int act, int64_t idx)
{
    double tol = f32 ? 2e-6 : 1e-12;
    double keps = (double)K * (f32 ? 6e-8 : 1.2e-16);
    double allow, err = fabs((double)((long double)got - ref));
    if (keps > tol) tol = keps;
    allow = tol * (double)(S + fabsl(ref)) + (f32 ? 1e-37 : 1e-300);
    ++checks;
    if (!(err <= allow))
        FAIL("%s %s %s n=%lld n_in=%lld n_out=%lld act=%d [%lld]: got %.17g want %.17Lg (err %.3g > %.3g)",
             vname, f32 ? "f32" : "f64", what, (long long)n, (long long)ni,
             (long long)no, act, (long long)idx, got, ref, err, allow);
    if (err / allow > worst[f32][op]) worst[f32][op] = err / allow;
}

/* ---- one shape ------------------------------------------------------------ */

static const int ACTS[] = { 0, 1, 2, 3, 4, 5 };
#define N_ACTS 6

static void test_shape(const variant *v, int64_t n, int64_t ni, int64_t no)
{
    int64_t k, i, j, f32;
    double *X = rand_vec(n * ni), *W = rand_vec(no * ni), *b = rand_vec(no);
    double *D = rand_vec(n * no), *U = rand_vec(n * ni), *c = rand_vec(n);
    double *G0 = rand_vec(no * ni), *gb0 = rand_vec(no);
    long double *zref = malloc((size_t)(n * no + 1) * sizeof *zref);
    long double *zS = malloc((size_t)(n * no + 1) * sizeof *zS);
    long double *vref = malloc((size_t)(n * ni + 1) * sizeof *vref);
    long double *vS = malloc((size_t)(n * ni + 1) * sizeof *vS);
    double *Y = malloc((size_t)(n * no + 1) * sizeof *Y);
    double *Z = malloc((size_t)(n * no + 1) * sizeof *Z);
    double *Dp = malloc((size_t)(n * ni + 1) * sizeof *Dp);
    double *P = malloc((size_t)(n * ni + 1) * sizeof *P);
    double *G = malloc((size_t)(no * ni + 1) * sizeof *G);
    double *gb = malloc((size_t)(no + 1) * sizeof *gb);
    double scale = 1.0 / (double)(n > 0 ? n : 1);
    int a, rc;

    for (k = 0; k < n; ++k) c[k] = (c[k] + 1) / 2; /* weights >= 0 */
    for (k = 0; k < n; ++k)
        for (j = 0; j < no; ++j) {
            long double s = b[j], S = fabsl((long double)b[j]);
            for (i = 0; i < ni; ++i) {
                long double t = (long double)X[k * ni + i] * W[j * ni + i];
                s += t; S += fabsl(t);
            }
            zref[k * no + j] = s; zS[k * no + j] = S;
        }
    for (k = 0; k < n; ++k)
        for (i = 0; i < ni; ++i) {
            long double s = 0, S = 0;
            for (j = 0; j < no; ++j) {
                long double t = (long double)D[k * no + j] * W[j * ni + i];
                s += t; S += fabsl(t);
            }
            vref[k * ni + i] = s; vS[k * ni + i] = S;
        }

    for (f32 = 0; f32 < 2; ++f32) {
        float *fX = to_f32(X, n * ni), *fW = to_f32(W, no * ni),
              *fb = to_f32(b, no), *fD = to_f32(D, n * no),
              *fc = to_f32(c, n);
        float *fY = malloc((size_t)(n * no + 1) * 4), *fZ = malloc((size_t)(n * no + 1) * 4);
        float *fDp = malloc((size_t)(n * ni + 1) * 4), *fP = malloc((size_t)(n * ni + 1) * 4);
        float *fG = malloc((size_t)(no * ni + 1) * 4), *fgb = malloc((size_t)(no + 1) * 4);

        /* forward, every activation, with and without Z */
        for (a = 0; a < N_ACTS; ++a) {
            int act = ACTS[a], withZ = a % 2 == 0;
            if (f32) {
                rc = v->forward_f32(n, ni, no, fX, fW, fb, act, fY, withZ ? fZ : NULL, NULL, 0, 1);
                from_f32(Y, fY, n * no); from_f32(Z, fZ, n * no);
            } else {
                rc = v->forward_f64(n, ni, no, X, W, b, act, Y, withZ ? Z : NULL, NULL, 0, 1);
            }
            if (rc != PYBP_FAST_OK) FAIL("%s forward rc %d", v->name, rc);
            for (k = 0; k < n * no; ++k) {
                check((int)f32, 0, ni, Y[k], act_ref(act, zref[k]), zS[k], "forward Y", v->name, n, ni, no, act, k);
                if (withZ) check((int)f32, 0, ni, Z[k], zref[k], zS[k], "forward Z", v->name, n, ni, no, act, k);
            }
        }
        /* delta: every activation's derivative, and none */
        for (a = -1; a < 5; ++a) {
            int act = a < 0 ? PYBP_FAST_ACT_IDENTITY : ACTS[a];
            for (k = 0; k < n * ni; ++k) P[k] = plausible_activation(act, U[k]);
            if (f32) {
                for (k = 0; k < n * ni; ++k) fP[k] = (float)P[k];
                rc = v->delta_f32(n, ni, no, fD, fW, a < 0 ? NULL : fP, act, fDp, NULL, 0, 1);
                from_f32(Dp, fDp, n * ni);
            } else {
                rc = v->delta_f64(n, ni, no, D, W, a < 0 ? NULL : P, act, Dp, NULL, 0, 1);
            }
            if (rc != PYBP_FAST_OK) FAIL("%s delta rc %d", v->name, rc);
            for (k = 0; k < n * ni; ++k) {
                long double d = a < 0 ? 1 : deriv_ref(act, P[k], (int)f32);
                check((int)f32, 1, no, Dp[k], d * vref[k], vS[k] * fabsl(d), "delta", v->name, n, ni, no, act, k);
            }
        }
        /* gradient, with and without sample weights and bias */
        for (a = 0; a < 2; ++a) {
            const double *cw = a ? c : NULL;
            if (f32) {
                for (k = 0; k < no * ni; ++k) fG[k] = (float)G0[k];
                for (k = 0; k < no; ++k) fgb[k] = (float)gb0[k];
                rc = v->gradient_f32(n, ni, no, fD, fX, a ? fc : NULL, scale, fG, a ? fgb : NULL, NULL, 0, 1);
                from_f32(G, fG, no * ni); from_f32(gb, fgb, no);
            } else {
                memcpy(G, G0, (size_t)(no * ni) * sizeof *G);
                memcpy(gb, gb0, (size_t)no * sizeof *gb);
                rc = v->gradient_f64(n, ni, no, D, X, cw, scale, G, a ? gb : NULL, NULL, 0, 1);
            }
            if (rc != PYBP_FAST_OK) FAIL("%s gradient rc %d", v->name, rc);
            for (j = 0; j < no; ++j) {
                long double sb = 0, Sb = 0;
                for (i = 0; i < ni; ++i) {
                    long double s = 0, S = 0;
                    for (k = 0; k < n; ++k) {
                        long double t = (long double)(cw ? cw[k] : 1) * D[k * no + j] * X[k * ni + i];
                        s += t; S += fabsl(t);
                    }
                    check((int)f32, 2, n, G[j * ni + i], G0[j * ni + i] + scale * s,
                          fabsl((long double)G0[j * ni + i]) + scale * S, "gradient G", v->name, n, ni, no, a, j * ni + i);
                }
                for (k = 0; k < n; ++k) {
                    long double t = (long double)(cw ? cw[k] : 1) * D[k * no + j];
                    sb += t; Sb += fabsl(t);
                }
                if (a) check((int)f32, 2, n, gb[j], gb0[j] + scale * sb, fabsl((long double)gb0[j]) + scale * Sb,
                             "gradient gb", v->name, n, ni, no, a, j);
                else if (memcmp(&gb[j], &gb0[j], sizeof gb[j]) != 0 && !f32)
                    FAIL("gb written though NULL");
            }
        }
        free(fX); free(fW); free(fb); free(fD); free(fc); free(fY); free(fZ);
        free(fDp); free(fP); free(fG); free(fgb);
    }
    free(X); free(W); free(b); free(D); free(U); free(c); free(G0); free(gb0);
    free(zref); free(zS); free(vref); free(vS); free(Y); free(Z); free(Dp);
    free(P); free(G); free(gb);
}

/* ---- thread counts give identical bits ------------------------------------ */

/*
 * The build links this file with -Wl,--wrap=pybp_thread_pack_scratch, so
 * that the kernels' calls come here: pack_fail 1 refuses the block to every
 * thread but the main one (a helper's share is then redone by the caller),
 * 2 refuses it to every thread (the product then packs shared panels).
 */
static int pack_fail;
static long pack_refused[3];
static pthread_t main_thread;
#ifdef PYBP_TEST_WRAP
void *__real_pybp_thread_pack_scratch(size_t bytes);
void *__wrap_pybp_thread_pack_scratch(size_t bytes);
void *__wrap_pybp_thread_pack_scratch(size_t bytes)
{
    if (pack_fail == 2 ||
        (pack_fail == 1 && !pthread_equal(pthread_self(), main_thread))) {
        __atomic_fetch_add(&pack_refused[pack_fail], 1, __ATOMIC_RELAXED);
        return NULL;
    }
    return __real_pybp_thread_pack_scratch(bytes);
}
#endif

static void test_threads(const variant *v, int64_t n, int64_t ni, int64_t no)
{
    double *X = rand_vec(n * ni), *W = rand_vec(no * ni), *b = rand_vec(no);
    double *D = rand_vec(n * no), *P = rand_vec(n * ni), *c = rand_vec(n);
    float *fX = to_f32(X, n * ni), *fW = to_f32(W, no * ni), *fb = to_f32(b, no);
    float *fD = to_f32(D, n * no), *fP = to_f32(P, n * ni), *fc = to_f32(c, n);
    size_t sy = (size_t)(n * no), sd = (size_t)(n * ni), sg = (size_t)(no * ni);
    double *Y[2], *Dp[2], *G[2], *gb[2];
    float *fY[2], *fDp[2], *fG[2], *fgb[2];
    /* threaded runs use a workspace full of NaN bytes: any read of a byte
     * the kernel did not write would show in the result */
    size_t need = pybp_fast_forward_workspace(n, ni, no, 8), w2;
    unsigned char *ws;
    int t, s;
    w2 = pybp_fast_delta_workspace(n, ni, no, 8); if (w2 > need) need = w2;
    w2 = pybp_fast_gradient_workspace(n, ni, no, 8); if (w2 > need) need = w2;
    ws = malloc(need);
    for (s = 0; s < 2; ++s) {
        Y[s] = malloc(sy * 8); Dp[s] = malloc(sd * 8); G[s] = calloc(sg, 8); gb[s] = calloc((size_t)no, 8);
        fY[s] = malloc(sy * 4); fDp[s] = malloc(sd * 4); fG[s] = calloc(sg, 4); fgb[s] = calloc((size_t)no, 4);
    }
    for (t = 1; t <= 4 + 6; ++t) {
        /* t = 1..4: threads, then 2..4 threads again with pack_fail 1 and 2 */
        const int th = t <= 4 ? t : 2 + (t - 5) % 3;
        pack_fail = t <= 4 ? 0 : t <= 7 ? 1 : 2;
        s = t == 1 ? 0 : 1;
        memset(G[s], 0, sg * 8); memset(gb[s], 0, (size_t)no * 8);
        memset(fG[s], 0, sg * 4); memset(fgb[s], 0, (size_t)no * 4);
#define WS (t == 1 ? NULL : (memset(ws, 0xff, need), (void *)ws)), need, th
        v->forward_f64(n, ni, no, X, W, b, PYBP_FAST_ACT_TANH, Y[s], NULL, WS);
        v->delta_f64(n, ni, no, D, W, P, PYBP_FAST_ACT_TANH, Dp[s], WS);
        v->gradient_f64(n, ni, no, D, X, c, 0.5, G[s], gb[s], WS);
        v->forward_f32(n, ni, no, fX, fW, fb, PYBP_FAST_ACT_SIGMOID, fY[s], NULL, WS);
        v->delta_f32(n, ni, no, fD, fW, fP, PYBP_FAST_ACT_SIGMOID, fDp[s], WS);
        v->gradient_f32(n, ni, no, fD, fX, fc, 0.5, fG[s], fgb[s], WS);
#undef WS
        if (t > 1) {
            ++checks;
            if (memcmp(Y[0], Y[1], sy * 8) || memcmp(Dp[0], Dp[1], sd * 8) ||
                memcmp(G[0], G[1], sg * 8) || memcmp(gb[0], gb[1], (size_t)no * 8) ||
                memcmp(fY[0], fY[1], sy * 4) || memcmp(fDp[0], fDp[1], sd * 4) ||
                memcmp(fG[0], fG[1], sg * 4) || memcmp(fgb[0], fgb[1], (size_t)no * 4))
                FAIL("%s: %d threads (pack scratch refused: %d) differ from 1 thread (n=%lld n_in=%lld n_out=%lld)",
                     v->name, th, pack_fail, (long long)n, (long long)ni, (long long)no);
        }
    }
    pack_fail = 0;
    for (s = 0; s < 2; ++s) {
        free(Y[s]); free(Dp[s]); free(G[s]); free(gb[s]);
        free(fY[s]); free(fDp[s]); free(fG[s]); free(fgb[s]);
    }
    free(ws);
    free(X); free(W); free(b); free(D); free(P); free(c);
    free(fX); free(fW); free(fb); free(fD); free(fP); free(fc);
}

/* ---- a row's bits do not depend on its batch ------------------------------ */

/* The forward product of n rows equals, bit for bit, the product of each
 * row alone (the small-row path), whichever path -- narrow, blocked --
 * computes the batch; with and without Z, for the elementwise activations. */
static void test_rows_alone(const variant *v, int64_t n, int64_t ni, int64_t no)
{
    static const int acts[] = { PYBP_FAST_ACT_SIGMOID, PYBP_FAST_ACT_TANH,
                                PYBP_FAST_ACT_RELU, PYBP_FAST_ACT_IDENTITY };
    double *X = rand_vec(n * ni), *W = rand_vec(no * ni), *b = rand_vec(no);
    float *fX = to_f32(X, n * ni), *fW = to_f32(W, no * ni), *fb = to_f32(b, no);
    size_t sy = (size_t)(n * no);
    double *Y = malloc(sy * 8), *Z = malloc(sy * 8), *y1 = malloc(sy * 8), *z1 = malloc(sy * 8);
    float *fY = malloc(sy * 4), *fZ = malloc(sy * 4), *fy1 = malloc(sy * 4), *fz1 = malloc(sy * 4);
    int64_t r;
    size_t a;
    for (a = 0; a < sizeof acts / sizeof acts[0]; ++a) {
        int act = acts[a];
        v->forward_f64(n, ni, no, X, W, b, act, Y, Z, NULL, 0, 2);
        v->forward_f32(n, ni, no, fX, fW, fb, act, fY, fZ, NULL, 0, 2);
        for (r = 0; r < n; ++r) {
            v->forward_f64(1, ni, no, X + r * ni, W, b, act, y1 + r * no, z1 + r * no, NULL, 0, 1);
            v->forward_f32(1, ni, no, fX + r * ni, fW, fb, act, fy1 + r * no, fz1 + r * no, NULL, 0, 1);
        }
        ++checks;
        if (memcmp(Y, y1, sy * 8) || memcmp(Z, z1, sy * 8) ||
            memcmp(fY, fy1, sy * 4) || memcmp(fZ, fz1, sy * 4))
            FAIL("%s: forward of %lld rows differs from each row alone (n_in=%lld n_out=%lld act %d)",
                 v->name, (long long)n, (long long)ni, (long long)no, act);
        /* the one-row product (per-sample steps) is the same row again */
        for (r = 0; r < n; ++r) {
            v->forward_row_f64(ni, no, X + r * ni, W, b, act, y1 + r * no, z1 + r * no);
            v->forward_row_f32(ni, no, fX + r * ni, fW, fb, act, fy1 + r * no, fz1 + r * no);
        }
        ++checks;
        if (memcmp(Y, y1, sy * 8) || memcmp(Z, z1, sy * 8) ||
            memcmp(fY, fy1, sy * 4) || memcmp(fZ, fz1, sy * 4))
            FAIL("%s: forward_row differs from forward's row (n=%lld n_in=%lld n_out=%lld act %d)",
                 v->name, (long long)n, (long long)ni, (long long)no, act);
        if (ni > 0) { /* without z, and with no bias, too */
            v->forward_row_f64(ni, no, X, W, NULL, act, y1, NULL);
            v->forward_f64(1, ni, no, X, W, NULL, act, Y, NULL, NULL, 0, 1);
            ++checks;
            if (memcmp(Y, y1, (size_t)no * 8))
                FAIL("%s: forward_row without bias or z differs (n_in=%lld n_out=%lld)",
                     v->name, (long long)ni, (long long)no);
        }
    }
    free(X); free(W); free(b); free(fX); free(fW); free(fb);
    free(Y); free(Z); free(y1); free(z1); free(fY); free(fZ); free(fy1); free(fz1);
}

/* ---- arguments ------------------------------------------------------------ */

static void test_arguments(void)
{
    double X[6] = {1, 2, 3, 4, 5, 6}, W[6] = {1, 0, 0, 1, 1, 1}, Y[4], G[6];
    char ws[64];
    int rc;
    size_t need = pybp_fast_forward_workspace(2, 3, 2, sizeof(double));
    ++checks;
    if (pybp_fast_forward_f64(-1, 3, 2, X, W, NULL, 4, Y, NULL, NULL, 0, 1) != PYBP_FAST_EARG ||
        pybp_fast_delta_f64(2, -3, 2, X, W, NULL, 4, Y, NULL, 0, 1) != PYBP_FAST_EARG ||
        pybp_fast_gradient_f32(2, 3, -2, NULL, NULL, NULL, 1.0, NULL, NULL, NULL, 0, 1) != PYBP_FAST_EARG ||
        pybp_fast_forward_f64(2, 3, 2, NULL, W, NULL, 4, Y, NULL, NULL, 0, 1) != PYBP_FAST_EARG)
        FAIL("negative sizes or NULL operands not refused");
    Y[0] = 42;
    rc = pybp_fast_forward_f64(2, 3, 2, X, W, NULL, 4, Y, NULL, ws, sizeof ws, 1);
    ++checks;
    if (need <= sizeof ws || rc != PYBP_FAST_ESPACE || Y[0] != 42)
        FAIL("small workspace: rc %d, Y[0] %g, need %zu", rc, Y[0], need);
    {
        double *big = malloc(need);
        rc = pybp_fast_forward_f64(2, 3, 2, X, W, NULL, 4, Y, NULL, big, need, 1);
        ++checks;
        if (rc != 0 || Y[0] != 1 || Y[1] != 1 + 2 + 3 || Y[2] != 4 || Y[3] != 4 + 5 + 6)
            FAIL("forward with a given workspace: rc %d, Y = %g %g %g %g", rc, Y[0], Y[1], Y[2], Y[3]);
        free(big);
    }
    memset(G, 0, sizeof G);
    ++checks;
    if (pybp_fast_gradient_f64(0, 3, 2, NULL, NULL, NULL, 1.0, G, NULL, NULL, 0, 1) != 0 || G[0] != 0)
        FAIL("empty batch");
    ++checks;
    if (pybp_fast_select("no-such-variant") != -1 || pybp_fast_select(NULL) != 0 ||
        !pybp_fast_runnable(pybp_fast_active()))
        FAIL("variant selection");
}

/* ---- the per-sample step (sgd_sample) ------------------------------------ */

/*
 * sgd_sample against the variant's own forward_row, layer by layer, then
 * the loss, the output sensitivities and the update written out here in the
 * order fast_kernels.h states (sums over j in increasing order, no
 * contraction: this file is built with -ffp-contract=off, as csrc/): the
 * same bits, for every variant, both precisions.
 */
#define SGD_SAMPLE_TEST(REAL, P)                                              \
static void sgd_sample_ref_##P(const variant *v, const pybp_fast_net *net,   \
                               const pybp_fast_sgd *sgd, REAL *params,       \
                               const REAL *x, const REAL *t, double weight,  \
                               REAL c, int apply, REAL *acts, REAL *deltas,  \
                               double *loss)                                 \
{                                                                             \
    const int L = net->n_layers;                                              \
    const int64_t m = net->sizes[L];                                          \
    const REAL lr = (REAL)sgd->lr, decay = (REAL)sgd->decay, zero = 0;        \
    REAL sq = 0, e, gscale;                                                   \
    REAL *o = acts + net->u[L - 1], *dk = deltas + net->u[L - 1];             \
    int64_t i, j;                                                             \
    int l;                                                                    \
    for (l = 0; l < L; ++l)                                                   \
        v->forward_row_##P(net->sizes[l], net->sizes[l + 1],                  \
                           l ? acts + net->u[l - 1] : x, params + net->w[l],  \
                           net->bias ? params + net->b[l] : NULL,             \
                           net->act[l], acts + net->u[l], NULL);              \
    gscale = sgd->loss == PYBP_FAST_LOSS_SSE ? (REAL)2                        \
           : sgd->loss == PYBP_FAST_LOSS_MSE ? (REAL)2 / (REAL)m : (REAL)1;   \
    for (j = 0; j < m; ++j) {                                                 \
        const REAL d = o[j] - t[j];                                           \
        sq += d * d;                                                          \
        dk[j] = gscale * d;                                                   \
    }                                                                         \
    e = sgd->loss == PYBP_FAST_LOSS_SSE ? sq                                  \
      : sgd->loss == PYBP_FAST_LOSS_MSE ? sq / (REAL)m : (REAL)0.5 * sq;      \
    sgd_sample_deriv_##P(net->act[L - 1], o, m, dk);                          \
    *loss = 0.0 + weight * (double)e;                                         \
    if (!apply || !(*loss - *loss == 0)) return;                              \
    for (l = L - 1; l >= 0; --l) {                                            \
        const int64_t n_in = net->sizes[l], n_out = net->sizes[l + 1];        \
        REAL *W = params + net->w[l];                                         \
        const REAL *dc = deltas + net->u[l];                                  \
        const REAL *ap = l ? acts + net->u[l - 1] : x;                        \
        if (l) {                                                              \
            REAL *dp = deltas + net->u[l - 1];                                \
            for (i = 0; i < n_in; ++i) dp[i] = 0;                             \
            for (j = 0; j < n_out; ++j)                                       \
                for (i = 0; i < n_in; ++i) {                                  \
                    const REAL w = W[j * n_in + i];                           \
                    const REAL g = zero + (c * dc[j]) * ap[i];                \
                    dp[i] += w * dc[j];                                       \
                    W[j * n_in + i] = w - lr * (g + decay * w);               \
                }                                                             \
            sgd_sample_deriv_##P(net->act[l - 1], ap, n_in, dp);              \
        } else {                                                              \
            for (j = 0; j < n_out; ++j)                                       \
                for (i = 0; i < n_in; ++i) {                                  \
                    const REAL w = W[j * n_in + i];                           \
                    const REAL g = zero + (c * dc[j]) * ap[i];                \
                    W[j * n_in + i] = w - lr * (g + decay * w);               \
                }                                                             \
        }                                                                     \
        if (net->bias && sgd->train_biases)                                   \
            for (j = 0; j < n_out; ++j) {                                     \
                REAL *b = params + net->b[l];                                 \
                const REAL g = zero + c * dc[j];                              \
                b[j] = b[j] - lr * (g + zero * b[j]);                         \
            }                                                                 \
    }                                                                         \
}

/* delta *= A'(p) from a = A(p): relu zeroes where a <= 0 (fast_kernels.h) */
#define SGD_SAMPLE_DERIV(REAL, P)                                             \
static void sgd_sample_deriv_##P(int act, const REAL *a, int64_t n,          \
                                 REAL *delta)                                 \
{                                                                             \
    int64_t i;                                                                \
    for (i = 0; i < n; ++i) {                                                 \
        if (act == PYBP_FAST_ACT_SIGMOID) delta[i] *= a[i] * ((REAL)1 - a[i]);\
        else if (act == PYBP_FAST_ACT_TANH) delta[i] *= (REAL)1 - a[i] * a[i];\
        else if (act == PYBP_FAST_ACT_RELU) { if (!(a[i] > 0)) delta[i] = 0; }\
        else if (act == PYBP_FAST_ACT_LEAKY_RELU) {                           \
            if (!(a[i] > 0)) delta[i] *= (REAL)PYBP_FAST_LEAKY_SLOPE;         \
        }                                                                     \
    }                                                                         \
}
SGD_SAMPLE_DERIV(double, f64)
SGD_SAMPLE_DERIV(float, f32)
SGD_SAMPLE_TEST(double, f64)
SGD_SAMPLE_TEST(float, f32)

/* A test net and its SGD settings from a 0-terminated list of layer sizes
 * and a combination number: every hidden activation by turn (the output's
 * never softmax), with or without biases, each loss, frozen biases, decay;
 * np and units receive the parameter and unit counts. */
static void combo_net(const int64_t *shape, int combo, pybp_fast_net *net,
                      pybp_fast_sgd *sgd, int64_t *np, int64_t *units)
{
    int l, L = 0;
    while (shape[L + 1]) ++L;
    *np = 0;
    *units = 0;
    net->n_layers = L;
    net->bias = combo % 4 != 3;
    net->sizes[0] = shape[0];
    for (l = 0; l < L; ++l) {
        net->sizes[l + 1] = shape[l + 1];
        net->act[l] = (combo + 2 * l) % 5;
        net->w[l] = *np;
        net->b[l] = *np + net->sizes[l] * net->sizes[l + 1];
        *np += net->sizes[l] * net->sizes[l + 1] +
               (net->bias ? net->sizes[l + 1] : 0);
        net->u[l] = *units;
        *units += net->sizes[l + 1];
    }
    sgd->loss = combo % 3;
    sgd->train_biases = combo % 5 != 4;
    sgd->lr = 0.3;
    sgd->decay = combo % 2 ? 1e-2 : 0.0;
}

static void test_sgd_sample(const variant *v)
{
    static const int64_t shapes[][6] = {   /* layer sizes, 0-terminated */
        {2, 2, 2, 0}, {10, 4, 6, 8, 4, 0}, {5, 9, 3, 0}, {3, 1, 5, 2, 0},
        {40, 17, 9, 0}, {1, 1, 0}, {300, 3, 0}, {2, 2, 1, 0}};
    size_t s;
    int combo;
    for (s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
        for (combo = 0; combo < 24; ++combo) {
            pybp_fast_net net;
            pybp_fast_sgd sgd;
            int64_t np, units;
            int f32;
            double *p0, *x, *t;
            const double weight = combo % 3 == 2 ? 0.375 : 1.0;
            const double c = combo % 3 == 2 ? 1.0 / 0.375 * 0.375 : 1.0;
            const int apply = combo % 7 != 6;
            int L;
            combo_net(shapes[s], combo, &net, &sgd, &np, &units);
            L = net.n_layers;
            p0 = rand_vec(np);
            x = rand_vec(net.sizes[0]);
            t = rand_vec(net.sizes[L]);
            for (f32 = 0; f32 < 2; ++f32) {
                double loss_a, loss_b;
                int same;
                ++checks;
                if (!f32) {
                    double *pa = malloc((size_t)np * sizeof *pa);
                    double *pb = malloc((size_t)np * sizeof *pb);
                    double *aa = calloc((size_t)units, sizeof *aa);
                    double *ab = calloc((size_t)units, sizeof *ab);
                    double *da = calloc((size_t)units, sizeof *da);
                    double *db = calloc((size_t)units, sizeof *db);
                    memcpy(pa, p0, (size_t)np * sizeof *pa);
                    memcpy(pb, p0, (size_t)np * sizeof *pb);
                    loss_a = v->sgd_sample_f64(&net, &sgd, pa, x, t, weight,
                                               c, apply, aa, da);
                    sgd_sample_ref_f64(v, &net, &sgd, pb, x, t, weight, c,
                                       apply, ab, db, &loss_b);
                    same = memcmp(pa, pb, (size_t)np * sizeof *pa) == 0 &&
                           memcmp(aa, ab, (size_t)units * sizeof *aa) == 0 &&
                           memcmp(&loss_a, &loss_b, sizeof loss_a) == 0;
                    free(pa); free(pb); free(aa); free(ab); free(da); free(db);
                } else {
                    float *pa = to_f32(p0, np), *pb = to_f32(p0, np);
                    float *fx = to_f32(x, net.sizes[0]);
                    float *ft = to_f32(t, net.sizes[L]);
                    float *aa = calloc((size_t)units, sizeof *aa);
                    float *ab = calloc((size_t)units, sizeof *ab);
                    float *da = calloc((size_t)units, sizeof *da);
                    float *db = calloc((size_t)units, sizeof *db);
                    loss_a = v->sgd_sample_f32(&net, &sgd, pa, fx, ft, weight,
                                               (float)c, apply, aa, da);
                    sgd_sample_ref_f32(v, &net, &sgd, pb, fx, ft, weight,
                                       (float)c, apply, ab, db, &loss_b);
                    same = memcmp(pa, pb, (size_t)np * sizeof *pa) == 0 &&
                           memcmp(aa, ab, (size_t)units * sizeof *aa) == 0 &&
                           memcmp(&loss_a, &loss_b, sizeof loss_a) == 0;
                    free(pa); free(pb); free(fx); free(ft);
                    free(aa); free(ab); free(da); free(db);
                }
                if (!same)
                    FAIL("%s sgd_sample %s shape %d combo %d: not the "
                         "reference's bits", v->name, f32 ? "f32" : "f64",
                         (int)s, combo);
            }
            free(p0); free(x); free(t);
        }
}

/* ---- the tiny nets' step (tiny_*) ------------------------------------ */

/*
 * tiny_sgd on the packed parameters against sgd_sample on the plain
 * ones, step after step: the same parameters (unpacked), outputs and
 * losses, bit for bit; the packing's padding still zero; tiny_size zero
 * exactly where a net is not tiny.  For every variant with a tiny step.
 */
#define TINY_TEST(REAL, P, LANES)                                           \
static void tiny_case_##P(const variant *v, const pybp_fast_net *net,      \
                            const pybp_fast_sgd *sgd, const double *p0,      \
                            int64_t np, int64_t units, double weight,        \
                            double c, int apply, int nan_at, int s, int combo)\
{                                                                             \
    const int L = net->n_layers;                                              \
    const int64_t m = net->sizes[L];                                          \
    int64_t size = v->tiny_size_##P(net), i;                                \
    int fits = L <= PYBP_FAST_TINY_LAYERS &&                                \
               net->sizes[0] <= PYBP_FAST_TINY_INPUTS, l, k;                \
    REAL *pa, *pb, *acts, *deltas, *out, *Pk, *Pmem, *xs, *ts;               \
    for (l = 0; l < L; ++l)                                                   \
        if (net->sizes[l + 1] > 2 * (LANES) ||                                \
            net->act[l] == PYBP_FAST_ACT_SOFTMAX) fits = 0;                   \
    ++checks;                                                                 \
    if ((size > 0) != fits || size > PYBP_FAST_TINY_MAX) {                  \
        FAIL("%s tiny_size %s shape %d: %lld for a net that %s tiny",     \
             v->name, #P, s, (long long)size, fits ? "is" : "is not");        \
        return;                                                               \
    }                                                                         \
    if (!size) return;                                                        \
    pa = malloc((size_t)np * sizeof *pa);                                     \
    pb = malloc((size_t)np * sizeof *pb);                                     \
    acts = calloc((size_t)units, sizeof *acts);                               \
    deltas = calloc((size_t)units, sizeof *deltas);                           \
    out = calloc((size_t)m, sizeof *out);                                     \
    Pmem = malloc((size_t)(size + 8) * sizeof *Pmem);                         \
    Pk = (REAL *)(((uintptr_t)Pmem + 31) & ~(uintptr_t)31);                   \
    xs = malloc((size_t)(5 * net->sizes[0]) * sizeof *xs);                    \
    ts = malloc((size_t)(5 * m) * sizeof *ts);                                \
    for (i = 0; i < np; ++i) pa[i] = pb[i] = (REAL)p0[i];                     \
    for (i = 0; i < 5 * net->sizes[0]; ++i) xs[i] = (REAL)(2 * uniform());    \
    for (i = 0; i < 5 * m; ++i) ts[i] = (REAL)uniform();                      \
    if (nan_at >= 0) xs[nan_at * net->sizes[0]] = (REAL)NAN;                  \
    v->tiny_pack_##P(net, pa, Pk);                                          \
    v->tiny_unpack_##P(net, Pk, pb);                                        \
    ++checks;                                                                 \
    if (memcmp(pa, pb, (size_t)np * sizeof *pa) != 0)                         \
        FAIL("%s tiny pack/unpack %s shape %d: not the same values",        \
             v->name, #P, s);                                                 \
    for (k = 0; k < 5; ++k) {                                                 \
        const REAL *x = xs + k * net->sizes[0], *t = ts + k * m;              \
        double la = v->tiny_sgd_##P(net, sgd, Pk, x, t, weight, (REAL)c,    \
                                      apply, out);                            \
        double lb = v->sgd_sample_##P(net, sgd, pb, x, t, weight, (REAL)c,    \
                                      apply, acts, deltas);                   \
        ++checks;                                                             \
        v->tiny_unpack_##P(net, Pk, pa);                                    \
        if (memcmp(pa, pb, (size_t)np * sizeof *pa) != 0 ||                   \
            memcmp(out, acts + net->u[L - 1], (size_t)m * sizeof *out) != 0 ||\
            memcmp(&la, &lb, sizeof la) != 0)                                 \
            FAIL("%s tiny_sgd %s shape %d combo %d step %d: not "           \
                 "sgd_sample's bits", v->name, #P, s, combo, k);              \
    }                                                                         \
    {                                                                         \
        /* packed again from its own values, P is the same bytes: while   \
         * the parameters are finite, its padding is still pack's zeros      \
         * (a NaN input under a relu reaches the weights, not the loss) */    \
        REAL *Qmem = malloc((size_t)(size + 8) * sizeof *Qmem);               \
        REAL *Q = (REAL *)(((uintptr_t)Qmem + 31) & ~(uintptr_t)31);          \
        int finite = 1;                                                       \
        v->tiny_unpack_##P(net, Pk, pa);                                    \
        for (i = 0; i < np; ++i) if (!(pa[i] - pa[i] == 0)) finite = 0;       \
        v->tiny_pack_##P(net, pa, Q);                                       \
        ++checks;                                                             \
        if (finite && memcmp(Q, Pk, (size_t)size * sizeof *Q) != 0)           \
            FAIL("%s tiny %s shape %d combo %d: the padding is not zero "   \
                 "after the steps", v->name, #P, s, combo);                   \
        free(Qmem);                                                           \
    }                                                                         \
    free(pa); free(pb); free(acts); free(deltas); free(out); free(Pmem);      \
    free(xs); free(ts);                                                       \
}
TINY_TEST(double, f64, 4)
TINY_TEST(float, f32, 8)

static void test_tiny(const variant *v)
{
    static const int64_t shapes[][7] = {   /* layer sizes, 0-terminated */
        {2, 2, 2, 0}, {10, 4, 6, 8, 4, 0}, {3, 1, 5, 2, 0}, {1, 1, 0},
        {64, 8, 8, 8, 8, 0}, {7, 5, 3, 0}, {4, 16, 9, 2, 0}, {5, 9, 16, 0},
        {2, 17, 1, 0}, {65, 2, 0}, {2, 2, 2, 2, 2, 2, 0}, {6, 3, 3, 0}};
    size_t s;
    int combo;
    if (!v->tiny_size_f64) return; /* no tiny step in this variant */
    for (s = 0; s < sizeof shapes / sizeof shapes[0]; ++s)
        for (combo = 0; combo < 24; ++combo) {
            pybp_fast_net net;
            pybp_fast_sgd sgd;
            int64_t np, units;
            double *p0;
            const double weight = combo % 3 == 2 ? 0.375 : 1.0;
            const double c = combo % 3 == 2 ? 1.0 / 0.375 * 0.375 : 1.0;
            const int apply = combo % 7 != 6;
            combo_net(shapes[s], combo, &net, &sgd, &np, &units);
            if (s == sizeof shapes / sizeof shapes[0] - 1 && net.n_layers > 1)
                net.act[0] = PYBP_FAST_ACT_SOFTMAX; /* never tiny */
            p0 = rand_vec(np);
            tiny_case_f64(v, &net, &sgd, p0, np, units, weight, c, apply,
                            combo % 8 == 5 ? 2 : -1, (int)s, combo);
            tiny_case_f32(v, &net, &sgd, p0, np, units, weight, c, apply,
                            combo % 8 == 5 ? 2 : -1, (int)s, combo);
            free(p0);
        }
}

int main(int argc, char **argv)
{
    static const int64_t dims[] = {1, 2, 5, 7, 17, 63, 64, 65, 127, 784, 1024};
    static const int64_t combos[][3] = {
        {128, 784, 128}, {128, 128, 64}, {128, 64, 10}, {32, 64, 64},
        {65, 300, 257}, {1, 1, 1}, {300, 513, 3}, {256, 1024, 1024}};
    /* --quick: without the largest shape; --variant NAME: that variant only */
    int nd = (int)(sizeof dims / sizeof dims[0]), v, d, quick = 0;
    const char *only = NULL;
    size_t nv = sizeof all_variants / sizeof all_variants[0], q;

    main_thread = pthread_self();
    for (v = 1; v < argc; ++v) {
        if (strcmp(argv[v], "--quick") == 0) quick = 1;
        else if (strcmp(argv[v], "--variant") == 0 && v + 1 < argc) only = argv[++v];
    }
    for (q = 0; q < nv; ++q) {
        const variant *vr = &all_variants[q];
        if (only && strcmp(vr->name, only) != 0) continue;
        if (!pybp_fast_runnable(vr->name)) {
            printf("variant %s: not runnable on this CPU (or not compiled in), skipped\n", vr->name);
            continue;
        }
        for (d = 0; d < nd; ++d) {
            test_shape(vr, dims[d], 17, 7);
            test_shape(vr, 7, dims[d], 17);
            test_shape(vr, 17, 7, dims[d]);
        }
        for (v = 0; v < (int)(sizeof combos / sizeof combos[0]) - (quick ? 1 : 0); ++v)
            test_shape(vr, combos[v][0], combos[v][1], combos[v][2]);
        test_threads(vr, 128, 784, 128);
        test_threads(vr, 65, 300, 257);
        test_threads(vr, 256, 1024, 1024);
        test_threads(vr, 1000, 37, 11);
        {
            /* narrow (few outputs, or few weights; n_in up to the k block),
             * then blocked shapes, and row counts around the lane width */
            static const int64_t rows[][3] = {
                {1000, 10, 4}, {37, 14, 16}, {300, 64, 3}, {129, 256, 8},
                {17, 21, 8}, {9, 5, 7}, {4, 2, 2}, {600, 3, 1},
                {50, 257, 3}, {64, 64, 10}, {33, 100, 40}};
            size_t r;
            for (r = 0; r < sizeof rows / sizeof rows[0]; ++r)
                test_rows_alone(vr, rows[r][0], rows[r][1], rows[r][2]);
        }
        test_sgd_sample(vr);
        test_tiny(vr);
        printf("variant %s: tested\n", vr->name);
    }
    test_arguments();
    /* the refusals happened: the fallbacks ran */
#ifdef PYBP_TEST_WRAP
    ++checks;
    if (pack_refused[2] == 0)
        FAIL("the pack scratch was never refused to every thread: no fallback ran");
#else
    printf("built without --wrap (WRAP=): the pack scratch was never refused, "
           "its fallbacks were not tested\n");
#endif
    /* a helper claims a share only when the OS runs it in time */
    printf("pack scratch refused: to a helper %ld times, to every thread %ld\n",
           pack_refused[1], pack_refused[2]);
    printf("largest error / allowance: f64 forward %.3g delta %.3g gradient %.3g; "
           "f32 forward %.3g delta %.3g gradient %.3g\n",
           worst[0][0], worst[0][1], worst[0][2], worst[1][0], worst[1][1], worst[1][2]);
    printf("%d checks, %d failures\n", checks, failures);
    pybp_pool_shutdown();
    return failures != 0;
}
