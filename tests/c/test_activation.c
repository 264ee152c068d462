/*
 * test_activation.c -- the fast set's array activations
 * (pybp_fast_activate_*, fast_kernels.h) for every variant this CPU runs:
 *   - accuracy: the largest error in ulps over a dense sweep of [-750, 750],
 *     a logarithmic sweep of small |z| (down to subnormals) and random
 *     points, against the long-double functions rounded to the precision
 *     (and, printed only, against the libm formula of the exact set);
 *     bounds ULP_BOUND_F64 / ULP_BOUND_F32 (docs/kernels.md);
 *   - edges: NaN -> NaN, +-inf, huge |z| (sigmoid exactly 0 or 1, tanh
 *     exactly +-1), -0.0, subnormals; relu, leaky_relu, identity exactly;
 *   - position independence: every element's bits are the same whatever
 *     the array's length and the element's offset, in place or not;
 *   - the dispatched pybp_fast_activate_* equals the selected variant's;
 *   - softmax rows (pybp_fast_softmax_*): accuracy against long double
 *     (bound SOFTMAX_ULP_BOUND), NaN/inf rows, -inf entries, a row's bits
 *     the same alone, inside a block at any row, and in place.
 * Exit status 0 when everything passes.  --quick: a coarser sweep.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fast_kernels.h"

#define ULP_BOUND_F64 2
#define ULP_BOUND_F32 2
/* exp within 2 ulps, a sum of up to 40 of them in order, and a division:
 * over the rows below, at most 6 ulps (AVX variants' exp) and 5 (libm's
 * exp, the generic variant's and the exact set's formula) */
#define SOFTMAX_ULP_BOUND 8

typedef pybp_fast_kernels variant;
static const variant all_variants[] = PYBP_FAST_ALL_KERNELS;

static int failures = 0;
#define FAIL(...) do { ++failures; if (failures < 30) { printf("FAIL: "); \
    printf(__VA_ARGS__); printf("\n"); } } while (0)

/* ---- ulps ---------------------------------------------------------------- */

/* Maps the bits of a double (float) to integers in the order of the values,
 * so that the ulp distance is a difference (-0 and +0 coincide). */
static int64_t order_f64(double x)
{
    int64_t i;
    memcpy(&i, &x, sizeof i);
    return i < 0 ? INT64_MIN - i : i;
}
static int64_t order_f32(float x)
{
    int32_t i;
    memcpy(&i, &x, sizeof i);
    return i < 0 ? (int64_t)INT32_MIN - i : i;
}
static double ulps_f64(double a, double b)
{
    if (a != a || b != b) return (a != a && b != b) ? 0 : 1e30;
    return fabs((double)(order_f64(a) - order_f64(b)));
}
static double ulps_f32(float a, float b)
{
    if (a != a || b != b) return (a != a && b != b) ? 0 : 1e30;
    return fabs((double)(order_f32(a) - order_f32(b)));
}

/* ---- references ---------------------------------------------------------- */

static long double sigmoid_ld(long double z)
{
    return z >= 0 ? 1.0L / (1.0L + expl(-z)) : expl(z) / (1.0L + expl(z));
}
/* the exact set's formulas (kernels_impl.h), libm in the working precision */
static double sigmoid_libm(double z)
{
    if (z >= 0) return 1.0 / (1.0 + exp(-z));
    return exp(z) / (1.0 + exp(z));
}
static float sigmoidf_libm(float z)
{
    if (z >= 0) return 1.0f / (1.0f + expf(-z));
    return expf(z) / (1.0f + expf(z));
}

/* ---- points -------------------------------------------------------------- */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double uniform(void) /* [0, 1) */
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (double)(rng >> 11) / 9007199254740992.0;
}

/* Fills pts with the sweep: [-750, 750] step `step`, +-2^(-1080..0) at
 * 64 points per octave, and random points in [-40, 40]; returns the count. */
static int64_t sweep(double *pts, int64_t cap, double step)
{
    int64_t n = 0, i;
    double x;
    for (x = -750.0; x <= 750.0 && n < cap; x += step) pts[n++] = x;
    for (i = 0; i < 1080 * 64 && n + 2 <= cap; ++i) {
        double v = pow(2.0, -(double)i / 64.0);
        pts[n++] = v;
        pts[n++] = -v;
    }
    for (i = 0; i < 200000 && n < cap; ++i) pts[n++] = 80.0 * uniform() - 40.0;
    return n;
}

/* ---- accuracy ------------------------------------------------------------ */

static void accuracy(const variant *v, int quick)
{
    const double step = quick ? 1.0 / 256.0 : 1.0 / 8192.0;
    const int64_t cap = (int64_t)(1500.0 / step) + 1080 * 128 + 200010;
    double *pts = malloc((size_t)cap * sizeof *pts);
    double *out = malloc((size_t)cap * sizeof *out);
    float *pf = malloc((size_t)cap * sizeof *pf);
    float *of = malloc((size_t)cap * sizeof *of);
    int64_t n, i;
    int act;
    if (!pts || !out || !pf || !of) { FAIL("out of memory"); return; }
    n = sweep(pts, cap, step);
    for (i = 0; i < n; ++i) pf[i] = (float)pts[i];
    for (act = 0; act <= 1; ++act) {
        const char *name = act ? "tanh" : "sigmoid";
        double w64 = 0, w32 = 0, l64 = 0, l32 = 0, at64 = 0, at32 = 0;
        v->activate_f64(act, pts, n, out);
        v->activate_f32(act, pf, n, of);
        for (i = 0; i < n; ++i) {
            long double z = pts[i], zf = pf[i];
            double r64 = act ? (double)tanhl(z) : (double)sigmoid_ld(z);
            float r32 = act ? (float)tanhl(zf) : (float)sigmoid_ld(zf);
            double e64 = ulps_f64(out[i], r64), e32 = ulps_f32(of[i], r32);
            double lib64 = act ? tanh(pts[i]) : sigmoid_libm(pts[i]);
            float lib32 = act ? tanhf(pf[i]) : sigmoidf_libm(pf[i]);
            if (e64 > w64) { w64 = e64; at64 = pts[i]; }
            if (e32 > w32) { w32 = e32; at32 = pf[i]; }
            if (ulps_f64(out[i], lib64) > l64) l64 = ulps_f64(out[i], lib64);
            if (ulps_f32(of[i], lib32) > l32) l32 = ulps_f32(of[i], lib32);
        }
        printf("  %-7s %-7s max ulps vs long double: f64 %.0f (at %.17g), "
               "f32 %.0f (at %.9g); vs libm formula: f64 %.0f, f32 %.0f "
               "[%lld points]\n", v->name, name, w64, at64, w32, at32, l64,
               l32, (long long)n);
        if (w64 > ULP_BOUND_F64)
            FAIL("%s %s f64: %.0f ulps at %.17g > %d", v->name, name, w64,
                 at64, ULP_BOUND_F64);
        if (w32 > ULP_BOUND_F32)
            FAIL("%s %s f32: %.0f ulps at %.9g > %d", v->name, name, w32,
                 at32, ULP_BOUND_F32);
    }
    free(pts); free(out); free(pf); free(of);
}

/* ---- edges --------------------------------------------------------------- */

static int same_f64(double a, double b)
{
    return (a != a && b != b) || memcmp(&a, &b, sizeof a) == 0;
}
static int same_f32(float a, float b)
{
    return (a != a && b != b) || memcmp(&a, &b, sizeof a) == 0;
}

static void edges(const variant *v)
{
    const double inf = HUGE_VAL, nan_ = nan("");
    /* z, sigmoid(z), tanh(z): exact expectations */
    static const double big[] = {
        19.5, 20.0, 40.0, 100.0, 709.0, 710.0, 745.5, 750.0, 1e10, 1e300,
        DBL_MAX};
    double z[4], o[4];
    float zf[4], of[4];
    size_t i;
    z[0] = nan_; z[1] = inf; z[2] = -inf; z[3] = -0.0;
    v->activate_f64(PYBP_FAST_ACT_SIGMOID, z, 4, o);
    if (!(o[0] != o[0] && o[1] == 1.0 && o[2] == 0.0 && o[3] == 0.5))
        FAIL("%s sigmoid f64 of nan, inf, -inf, -0: %g %g %g %g", v->name,
             o[0], o[1], o[2], o[3]);
    v->activate_f64(PYBP_FAST_ACT_TANH, z, 4, o);
    if (!(o[0] != o[0] && o[1] == 1.0 && o[2] == -1.0 && o[3] == 0.0 &&
          signbit(o[3])))
        FAIL("%s tanh f64 of nan, inf, -inf, -0: %g %g %g %g", v->name,
             o[0], o[1], o[2], o[3]);
    for (i = 0; i < 4; ++i) zf[i] = (float)z[i];
    v->activate_f32(PYBP_FAST_ACT_SIGMOID, zf, 4, of);
    if (!(of[0] != of[0] && of[1] == 1.0f && of[2] == 0.0f && of[3] == 0.5f))
        FAIL("%s sigmoid f32 of nan, inf, -inf, -0", v->name);
    v->activate_f32(PYBP_FAST_ACT_TANH, zf, 4, of);
    if (!(of[0] != of[0] && of[1] == 1.0f && of[2] == -1.0f &&
          of[3] == 0.0f && signbit(of[3])))
        FAIL("%s tanh f32 of nan, inf, -inf, -0", v->name);
    /* +0 stays +0 under tanh */
    z[0] = 0.0;
    v->activate_f64(PYBP_FAST_ACT_TANH, z, 1, o);
    if (!(o[0] == 0.0 && !signbit(o[0]))) FAIL("%s tanh(+0)", v->name);
    for (i = 0; i < sizeof big / sizeof big[0]; ++i) {
        double s[2], t[2], zz[2];
        zz[0] = big[i]; zz[1] = -big[i];
        v->activate_f64(PYBP_FAST_ACT_TANH, zz, 2, t);
        if (t[0] != 1.0 || t[1] != -1.0)
            FAIL("%s tanh f64(+-%g) = %.17g %.17g", v->name, big[i], t[0],
                 t[1]);
        if (big[i] >= 709.0) {
            v->activate_f64(PYBP_FAST_ACT_SIGMOID, zz, 2, s);
            if (s[0] != 1.0 || !(s[1] >= 0.0 && s[1] <= DBL_MIN))
                FAIL("%s sigmoid f64(+-%g) = %.17g %.17g", v->name, big[i],
                     s[0], s[1]);
            if (big[i] >= 746.0 && s[1] != 0.0)
                FAIL("%s sigmoid f64(-%g) = %g, not 0", v->name, big[i], s[1]);
        }
        if (big[i] <= FLT_MAX) {
            float sf[2], tf[2], zzf[2];
            zzf[0] = (float)big[i]; zzf[1] = -(float)big[i];
            v->activate_f32(PYBP_FAST_ACT_TANH, zzf, 2, tf);
            if (tf[0] != 1.0f || tf[1] != -1.0f)
                FAIL("%s tanh f32(+-%g)", v->name, big[i]);
            v->activate_f32(PYBP_FAST_ACT_SIGMOID, zzf, 2, sf);
            if (big[i] >= 20.0 && sf[0] != 1.0f)
                FAIL("%s sigmoid f32(%g) = %.9g", v->name, big[i], sf[0]);
            if (big[i] >= 104.0 && sf[1] != 0.0f)
                FAIL("%s sigmoid f32(-%g) = %g, not 0", v->name, big[i],
                     sf[1]);
        }
    }
    /* subnormal inputs: tanh(z) = z, sigmoid(z) = 1/2 */
    z[0] = 4.9406564584124654e-324; z[1] = -z[0];
    z[2] = DBL_MIN / 3; z[3] = -DBL_MIN / 7;
    v->activate_f64(PYBP_FAST_ACT_TANH, z, 4, o);
    for (i = 0; i < 4; ++i)
        if (!same_f64(o[i], z[i])) FAIL("%s tanh f64(%g) = %g", v->name,
                                        z[i], o[i]);
    v->activate_f64(PYBP_FAST_ACT_SIGMOID, z, 4, o);
    for (i = 0; i < 4; ++i)
        if (o[i] != 0.5) FAIL("%s sigmoid f64(%g) = %.17g", v->name, z[i], o[i]);
    for (i = 0; i < 4; ++i) zf[i] = (float)((i & 1) ? -1 : 1) * FLT_MIN / (float)(i + 2);
    v->activate_f32(PYBP_FAST_ACT_TANH, zf, 4, of);
    for (i = 0; i < 4; ++i)
        if (!same_f32(of[i], zf[i])) FAIL("%s tanh f32(%g) = %g", v->name,
                                          zf[i], of[i]);
    /* the elementary ones, exactly */
    z[0] = -2.5; z[1] = 3.0; z[2] = -0.0; z[3] = nan_;
    v->activate_f64(PYBP_FAST_ACT_RELU, z, 4, o);
    if (!(o[0] == 0 && o[1] == 3.0 && o[2] == 0 && o[3] == 0))
        FAIL("%s relu f64", v->name);
    v->activate_f64(PYBP_FAST_ACT_LEAKY_RELU, z, 4, o);
    if (!(o[0] == 0.01 * -2.5 && o[1] == 3.0 && o[2] == 0 && o[3] != o[3]))
        FAIL("%s leaky_relu f64", v->name);
    v->activate_f64(PYBP_FAST_ACT_IDENTITY, z, 4, o);
    for (i = 0; i < 4; ++i)
        if (!same_f64(o[i], z[i])) FAIL("%s identity f64", v->name);
    for (i = 0; i < 4; ++i) zf[i] = (float)z[i];
    v->activate_f32(PYBP_FAST_ACT_LEAKY_RELU, zf, 4, of);
    if (!(of[0] == (float)0.01 * -2.5f && of[1] == 3.0f && of[3] != of[3]))
        FAIL("%s leaky_relu f32", v->name);
    v->activate_f32(PYBP_FAST_ACT_SOFTMAX, zf, 4, of);
    for (i = 0; i < 4; ++i)
        if (!same_f32(of[i], zf[i])) FAIL("%s softmax(copy) f32", v->name);
}

/* ---- position independence ----------------------------------------------- */

#define PN 37
static void positions(const variant *v)
{
    double z[PN], ref[PN], o[PN + 8], buf[PN + 8];
    float zf[PN], reff[PN], of[PN + 16];
    int act, len, off, i;
    for (i = 0; i < PN; ++i) {
        z[i] = 30.0 * uniform() - 15.0;
        zf[i] = (float)z[i];
    }
    for (act = 0; act <= 4; ++act) {
        for (i = 0; i < PN; ++i) { /* one element at a time */
            v->activate_f64(act, z + i, 1, ref + i);
            v->activate_f32(act, zf + i, 1, reff + i);
        }
        for (len = 0; len <= PN; ++len)
            for (off = 0; off < 8 && off + len <= PN; ++off) {
                for (i = 0; i < PN + 8; ++i) o[i] = -7.0;
                v->activate_f64(act, z + off, len, o + 1);
                for (i = 0; i < len; ++i)
                    if (!same_f64(o[1 + i], ref[off + i]))
                        FAIL("%s act %d f64 len %d off %d elem %d differs",
                             v->name, act, len, off, i);
                if (o[0] != -7.0 || o[1 + len] != -7.0)
                    FAIL("%s act %d f64 len %d wrote outside", v->name, act,
                         len);
                memcpy(buf, z + off, (size_t)len * sizeof *buf);
                v->activate_f64(act, buf, len, buf); /* in place */
                for (i = 0; i < len; ++i)
                    if (!same_f64(buf[i], ref[off + i]))
                        FAIL("%s act %d f64 in place len %d differs", v->name,
                             act, len);
                for (i = 0; i < PN + 16; ++i) of[i] = -7.0f;
                v->activate_f32(act, zf + off, len, of + 1);
                for (i = 0; i < len; ++i)
                    if (!same_f32(of[1 + i], reff[off + i]))
                        FAIL("%s act %d f32 len %d off %d elem %d differs",
                             v->name, act, len, off, i);
                if (of[0] != -7.0f || of[1 + len] != -7.0f)
                    FAIL("%s act %d f32 len %d wrote outside", v->name, act,
                         len);
            }
    }
    v->activate_f64(PYBP_FAST_ACT_SIGMOID, z, -3, o); /* no-op */
}

/* ---- one element alone is a vector lane ------------------------------------ */

/* Over the whole sweep and the special values, each element activated
 * alone (the scalar path of a vector variant: a tail, a small layer) has
 * the bits it has inside a full-length call (whole vectors). */
static void scalar_is_a_lane(const variant *v, int quick)
{
    static const double special[] = {
        0.0, -0.0, 1e-300, -1e-300, 4.9e-324, -4.9e-324, 745.0, -745.0,
        746.0, -746.0, 746.5, -746.5, 103.9, -103.9, 104.0, -104.0, 104.5,
        -104.5, 30.0, -30.0, 60.0, -60.0, 1e30, -1e30, 0.5, -0.5};
    const double step = quick ? 1.0 / 64.0 : 1.0 / 1024.0;
    const int64_t ns = (int64_t)(sizeof special / sizeof special[0]);
    const int64_t cap = (int64_t)(1500.0 / step) + 1080 * 128 + 200010 + ns + 3;
    double *pts = malloc((size_t)cap * sizeof *pts);
    double *out = malloc((size_t)cap * sizeof *out);
    float *pf = malloc((size_t)cap * sizeof *pf);
    float *of = malloc((size_t)cap * sizeof *of);
    int64_t n, i, bad64 = 0, bad32 = 0;
    int act;
    if (!pts || !out || !pf || !of) { FAIL("out of memory"); return; }
    n = sweep(pts, cap - ns - 3, step);
    for (i = 0; i < ns; ++i) pts[n++] = special[i];
    pts[n++] = INFINITY;
    pts[n++] = -INFINITY;
    pts[n++] = NAN;
    for (i = 0; i < n; ++i) pf[i] = (float)pts[i];
    for (act = 0; act <= 1; ++act) {
        v->activate_f64(act, pts, n - n % 8, out); /* whole vectors */
        v->activate_f32(act, pf, n - n % 16, of);
        for (i = 0; i < n - n % 16; ++i) {
            double a;
            float af;
            v->activate_f64(act, pts + i, 1, &a);
            v->activate_f32(act, pf + i, 1, &af);
            if (!same_f64(a, out[i]) && bad64++ < 5)
                FAIL("%s act %d f64 alone %.17g != lane %.17g at z = %.17g",
                     v->name, act, a, out[i], pts[i]);
            if (!same_f32(af, of[i]) && bad32++ < 5)
                FAIL("%s act %d f32 alone %.9g != lane %.9g at z = %.9g",
                     v->name, act, (double)af, (double)of[i], (double)pf[i]);
        }
    }
    printf("  %-7s one element alone = its vector lane: %lld points, "
           "%lld + %lld differ\n", v->name, (long long)(n - n % 16),
           (long long)bad64, (long long)bad32);
    free(pts); free(out); free(pf); free(of);
}

/* ---- softmax rows ---------------------------------------------------------- */

#define SM_ROWS 64
#define SM_MAXM 40
static const int sm_widths[] = {1, 2, 3, 7, 10, 16, 17, 33, 40};

/* The reference, from the kernel's own differences z - max z rounded to
 * the precision (f32: z holds floats): that rounding is the formula's (a
 * difference of 800 carries 800 ulp(1) of absolute error into exp), the
 * rest -- exp, the sum, the division -- is the kernel's. */
static void softmax_ld(const double *z, int m, int f32, long double *out)
{
    long double sum = 0;
    double zmax = z[0];
    int j;
    for (j = 1; j < m; ++j) if (z[j] > zmax) zmax = z[j];
    for (j = 0; j < m; ++j) {
        const double d = f32 ? (double)(float)((float)z[j] - (float)zmax)
                             : z[j] - zmax;
        sum += out[j] = expl((long double)d);
    }
    for (j = 0; j < m; ++j) out[j] /= sum;
}

static void softmax_checks(const variant *v)
{
    static double z[SM_ROWS * SM_MAXM], o[SM_ROWS * SM_MAXM + 2],
        alone[SM_MAXM], buf[SM_ROWS * SM_MAXM];
    static float zf[SM_ROWS * SM_MAXM], of[SM_ROWS * SM_MAXM + 2],
        alonef[SM_MAXM];
    long double ref[SM_MAXM];
    double w64 = 0, w32 = 0;
    size_t wi;
    int k, j;
    for (wi = 0; wi < sizeof sm_widths / sizeof sm_widths[0]; ++wi) {
        const int m = sm_widths[wi];
        for (k = 0; k < SM_ROWS; ++k)
            for (j = 0; j < m; ++j) {
                /* rows of small and of wide spread (values far below the
                 * row maximum underflow to 0 or to subnormals) */
                const double spread = k % 4 == 3 ? 1600.0 : k % 4 == 2 ? 200.0 : 30.0;
                z[k * m + j] = spread * uniform() - spread / 2;
                zf[k * m + j] = (float)z[k * m + j];
            }
        o[SM_ROWS * m] = of[SM_ROWS * m] = -7;
        v->softmax_f64(z, SM_ROWS, m, o);
        v->softmax_f32(zf, SM_ROWS, m, of);
        if (o[SM_ROWS * m] != -7 || of[SM_ROWS * m] != -7)
            FAIL("%s softmax m %d wrote past the block", v->name, m);
        for (k = 0; k < SM_ROWS; ++k) {
            double zr[SM_MAXM];
            for (j = 0; j < m; ++j) zr[j] = zf[k * m + j];
            softmax_ld(z + k * m, m, 0, ref);
            for (j = 0; j < m; ++j) {
                const double e = ulps_f64(o[k * m + j], (double)ref[j]);
                if (e > w64) w64 = e;
            }
            softmax_ld(zr, m, 1, ref);
            for (j = 0; j < m; ++j) {
                const double e = ulps_f32(of[k * m + j], (float)ref[j]);
                if (e > w32) w32 = e;
            }
            /* the row alone: the same bits */
            v->softmax_f64(z + k * m, 1, m, alone);
            v->softmax_f32(zf + k * m, 1, m, alonef);
            for (j = 0; j < m; ++j) {
                if (!same_f64(alone[j], o[k * m + j]))
                    FAIL("%s softmax f64 m %d row %d alone differs", v->name,
                         m, k);
                if (!same_f32(alonef[j], of[k * m + j]))
                    FAIL("%s softmax f32 m %d row %d alone differs", v->name,
                         m, k);
            }
        }
        /* in place, and a block starting at another row */
        memcpy(buf, z, (size_t)(SM_ROWS * m) * sizeof *buf);
        v->softmax_f64(buf, SM_ROWS, m, buf);
        for (j = 0; j < SM_ROWS * m; ++j)
            if (!same_f64(buf[j], o[j]))
                FAIL("%s softmax f64 m %d in place differs", v->name, m);
        v->softmax_f64(z + 5 * m, SM_ROWS - 5, m, buf);
        for (j = 0; j < (SM_ROWS - 5) * m; ++j)
            if (!same_f64(buf[j], o[5 * m + j]))
                FAIL("%s softmax f64 m %d from row 5 differs", v->name, m);
    }
    printf("  %-7s softmax max ulps vs long double: f64 %.0f, f32 %.0f\n",
           v->name, w64, w32);
    if (w64 > SOFTMAX_ULP_BOUND || w32 > SOFTMAX_ULP_BOUND)
        FAIL("%s softmax: %.0f / %.0f ulps > %d", v->name, w64, w32,
             SOFTMAX_ULP_BOUND);
    {
        /* rows: a NaN; +inf; all -inf; a -inf entry; one value; a row of
         * equal values */
        static const double rows[6][4] = {
            {1.0, NAN, 0.5, 2.0}, {1.0, 2.0, INFINITY, 0.0},
            {-INFINITY, -INFINITY, -INFINITY, -INFINITY},
            {0.5, -INFINITY, 1.5, -2.0}, {3.0, 0, 0, 0}, {7.0, 7.0, 7.0, 7.0}};
        double r[4], out[4];
        float rf[4], outf[4];
        int i;
        for (i = 0; i < 6; ++i) {
            const int m = i == 4 ? 1 : 4;
            for (j = 0; j < 4; ++j) { r[j] = rows[i][j]; rf[j] = (float)r[j]; }
            v->softmax_f64(r, 1, m, out);
            v->softmax_f32(rf, 1, m, outf);
            for (j = 0; j < m; ++j) {
                const int nan_row = i <= 2;
                if (nan_row ? !(out[j] != out[j] && outf[j] != outf[j])
                            : (out[j] != out[j] || outf[j] != outf[j]))
                    FAIL("%s softmax special row %d elem %d: %g %g", v->name,
                         i, j, out[j], (double)outf[j]);
            }
        }
        v->softmax_f64(rows[3], 1, 4, out);
        if (out[1] != 0.0) FAIL("%s softmax of -inf entry: %g", v->name, out[1]);
        v->softmax_f64(rows[4], 1, 1, out);
        if (out[0] != 1.0) FAIL("%s softmax of one value: %g", v->name, out[0]);
        v->softmax_f64(rows[5], 1, 4, out);
        for (j = 0; j < 4; ++j)
            if (out[j] != 0.25) FAIL("%s softmax of equal values: %g", v->name, out[j]);
        v->softmax_f64(rows[0], 0, 4, out); /* no-ops */
        v->softmax_f64(rows[0], 2, 0, out);
    }
}

static int runnable(const variant *v) { return pybp_fast_runnable(v->name); }

int main(int argc, char **argv)
{
    /* --quick: a coarser sweep; --variant NAME: that variant only */
    int quick = 0, i;
    const char *only = NULL;
    size_t vi;
    for (i = 1; i < argc; ++i) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--variant") == 0 && i + 1 < argc) only = argv[++i];
    }
    for (vi = 0; vi < sizeof all_variants / sizeof all_variants[0]; ++vi) {
        const variant *v = &all_variants[vi];
        if (only && strcmp(v->name, only) != 0) continue;
        if (!runnable(v)) {
            printf("  %s: not runnable on this CPU, skipped\n", v->name);
            continue;
        }
        accuracy(v, quick);
        edges(v);
        positions(v);
        scalar_is_a_lane(v, quick);
        softmax_checks(v);
        /* the dispatched entry point follows the selection */
        if (pybp_fast_select(v->name) != 0) {
            FAIL("cannot select %s", v->name);
        } else {
            double z[5] = {-3.0, -0.5, 0.25, 2.0, 9.0}, a[5], b[5];
            v->activate_f64(PYBP_FAST_ACT_TANH, z, 5, a);
            pybp_fast_activate_f64(PYBP_FAST_ACT_TANH, z, 5, b);
            for (i = 0; i < 5; ++i)
                if (!same_f64(a[i], b[i])) FAIL("dispatch != %s", v->name);
            v->softmax_f64(z, 1, 5, a);
            pybp_fast_softmax_f64(z, 1, 5, b);
            for (i = 0; i < 5; ++i)
                if (!same_f64(a[i], b[i]))
                    FAIL("softmax dispatch != %s", v->name);
        }
    }
    if (failures) {
        printf("test_activation: %d FAILED\n", failures);
        return 1;
    }
    printf("test_activation: all passed\n");
    return 0;
}
