/*
 * dispatch.c -- the public kernels: each forwards to the kernel set chosen
 * at run time (pybp_kernels_select: "exact" or "fast") and, within the exact
 * set, to the instruction-set variant chosen by pybp_simd_select after a CPU
 * check.  The fast set is compiled once (fast_drivers.c); its layer
 * products have their own variants, selected by pybp_fast_select, which
 * pybp_simd_select sets at the same time.
 *
 * PYBP_HAVE_AVX2 is defined by setup.py when kernels_avx2.c was compiled
 * (x86-64 targets only).
 */
#include <string.h>

#include "pybp.h"
#include "kernels_isa.h"
#include "fast_kernels.h"

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

/* The fast set: one build of the drivers; the products dispatch inside. */
static const pybp_variant fast_set = PYBP_VARIANT(fast);

/* The exact set's variant in use, and whether the fast set is in use. */
static const pybp_variant *exact_active = &variants[0];
static int use_fast = 1;

/* The kernels the public functions forward to now. */
static const pybp_variant *current(void)
{
    return use_fast ? &fast_set : exact_active;
}

/* Every variant name either set may have, baseline first. */
static const char *const variant_names[] = {"generic", "avx2", "avx512",
                                             "neon"};
#define N_NAMES ((int)(sizeof variant_names / sizeof variant_names[0]))

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

/* The exact variant of that name if this CPU runs it, else -1. */
static int exact_index(const char *name)
{
    int i;
    for (i = 0; i < N_VARIANTS; ++i)
        if (strcmp(variants[i].name, name) == 0 && runnable(i)) return i;
    return -1;
}

/* Whether either set has a variant of that name this CPU runs. */
static int name_runnable(const char *name)
{
    return exact_index(name) >= 0 || pybp_fast_runnable(name);
}

int pybp_simd_count(void)
{
    int i, n = 0;
    for (i = 0; i < N_NAMES; ++i) n += name_runnable(variant_names[i]);
    return n;
}

const char *pybp_simd_name(int k)
{
    int i;
    for (i = 0; i < N_NAMES; ++i)
        if (name_runnable(variant_names[i]) && k-- == 0)
            return variant_names[i];
    return NULL;
}

/* The best exact variant this CPU runs (the generic one always runs). */
static const pybp_variant *best_exact(void)
{
    int i;
    for (i = N_VARIANTS - 1; i > 0; --i)
        if (runnable(i)) return &variants[i];
    return &variants[0];
}

/*
 * NULL or "": the best variant of each set.  A name: each set takes its
 * variant of that name when it has one this CPU runs, else its best (only
 * the fast set has "avx512": the exact set then keeps its best, "avx2").
 */
int pybp_simd_select(const char *name)
{
    int i;
    if (name == NULL || name[0] == '\0') {
        exact_active = best_exact();
        return pybp_fast_select(NULL);
    }
    if (!name_runnable(name)) return -1;
    i = exact_index(name);
    exact_active = i >= 0 ? &variants[i] : best_exact();
    if (pybp_fast_select(name) != 0) pybp_fast_select(NULL);
    return 0;
}

const char *pybp_simd_active(void)
{
    return use_fast ? pybp_fast_active() : exact_active->name;
}

int pybp_kernels_select(const char *name)
{
    if (name == NULL || name[0] == '\0' || strcmp(name, "fast") == 0) {
        use_fast = 1;
        return 0;
    }
    if (strcmp(name, "exact") == 0) {
        use_fast = 0;
        return 0;
    }
    return -1;
}

const char *pybp_kernels_active(void) { return use_fast ? "fast" : "exact"; }

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

/* The public kernels of one precision, each forwarding to the kernel set
 * and variant in use; the prototypes in pybp.h check these signatures. */
#define PYBP_DISPATCH(REAL, PREC)                                             \
void pybp_forward_##PREC(const pybp_net *net, const REAL *params,             \
                         const REAL *x, int64_t n, REAL *acts, REAL *z_out)   \
{ current()->forward_##PREC(net, params, x, n, acts, z_out); }                \
                                                                              \
double pybp_batch_gradient_##PREC(                                            \
    const pybp_net *net, const REAL *params, const REAL *x, const REAL *t,    \
    const REAL *sw, int64_t n, int loss, REAL *acts, REAL *deltas,            \
    REAL *z_out, REAL *grad, double *weight_sum)                              \
{                                                                             \
    return current()->batch_gradient_##PREC(net, params, x, t, sw, n, loss,   \
                                         acts, deltas, z_out, grad,           \
                                         weight_sum);                         \
}                                                                             \
                                                                              \
void pybp_evaluate_##PREC(                                                    \
    const pybp_net *net, const REAL *params, const REAL *X, const REAL *T,    \
    const REAL *sw, int64_t n, const pybp_task *task, REAL *work,             \
    pybp_stats *stats)                                                        \
{ current()->evaluate_##PREC(net, params, X, T, sw, n, task, work, stats); }  \
                                                                              \
int64_t pybp_train_epoch_##PREC(                                              \
    const pybp_net *net, pybp_optim *opt, REAL *params, REAL *state,          \
    const REAL *X, const REAL *T, const REAL *sw, const int64_t *order,       \
    int64_t n, const pybp_task *task, REAL *work, pybp_stats *stats,          \
    pybp_progress_fn progress, void *ctx)                                     \
{                                                                             \
    return current()->train_epoch_##PREC(net, opt, params, state, X, T, sw,   \
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
    return current()->train_epochs_##PREC(net, opt, params, state, X, T, sw,  \
                                          n, task, ep, order, backup,         \
                                          best_params, work, record,          \
                                          progress, ctx);                     \
}

PYBP_DISPATCH(double, f64)
PYBP_DISPATCH(float, f32)
