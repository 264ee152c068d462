/*
 * fast_dispatch.c -- the workspace sizes of the fast kernels, and the
 * dispatched pybp_fast_* kernels, which forward to the variant chosen by
 * pybp_fast_select (by default the best one this CPU runs).
 *
 * PYBP_HAVE_FAST_AVX2 / PYBP_HAVE_FAST_AVX512 are defined by the build when
 * fast_avx2.c / fast_avx512.c were compiled (x86-64 targets only).
 */
#include <stdint.h>
#include <string.h>

#include "fast_kernels.h"

#if (defined(PYBP_HAVE_FAST_AVX2) || defined(PYBP_HAVE_FAST_AVX512)) && \
    (defined(__x86_64__) || defined(_M_X64))
#define FAST_X86 1
#if defined(_MSC_VER)
#include <immintrin.h>
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

/* ---- workspace ---------------------------------------------------------- */

/* One k block (at most PYBP_FAST_KC deep) of packed A (M rows padded to
 * the micro-tile) and of packed B (N columns padded), each 64-byte aligned.
 * Micro-tiles have at most 16 rows and 32 columns (fast_instantiate.h),
 * whence the padding bounds. */
static size_t gemm_workspace(int64_t M, int64_t N, int64_t K, size_t elem)
{
    double bytes;
    if (M <= 0 || N <= 0 || K <= 0) return 0;
    if (K > PYBP_FAST_KC) K = PYBP_FAST_KC;
    bytes = ((double)(M + 15) * (double)K + (double)K * (double)(N + 31)) *
                (double)elem + 128.0;
    if (bytes >= (double)SIZE_MAX) return SIZE_MAX; /* allocation will fail */
    return (size_t)bytes;
}

size_t pybp_fast_forward_workspace(int64_t n, int64_t n_in, int64_t n_out,
                                   size_t elem_size)
{ return gemm_workspace(n, n_out, n_in, elem_size); }

size_t pybp_fast_delta_workspace(int64_t n, int64_t n_in, int64_t n_out,
                                 size_t elem_size)
{ return gemm_workspace(n, n_in, n_out, elem_size); }

size_t pybp_fast_gradient_workspace(int64_t n, int64_t n_in, int64_t n_out,
                                    size_t elem_size)
{ return gemm_workspace(n_out, n_in, n, elem_size); }

/* ---- the CPU checks ----------------------------------------------------- */

#ifdef FAST_X86
/* CPUID leaf 1 ECX, leaf 7 EBX, and XCR0 (0 when the OS has no XSAVE). */
static void x86_features(unsigned *ecx1, unsigned *ebx7, unsigned *xcr0)
{
#if defined(_MSC_VER)
    int r[4];
    *ecx1 = *ebx7 = *xcr0 = 0;
    __cpuid(r, 0);
    if (r[0] < 7) return;
    __cpuid(r, 1);
    *ecx1 = (unsigned)r[2];
    __cpuidex(r, 7, 0);
    *ebx7 = (unsigned)r[1];
    if (*ecx1 & (1u << 27)) *xcr0 = (unsigned)_xgetbv(0);
#else
    unsigned a, b, c, d, hi;
    *ecx1 = *ebx7 = *xcr0 = 0;
    if (__get_cpuid_max(0, 0) < 7) return;
    __cpuid(1, a, b, c, d);
    *ecx1 = c;
    __cpuid_count(7, 0, a, b, c, d);
    *ebx7 = b;
    if (*ecx1 & (1u << 27)) /* OSXSAVE: xgetbv is allowed */
        __asm__ volatile("xgetbv" : "=a"(*xcr0), "=d"(hi) : "c"(0));
#endif
}

/* AVX (ECX 28), FMA (ECX 12), AVX2 (leaf 7 EBX 5); XMM and YMM state on. */
static int cpu_has_avx2_fma(void)
{
    unsigned ecx1, ebx7, xcr0;
    x86_features(&ecx1, &ebx7, &xcr0);
    return (ecx1 & (1u << 28)) && (ecx1 & (1u << 12)) &&
           (ebx7 & (1u << 5)) && (xcr0 & 6u) == 6u;
}

/* AVX-512F (leaf 7 EBX 16); XMM, YMM, opmask and both ZMM states on. */
static int cpu_has_avx512f(void)
{
    unsigned ecx1, ebx7, xcr0;
    x86_features(&ecx1, &ebx7, &xcr0);
    return (ebx7 & (1u << 16)) && (xcr0 & 0xE6u) == 0xE6u;
}
#endif

/* ---- the variants ------------------------------------------------------- */

typedef struct fast_variant {
    pybp_fast_kernels k;
    int (*runnable)(void);
} fast_variant;

static int always(void) { return 1; }

#define FAST_VARIANT(ISA, CHECK) { PYBP_FAST_KERNELS(ISA), CHECK }

/* Every variant compiled in, from the baseline to the widest. */
static const fast_variant variants[] = {
    FAST_VARIANT(generic, always),
#if defined(FAST_X86) && defined(PYBP_HAVE_FAST_AVX2)
    FAST_VARIANT(avx2, cpu_has_avx2_fma),
#endif
#if defined(FAST_X86) && defined(PYBP_HAVE_FAST_AVX512)
    FAST_VARIANT(avx512, cpu_has_avx512f),
#endif
#if (defined(__aarch64__) || defined(_M_ARM64)) && defined(PYBP_HAVE_FAST_NEON)
    FAST_VARIANT(neon, always), /* Advanced SIMD is in every arm64 CPU */
#endif
};
#define N_VARIANTS ((int)(sizeof variants / sizeof variants[0]))

static const fast_variant *active = NULL;

static const fast_variant *find(const char *name)
{
    int i;
    for (i = 0; i < N_VARIANTS; ++i)
        if (strcmp(variants[i].k.name, name) == 0) return &variants[i];
    return NULL;
}

int pybp_fast_runnable(const char *name)
{
    const fast_variant *v = name ? find(name) : NULL;
    return v != NULL && v->runnable();
}

int pybp_fast_select(const char *name)
{
    int i;
    if (name == NULL || name[0] == '\0') {
        for (i = N_VARIANTS - 1; i >= 0; --i)
            if (variants[i].runnable()) {
                active = &variants[i];
                return 0;
            }
        return -1;
    }
    if (!pybp_fast_runnable(name)) return -1;
    active = find(name);
    return 0;
}

static const fast_variant *current(void)
{
    if (active == NULL) pybp_fast_select(NULL); /* same answer in any thread */
    return active;
}

const char *pybp_fast_active(void) { return current()->k.name; }

/* ---- the dispatched kernels --------------------------------------------- */

#define FAST_DISPATCH(REAL, PREC)                                             \
int pybp_fast_forward_##PREC(int64_t n, int64_t n_in, int64_t n_out,          \
                             const REAL *X, const REAL *W, const REAL *b,     \
                             int act, REAL *Y, REAL *Z, void *ws,             \
                             size_t ws_bytes, int n_threads)                  \
{ return current()->k.forward_##PREC(n, n_in, n_out, X, W, b, act, Y, Z, ws,  \
                                     ws_bytes, n_threads); }                  \
                                                                              \
int pybp_fast_delta_##PREC(int64_t n, int64_t n_in, int64_t n_out,            \
                           const REAL *D, const REAL *W, const REAL *P,       \
                           int act, REAL *Dp, void *ws, size_t ws_bytes,      \
                           int n_threads)                                     \
{ return current()->k.delta_##PREC(n, n_in, n_out, D, W, P, act, Dp, ws,      \
                                   ws_bytes, n_threads); }                    \
                                                                              \
int pybp_fast_gradient_##PREC(int64_t n, int64_t n_in, int64_t n_out,         \
                              const REAL *D, const REAL *X, const REAL *c,    \
                              double scale, REAL *G, REAL *gb, void *ws,      \
                              size_t ws_bytes, int n_threads)                 \
{ return current()->k.gradient_##PREC(n, n_in, n_out, D, X, c, scale, G, gb,  \
                                      ws, ws_bytes, n_threads); }                \
                                                                              \
void pybp_fast_forward_row_##PREC(int64_t n_in, int64_t n_out, const REAL *x, \
                                  const REAL *W, const REAL *b, int act,      \
                                  REAL *y, REAL *z)                           \
{ current()->k.forward_row_##PREC(n_in, n_out, x, W, b, act, y, z); }         \
                                                                              \
void pybp_fast_activate_##PREC(int act, const REAL *z, int64_t count,         \
                               REAL *a)                                       \
{ current()->k.activate_##PREC(act, z, count, a); }                           \
                                                                              \
void pybp_fast_softmax_##PREC(const REAL *z, int64_t n, int64_t m, REAL *a)   \
{ current()->k.softmax_##PREC(z, n, m, a); }                                  \
                                                                              \
double pybp_fast_sgd_sample_##PREC(const pybp_fast_net *net,                  \
                                   const pybp_fast_sgd *sgd, REAL *params,    \
                                   const REAL *x, const REAL *t,              \
                                   double weight, REAL c, int apply,          \
                                   REAL *acts, REAL *deltas)                  \
{ return current()->k.sgd_sample_##PREC(net, sgd, params, x, t, weight, c,    \
                                        apply, acts, deltas); }               \
                                                                              \
int64_t pybp_fast_tiny_size_##PREC(const pybp_fast_net *net)                \
{                                                                             \
    const pybp_fast_kernels *k = &current()->k;                               \
    return k->tiny_size_##PREC ? k->tiny_size_##PREC(net) : 0;            \
}                                                                             \
                                                                              \
void pybp_fast_tiny_pack_##PREC(const pybp_fast_net *net,                   \
                                  const REAL *params, REAL *P)                \
{ current()->k.tiny_pack_##PREC(net, params, P); }                          \
                                                                              \
void pybp_fast_tiny_unpack_##PREC(const pybp_fast_net *net, const REAL *P,  \
                                    REAL *params)                             \
{ current()->k.tiny_unpack_##PREC(net, P, params); }                        \
                                                                              \
double pybp_fast_tiny_sgd_##PREC(const pybp_fast_net *net,                  \
                                   const pybp_fast_sgd *sgd, REAL *P,         \
                                   const REAL *x, const REAL *t,              \
                                   double weight, REAL c, int apply,          \
                                   REAL *out)                                 \
{ return current()->k.tiny_sgd_##PREC(net, sgd, P, x, t, weight, c, apply,  \
                                        out); }

FAST_DISPATCH(double, f64)
FAST_DISPATCH(float, f32)
