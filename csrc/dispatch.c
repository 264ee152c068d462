/*
 * dispatch.c -- the public kernels: each forwards to the instruction-set
 * variant chosen at run time (pybp_simd_select), after a CPU check.
 *
 * PYBP_HAVE_AVX2 is defined by setup.py when kernels_avx2.c was compiled
 * (x86-64 targets only).
 */
#include <string.h>

#include "pybp.h"
#include "kernels_isa.h"

#if defined(PYBP_HAVE_AVX2) && (defined(__x86_64__) || defined(_M_X64))
#define PYBP_X86_AVX2 1
#if defined(_MSC_VER)
#include <immintrin.h>
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

typedef struct pybp_variant {
    const char *name;
    void (*forward_f64)(const pybp_net *, const double *, const double *,
                        int64_t, double *, double *);
    void (*forward_f32)(const pybp_net *, const float *, const float *,
                        int64_t, float *, float *);
    double (*output_delta_f64)(int, int, const double *, const double *,
                               const double *, const double *, int64_t,
                               int64_t, double *);
    double (*output_delta_f32)(int, int, const float *, const float *,
                               const float *, const float *, int64_t, int64_t,
                               float *);
    void (*backward_f64)(const pybp_net *, const double *, int64_t,
                         const double *, double *);
    void (*backward_f32)(const pybp_net *, const float *, int64_t,
                         const float *, float *);
    void (*accumulate_gradient_f64)(const pybp_net *, const double *, int64_t,
                                    const double *, const double *,
                                    const double *, double, double *);
    void (*accumulate_gradient_f32)(const pybp_net *, const float *, int64_t,
                                    const float *, const float *,
                                    const float *, double, float *);
    void (*optim_step_f64)(const pybp_net *, pybp_optim *, double *,
                           const double *, double *, int);
    void (*optim_step_f32)(const pybp_net *, pybp_optim *, float *,
                           const float *, float *, int);
    double (*batch_gradient_f64)(const pybp_net *, const double *,
                                 const double *, const double *,
                                 const double *, int64_t, int, double *,
                                 double *, double *, double *, double *);
    double (*batch_gradient_f32)(const pybp_net *, const float *,
                                 const float *, const float *, const float *,
                                 int64_t, int, float *, float *, float *,
                                 float *, double *);
    void (*evaluate_f64)(const pybp_net *, const double *, const double *,
                         const double *, const double *, int64_t,
                         const pybp_task *, double *, pybp_stats *);
    void (*evaluate_f32)(const pybp_net *, const float *, const float *,
                         const float *, const float *, int64_t,
                         const pybp_task *, float *, pybp_stats *);
    int64_t (*train_epoch_f64)(const pybp_net *, pybp_optim *, double *,
                               double *, const double *, const double *,
                               const double *, const int64_t *, int64_t,
                               const pybp_task *, double *, pybp_stats *,
                               pybp_progress_fn, void *);
    int64_t (*train_epoch_f32)(const pybp_net *, pybp_optim *, float *,
                               float *, const float *, const float *,
                               const float *, const int64_t *, int64_t,
                               const pybp_task *, float *, pybp_stats *,
                               pybp_progress_fn, void *);
} pybp_variant;

#define PYBP_VARIANT(ISA)                                                     \
    { #ISA,                                                                   \
      pybp_forward_f64_##ISA, pybp_forward_f32_##ISA,                         \
      pybp_output_delta_f64_##ISA, pybp_output_delta_f32_##ISA,               \
      pybp_backward_f64_##ISA, pybp_backward_f32_##ISA,                       \
      pybp_accumulate_gradient_f64_##ISA, pybp_accumulate_gradient_f32_##ISA, \
      pybp_optim_step_f64_##ISA, pybp_optim_step_f32_##ISA,                   \
      pybp_batch_gradient_f64_##ISA, pybp_batch_gradient_f32_##ISA,           \
      pybp_evaluate_f64_##ISA, pybp_evaluate_f32_##ISA,                       \
      pybp_train_epoch_f64_##ISA, pybp_train_epoch_f32_##ISA }

/* Every variant compiled in, baseline first. */
static const pybp_variant variants[] = {
    PYBP_VARIANT(generic),
#ifdef PYBP_X86_AVX2
    PYBP_VARIANT(avx2),
#endif
};
#define N_VARIANTS ((int)(sizeof variants / sizeof variants[0]))

static const pybp_variant *active = &variants[0];

#ifdef PYBP_X86_AVX2
/* AVX2 needs the CPU to have it and the OS to save the YMM registers. */
static int cpu_has_avx2(void)
{
#if defined(_MSC_VER)
    int r[4];
    __cpuid(r, 0);
    if (r[0] < 7) return 0;
    __cpuid(r, 1);
    if (!(r[2] & (1 << 27)) || !(r[2] & (1 << 28))) return 0; /* OSXSAVE, AVX */
    if ((_xgetbv(0) & 6) != 6) return 0;           /* XMM and YMM state on */
    __cpuidex(r, 7, 0);
    return (r[1] & (1 << 5)) != 0;                 /* AVX2 */
#else
    unsigned a, b, c, d, xcr0_lo, xcr0_hi;
    if (__get_cpuid_max(0, 0) < 7) return 0;
    __cpuid(1, a, b, c, d);
    if (!(c & (1u << 27)) || !(c & (1u << 28))) return 0; /* OSXSAVE, AVX */
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    (void)xcr0_hi;
    if ((xcr0_lo & 6) != 6) return 0;              /* XMM and YMM state on */
    __cpuid_count(7, 0, a, b, c, d);
    return (b & (1u << 5)) != 0;                   /* AVX2 */
#endif
}
#endif

/* Whether this CPU can run variants[i]. */
static int runnable(int i)
{
#ifdef PYBP_X86_AVX2
    if (strcmp(variants[i].name, "avx2") == 0) {
        static int avx2 = -1;
        if (avx2 < 0) avx2 = cpu_has_avx2();
        return avx2;
    }
#endif
    return i >= 0 && i < N_VARIANTS;
}

int pybp_simd_count(void)
{
    int i, n = 0;
    for (i = 0; i < N_VARIANTS; ++i) n += runnable(i);
    return n;
}

const char *pybp_simd_name(int k)
{
    int i;
    for (i = 0; i < N_VARIANTS; ++i)
        if (runnable(i) && k-- == 0) return variants[i].name;
    return NULL;
}

int pybp_simd_select(const char *name)
{
    int i;
    if (name == NULL || name[0] == '\0') {
        for (i = N_VARIANTS - 1; i >= 0; --i)
            if (runnable(i)) {
                active = &variants[i];
                return 0;
            }
        return -1;
    }
    for (i = 0; i < N_VARIANTS; ++i)
        if (strcmp(variants[i].name, name) == 0 && runnable(i)) {
            active = &variants[i];
            return 0;
        }
    return -1;
}

const char *pybp_simd_active(void) { return active->name; }

const char *pybp_compiler(void)
{
#define PYBP_STR_(x) #x
#define PYBP_STR(x) PYBP_STR_(x)
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#elif defined(_MSC_VER)
    return "msvc " PYBP_STR(_MSC_FULL_VER);
#else
    return "unknown C compiler";
#endif
}

/* ---- the public kernels ------------------------------------------------- */

void pybp_forward_f64(const pybp_net *net, const double *params,
                      const double *x, int64_t n, double *acts, double *z_out)
{ active->forward_f64(net, params, x, n, acts, z_out); }

void pybp_forward_f32(const pybp_net *net, const float *params, const float *x,
                      int64_t n, float *acts, float *z_out)
{ active->forward_f32(net, params, x, n, acts, z_out); }

double pybp_output_delta_f64(int loss, int act, const double *o,
                             const double *z, const double *t,
                             const double *sw, int64_t n, int64_t m,
                             double *delta)
{ return active->output_delta_f64(loss, act, o, z, t, sw, n, m, delta); }

double pybp_output_delta_f32(int loss, int act, const float *o, const float *z,
                             const float *t, const float *sw, int64_t n,
                             int64_t m, float *delta)
{ return active->output_delta_f32(loss, act, o, z, t, sw, n, m, delta); }

void pybp_backward_f64(const pybp_net *net, const double *params, int64_t n,
                       const double *acts, double *deltas)
{ active->backward_f64(net, params, n, acts, deltas); }

void pybp_backward_f32(const pybp_net *net, const float *params, int64_t n,
                       const float *acts, float *deltas)
{ active->backward_f32(net, params, n, acts, deltas); }

void pybp_accumulate_gradient_f64(const pybp_net *net, const double *x,
                                  int64_t n, const double *acts,
                                  const double *deltas, const double *sw,
                                  double scale, double *grad)
{ active->accumulate_gradient_f64(net, x, n, acts, deltas, sw, scale, grad); }

void pybp_accumulate_gradient_f32(const pybp_net *net, const float *x,
                                  int64_t n, const float *acts,
                                  const float *deltas, const float *sw,
                                  double scale, float *grad)
{ active->accumulate_gradient_f32(net, x, n, acts, deltas, sw, scale, grad); }

void pybp_optim_step_f64(const pybp_net *net, pybp_optim *opt, double *params,
                         const double *grad, double *state, int train_biases)
{ active->optim_step_f64(net, opt, params, grad, state, train_biases); }

void pybp_optim_step_f32(const pybp_net *net, pybp_optim *opt, float *params,
                         const float *grad, float *state, int train_biases)
{ active->optim_step_f32(net, opt, params, grad, state, train_biases); }

double pybp_batch_gradient_f64(const pybp_net *net, const double *params,
                               const double *x, const double *t,
                               const double *sw, int64_t n, int loss,
                               double *acts, double *deltas, double *z_out,
                               double *grad, double *weight_sum)
{
    return active->batch_gradient_f64(net, params, x, t, sw, n, loss, acts,
                                      deltas, z_out, grad, weight_sum);
}

double pybp_batch_gradient_f32(const pybp_net *net, const float *params,
                               const float *x, const float *t, const float *sw,
                               int64_t n, int loss, float *acts, float *deltas,
                               float *z_out, float *grad, double *weight_sum)
{
    return active->batch_gradient_f32(net, params, x, t, sw, n, loss, acts,
                                      deltas, z_out, grad, weight_sum);
}

void pybp_evaluate_f64(const pybp_net *net, const double *params,
                       const double *X, const double *T, const double *sw,
                       int64_t n, const pybp_task *task, double *work,
                       pybp_stats *stats)
{ active->evaluate_f64(net, params, X, T, sw, n, task, work, stats); }

void pybp_evaluate_f32(const pybp_net *net, const float *params,
                       const float *X, const float *T, const float *sw,
                       int64_t n, const pybp_task *task, float *work,
                       pybp_stats *stats)
{ active->evaluate_f32(net, params, X, T, sw, n, task, work, stats); }

int64_t pybp_train_epoch_f64(const pybp_net *net, pybp_optim *opt,
                             double *params, double *state, const double *X,
                             const double *T, const double *sw,
                             const int64_t *order, int64_t n,
                             const pybp_task *task, double *work,
                             pybp_stats *stats, pybp_progress_fn progress,
                             void *ctx)
{
    return active->train_epoch_f64(net, opt, params, state, X, T, sw, order, n,
                                   task, work, stats, progress, ctx);
}

int64_t pybp_train_epoch_f32(const pybp_net *net, pybp_optim *opt,
                             float *params, float *state, const float *X,
                             const float *T, const float *sw,
                             const int64_t *order, int64_t n,
                             const pybp_task *task, float *work,
                             pybp_stats *stats, pybp_progress_fn progress,
                             void *ctx)
{
    return active->train_epoch_f32(net, opt, params, state, X, T, sw, order, n,
                                   task, work, stats, progress, ctx);
}
