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

/* One instruction-set variant's kernels; types from pybp.h. */
typedef struct pybp_variant {
    const char *name;
    pybp_forward_f64_fn *forward_f64;
    pybp_forward_f32_fn *forward_f32;
    pybp_batch_gradient_f64_fn *batch_gradient_f64;
    pybp_batch_gradient_f32_fn *batch_gradient_f32;
    pybp_evaluate_f64_fn *evaluate_f64;
    pybp_evaluate_f32_fn *evaluate_f32;
    pybp_train_epoch_f64_fn *train_epoch_f64;
    pybp_train_epoch_f32_fn *train_epoch_f32;
    pybp_train_epochs_f64_fn *train_epochs_f64;
    pybp_train_epochs_f32_fn *train_epochs_f32;
} pybp_variant;

#define PYBP_VARIANT(ISA)                                                     \
    { #ISA,                                                                   \
      pybp_forward_f64_##ISA, pybp_forward_f32_##ISA,                         \
      pybp_batch_gradient_f64_##ISA, pybp_batch_gradient_f32_##ISA,           \
      pybp_evaluate_f64_##ISA, pybp_evaluate_f32_##ISA,                       \
      pybp_train_epoch_f64_##ISA, pybp_train_epoch_f32_##ISA,                 \
      pybp_train_epochs_f64_##ISA, pybp_train_epochs_f32_##ISA }

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

/* The public kernels of one precision, each forwarding to the active
 * variant; the prototypes in pybp.h check these signatures. */
#define PYBP_DISPATCH(REAL, PREC)                                             \
void pybp_forward_##PREC(const pybp_net *net, const REAL *params,             \
                         const REAL *x, int64_t n, REAL *acts, REAL *z_out)   \
{ active->forward_##PREC(net, params, x, n, acts, z_out); }                   \
                                                                              \
double pybp_batch_gradient_##PREC(                                            \
    const pybp_net *net, const REAL *params, const REAL *x, const REAL *t,    \
    const REAL *sw, int64_t n, int loss, REAL *acts, REAL *deltas,            \
    REAL *z_out, REAL *grad, double *weight_sum)                              \
{                                                                             \
    return active->batch_gradient_##PREC(net, params, x, t, sw, n, loss,      \
                                         acts, deltas, z_out, grad,           \
                                         weight_sum);                         \
}                                                                             \
                                                                              \
void pybp_evaluate_##PREC(                                                    \
    const pybp_net *net, const REAL *params, const REAL *X, const REAL *T,    \
    const REAL *sw, int64_t n, const pybp_task *task, REAL *work,             \
    pybp_stats *stats)                                                        \
{ active->evaluate_##PREC(net, params, X, T, sw, n, task, work, stats); }     \
                                                                              \
int64_t pybp_train_epoch_##PREC(                                              \
    const pybp_net *net, pybp_optim *opt, REAL *params, REAL *state,          \
    const REAL *X, const REAL *T, const REAL *sw, const int64_t *order,       \
    int64_t n, const pybp_task *task, REAL *work, pybp_stats *stats,          \
    pybp_progress_fn progress, void *ctx)                                     \
{                                                                             \
    return active->train_epoch_##PREC(net, opt, params, state, X, T, sw,      \
                                      order, n, task, work, stats, progress,  \
                                      ctx);                                   \
}                                                                             \
                                                                              \
int64_t pybp_train_epochs_##PREC(                                             \
    const pybp_net *net, pybp_optim *opt, REAL *params, REAL *state,          \
    const REAL *X, const REAL *T, const REAL *sw, int64_t n,                  \
    const pybp_task *task, pybp_epochs *ep, int64_t *order, REAL *backup,     \
    REAL *best_params, REAL *work, double *record,                            \
    pybp_progress_fn progress, void *ctx)                                     \
{                                                                             \
    return active->train_epochs_##PREC(net, opt, params, state, X, T, sw, n,  \
                                       task, ep, order, backup, best_params,  \
                                       work, record, progress, ctx);          \
}

PYBP_DISPATCH(double, f64)
PYBP_DISPATCH(float, f32)
