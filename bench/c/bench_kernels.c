/*
 * bench_kernels.c -- GFLOP/s of the fast kernels on the layers of issue 9's
 * workloads, per variant, precision and thread count, against the measured
 * single-core FMA peak (peak_avx2.c).  The fastest of repeated timings:
 * on a shared machine the minimum is the closest to the unloaded figure.
 *
 *   bench/c/run.sh            (builds, then runs this)
 *
 * One "step" of a network is: forward of every layer, the delta product of
 * every layer but the first, and the weight gradient of every layer.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fast_kernels.h"
#include "threads.h"

double peak_fma_f64_avx2(int64_t iters);
double peak_fma_f32_avx2(int64_t iters);
double peak_fma_f64_avx512(int64_t iters);
double peak_fma_f32_avx512(int64_t iters);

static double cpu_now(void);

/* The single-core FMA peak of one vector width (0: 256-bit, 1: 512-bit), in
 * GFLOP/s: the fastest of 41 timings of 2,000,000 rounds of 12 FMAs. */
static double measure_peak(int wide, int f32)
{
    double (*fn)(int64_t) = wide ? (f32 ? peak_fma_f32_avx512 : peak_fma_f64_avx512)
                                 : (f32 ? peak_fma_f32_avx2 : peak_fma_f64_avx2);
    const int64_t it = 2000000;
    double best = 1e30, r = 0;
    int k;
    for (k = 0; k < 41; ++k) {
        double t0 = cpu_now(), dt;
        r += fn(it);
        dt = cpu_now() - t0;
        if (dt < best) best = dt;
    }
    {
        const double g = (double)it * 12 * 2 * (f32 ? 8 : 4) * (wide ? 2 : 1) / best / 1e9;
        printf("single-core FMA peak %s, %d-bit: %.1f GFLOP/s (checksum %g)\n",
               f32 ? "float32" : "float64", wide ? 512 : 256, g, r);
        return g;
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CPU time of the calling thread: on a machine shared with other jobs it
 * leaves out the time the OS gave to them, so one-thread figures (and the
 * peak) measure the code rather than the load. */
static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef pybp_fast_kernels variant;
static const variant variants[] = PYBP_FAST_ALL_KERNELS;

typedef struct net {
    const char *name;
    int n_layers;           /* sizes has n_layers + 1 entries */
    int sizes[5];
    int batch;
} net;

/* Buffers for one network in one precision (void * = float or double). */
typedef struct bufs {
    void *x, *w[4], *b[4], *a[5], *d[5], *g[4], *gb[4], *ws;
    size_t ws_bytes;
} bufs;

static void *rand_buf(size_t n, int f32)
{
    size_t i;
    void *p = malloc(n * (f32 ? 4 : 8) + 8);
    for (i = 0; i < n; ++i) {
        double v = (double)((i * 2654435761u) % 2001) / 1000.0 - 1.0;
        if (f32) ((float *)p)[i] = (float)(0.1 * v);
        else ((double *)p)[i] = 0.1 * v;
    }
    return p;
}

static void setup(const net *N, int f32, bufs *B)
{
    int l;
    size_t es = f32 ? 4 : 8, need = 0, s;
    B->a[0] = rand_buf((size_t)N->batch * N->sizes[0], f32);
    for (l = 0; l < N->n_layers; ++l) {
        int64_t ni = N->sizes[l], no = N->sizes[l + 1], n = N->batch;
        B->w[l] = rand_buf((size_t)(no * ni), f32);
        B->b[l] = rand_buf((size_t)no, f32);
        B->a[l + 1] = rand_buf((size_t)(n * no), f32);
        B->d[l + 1] = rand_buf((size_t)(n * no), f32);
        B->g[l] = rand_buf((size_t)(no * ni), f32);
        B->gb[l] = rand_buf((size_t)no, f32);
        s = pybp_fast_forward_workspace(n, ni, no, es); if (s > need) need = s;
        s = pybp_fast_delta_workspace(n, ni, no, es); if (s > need) need = s;
        s = pybp_fast_gradient_workspace(n, ni, no, es); if (s > need) need = s;
    }
    B->d[0] = rand_buf((size_t)N->batch * N->sizes[0], f32);
    B->ws = malloc(need);
    B->ws_bytes = need;
}

static void release(const net *N, bufs *B)
{
    int l;
    free(B->a[0]); free(B->d[0]); free(B->ws);
    for (l = 0; l < N->n_layers; ++l) {
        free(B->w[l]); free(B->b[l]); free(B->a[l + 1]); free(B->d[l + 1]);
        free(B->g[l]); free(B->gb[l]);
    }
}

/* op 0 forward, 1 delta, 2 gradient, over all layers; returns flops. */
static double run_op(const variant *v, const net *N, int f32, bufs *B, int op,
                     int threads)
{
    int l;
    double flops = 0;
    for (l = 0; l < N->n_layers; ++l) {
        int64_t ni = N->sizes[l], no = N->sizes[l + 1], n = N->batch;
        int act = l == N->n_layers - 1 ? PYBP_FAST_ACT_SOFTMAX : PYBP_FAST_ACT_RELU;
        if (op == 1 && l == 0) continue; /* no delta below the first layer */
        flops += 2.0 * (double)(n * ni * no);
        if (op == 0) {
            if (f32) v->forward_f32(n, ni, no, B->a[l], B->w[l], B->b[l], act, B->a[l + 1], NULL, B->ws, B->ws_bytes, threads);
            else v->forward_f64(n, ni, no, B->a[l], B->w[l], B->b[l], act, B->a[l + 1], NULL, B->ws, B->ws_bytes, threads);
        } else if (op == 1) {
            if (f32) v->delta_f32(n, ni, no, B->d[l + 1], B->w[l], B->a[l], PYBP_FAST_ACT_RELU, B->d[l], B->ws, B->ws_bytes, threads);
            else v->delta_f64(n, ni, no, B->d[l + 1], B->w[l], B->a[l], PYBP_FAST_ACT_RELU, B->d[l], B->ws, B->ws_bytes, threads);
        } else {
            if (f32) v->gradient_f32(n, ni, no, B->d[l + 1], B->a[l], NULL, 1.0 / (double)n, B->g[l], B->gb[l], B->ws, B->ws_bytes, threads);
            else v->gradient_f64(n, ni, no, B->d[l + 1], B->a[l], NULL, 1.0 / (double)n, B->g[l], B->gb[l], B->ws, B->ws_bytes, threads);
        }
    }
    return flops;
}

/* Fastest seconds of one call of run_op (repeated for about `budget` s):
 * wall-clock time, or with threads == 1 the caller's CPU time. */
static double time_op(const variant *v, const net *N, int f32, bufs *B,
                      int op, int threads, double budget, double *flops)
{
    double (*clock_fn)(void) = threads == 1 ? cpu_now : now;
    double t[41], t0, start;
    int reps = 0, inner = 1, i;
    *flops = run_op(v, N, f32, B, op, threads); /* warm-up */
    t0 = now();
    run_op(v, N, f32, B, op, threads);
    t0 = now() - t0;
    if (t0 < 2e-4) inner = (int)(2e-4 / (t0 > 1e-7 ? t0 : 1e-7)) + 1;
    start = now();
    while (reps < 41 && (reps < 5 || now() - start < budget)) {
        t0 = clock_fn();
        for (i = 0; i < inner; ++i) run_op(v, N, f32, B, op, threads);
        t[reps++] = (clock_fn() - t0) / inner;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    return t[0];
}

int main(int argc, char **argv)
{
    static const net nets[] = {
        {"784-128-64-10 b128", 3, {784, 128, 64, 10}, 128},
        {"1024-1024-1024-10 b256", 3, {1024, 1024, 1024, 10}, 256},
        {"64-64-10 b32", 2, {64, 64, 10}, 32},
    };
    static const char *ops[] = {"forward", "delta", "gradient"};
    double peak[2][2], budget = argc > 1 ? atof(argv[1]) : 0.3;
    int f32, q, k, op, th;

    /* [wide][f32]: each variant's rows against its own vector width's peak */
    for (f32 = 0; f32 < 2; ++f32) {
        peak[0][f32] = measure_peak(0, f32);
        peak[1][f32] = pybp_fast_runnable("avx512") ? measure_peak(1, f32) : 0;
    }
    printf("\n1 thread: CPU time of the thread; 2 threads: wall-clock time (the load of\n"
           "other jobs on the machine counts against it).  Fastest of repeated runs.\n");
    printf("\n| workload | dtype | variant | threads | forward GFLOP/s | delta | gradient | step | step %% of peak |\n");
    printf("|---|---|---|---|---|---|---|---|---|\n");
    for (k = 0; k < (int)(sizeof nets / sizeof nets[0]); ++k) {
        for (f32 = 1; f32 >= 0; --f32) {
            bufs B;
            if (k == 1 && !f32) continue; /* the 1024 net: float32 only */
            setup(&nets[k], f32, &B);
            for (q = 0; q < (int)(sizeof variants / sizeof variants[0]); ++q) {
                if (!pybp_fast_runnable(variants[q].name)) continue;
                for (th = 1; th <= 2; ++th) {
                    double g[3], tt = 0, ft = 0, fl;
                    for (op = 0; op < 3; ++op) {
                        double t = time_op(&variants[q], &nets[k], f32, &B, op, th, budget, &fl);
                        g[op] = fl / t / 1e9;
                        tt += t; ft += fl;
                    }
                    printf("| %s | %s | %s | %d | %.1f | %.1f | %.1f | %.1f | %.0f %% |\n",
                           nets[k].name, f32 ? "float32" : "float64", variants[q].name, th,
                           g[0], g[1], g[2], ft / tt / 1e9, 100.0 * ft / tt / 1e9 /
                           (peak[strcmp(variants[q].name, "avx512") == 0][f32] * th));
                    fflush(stdout);
                }
            }
            release(&nets[k], &B);
        }
    }
    (void)ops;
    pybp_pool_shutdown();
    return 0;
}
