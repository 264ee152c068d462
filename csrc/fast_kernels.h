/*
 * fast_kernels.h -- the "fast" layer kernels: the three products of one
 * layer of backpropagation, as register-blocked, cache-blocked, threaded
 * matrix products with fused epilogues (docs/kernels.md has the design).
 *
 * Layout (as in pybp.h): W is row-major (n_out, n_in), W[j*n_in + i] = w_ij;
 * every batch matrix is row-major (n, width), sample k in row k.
 *
 *   forward   Y[n, n_out]  = A(X[n, n_in] . W^T + b)        (z = X.W^T + b)
 *   delta     Dp[n, n_in]  = A'(P) (.) (D[n, n_out] . W)     sensitivities
 *   gradient  G[n_out, n_in] += scale * sum_k c_k D[k,:]^T X[k,:]
 *             gb[n_out]      += scale * sum_k c_k D[k,:]
 *
 * `act` takes the values of enum pybp_activation (pybp.h): SIGMOID 0, TANH
 * 1, RELU 2, LEAKY_RELU 3 (slope PYBP_FAST_LEAKY_SLOPE), IDENTITY 4,
 * SOFTMAX 5 (any other value acts as IDENTITY).  In the forward product SOFTMAX and IDENTITY both write z
 * (the caller applies softmax per row).  In the delta product the
 * derivative is taken from the stored activations P = A(p): sigmoid
 * a(1-a), tanh 1-a^2, relu [a>0], leaky_relu 1 or the slope, identity 1.
 *
 * Determinism: for a given variant, every result is bit-identical whatever
 * the number of threads: work is split by output tiles only, and each
 * output's sum over k runs in a fixed order (blocks of PYBP_FAST_KC terms,
 * in increasing k) that does not depend on the split.
 *
 * Workspace: each call packs its operands into `ws` (ws_bytes long, any
 * alignment).  pybp_fast_*_workspace gives the size needed, which is the
 * same for every variant.  With ws == NULL the call allocates the workspace
 * itself, once, before any loop, and frees it before returning.
 *
 * Threads: n_threads <= 0 means pybp_get_num_threads() (threads.h); the
 * count actually used is reduced for small products
 * (pybp_pool_workers_for).  The functions may be called from any thread,
 * concurrently, with the GIL released.
 *
 * Return value: PYBP_FAST_OK, or a negative PYBP_FAST_E* code, in which case
 * no output has been written.
 */
#ifndef PYBP_FAST_KERNELS_H
#define PYBP_FAST_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#define PYBP_FAST_OK 0
#define PYBP_FAST_EARG (-1)   /* a size is negative, or a needed pointer NULL */
#define PYBP_FAST_ESPACE (-2) /* ws_bytes smaller than the workspace needed  */
#define PYBP_FAST_ENOMEM (-3) /* ws == NULL and the allocation failed        */

/* The activation codes (the values of enum pybp_activation in pybp.h). */
#define PYBP_FAST_ACT_SIGMOID 0
#define PYBP_FAST_ACT_TANH 1
#define PYBP_FAST_ACT_RELU 2
#define PYBP_FAST_ACT_LEAKY_RELU 3
#define PYBP_FAST_ACT_IDENTITY 4
#define PYBP_FAST_ACT_SOFTMAX 5
#define PYBP_FAST_LEAKY_SLOPE 0.01 /* = PYBP_LEAKY_SLOPE */

/* C99's restrict, in MSVC's spelling there (csrc/ internal loops) */
#if defined(_MSC_VER) && !defined(__clang__)
#define PYBP_RESTRICT __restrict
#else
#define PYBP_RESTRICT restrict
#endif

/* Depth of one k block: sums run over blocks of this many terms. */
#define PYBP_FAST_KC 256

/* Forward and delta products of fewer rows than this (a sample or two) use
 * no workspace: ws may be NULL for them without any allocation. */
#define PYBP_FAST_SMALL_ROWS 4

/*
 * A net as the per-sample step (sgd_sample below) reads it: its layers'
 * sizes, activation codes and parameter offsets, worked out once per
 * training call (csrc/plan.h).  Layer l (0-based, l < n_layers) maps
 * sizes[l] inputs to sizes[l + 1] outputs by the weights at w[l] and, when
 * bias is set, the biases at b[l] of the parameter vector (pybp.h's
 * layout); its activations sit at unit offset u[l] of one sample's
 * activation (and delta) block: u[0] = 0, u[l + 1] = u[l] + sizes[l + 1].
 */
#define PYBP_FAST_NET_LAYERS 32

typedef struct pybp_fast_net {
    int n_layers;
    int bias;
    int act[PYBP_FAST_NET_LAYERS];
    int64_t sizes[PYBP_FAST_NET_LAYERS + 1];
    int64_t w[PYBP_FAST_NET_LAYERS], b[PYBP_FAST_NET_LAYERS];
    int64_t u[PYBP_FAST_NET_LAYERS];
} pybp_fast_net;

/* The squared-error losses sgd_sample computes (the values of enum
 * pybp_loss in pybp.h): e = sum_j (o_j - t_j)^2, half of it, 1/m of it. */
#define PYBP_FAST_LOSS_SSE 0
#define PYBP_FAST_LOSS_HALF_SSE 1
#define PYBP_FAST_LOSS_MSE 2

/* One plain-SGD step's settings for sgd_sample: w -= lr (g + decay w) on
 * weights, b -= lr (g + 0 b) on biases when train_biases is set. */
typedef struct pybp_fast_sgd {
    int loss;          /* PYBP_FAST_LOSS_* */
    int train_biases;
    double lr, decay;
} pybp_fast_sgd;

/* The tiny step's limits (tiny_* below): layers, inputs of the first
 * layer, and REALs of the packed parameters (what a caller's buffer must
 * hold; the limits above keep every tiny net within it). */
#define PYBP_FAST_TINY_LAYERS 4
#define PYBP_FAST_TINY_INPUTS 64
#define PYBP_FAST_TINY_MAX 2048

/*
 * Workspace bytes for one call of each product (the same for float and
 * double when elem_size is 4 or 8, for every variant).
 * Preconditions: sizes >= 0, elem_size is sizeof(float) or sizeof(double).
 */
size_t pybp_fast_forward_workspace(int64_t n, int64_t n_in, int64_t n_out,
                                   size_t elem_size);
size_t pybp_fast_delta_workspace(int64_t n, int64_t n_in, int64_t n_out,
                                 size_t elem_size);
size_t pybp_fast_gradient_workspace(int64_t n, int64_t n_in, int64_t n_out,
                                    size_t elem_size);

/*
 * The kernels of one variant, suffixed _f64_VARIANT / _f32_VARIANT.
 *
 * forward: X (n, n_in), W (n_out, n_in), b (n_out) or NULL for no bias,
 *   act as above; Y (n, n_out) receives A(z); Z (n, n_out) receives z, or
 *   NULL.  Y and Z must not overlap X, W or b; Z may equal Y only when act
 *   is IDENTITY or SOFTMAX.
 * delta: D (n, n_out) the layer's sensitivities, W (n_out, n_in), P (n,
 *   n_in) the activations of the layer below and act its activation, or
 *   P == NULL for no derivative (the first layer's product, or identity);
 *   Dp (n, n_in) receives the result; it must not overlap D, W or P.
 * gradient: D (n, n_out), X (n, n_in) the layer's input, c (n) the sample
 *   weights or NULL for all ones; G (n_out, n_in) and gb (n_out, or NULL to
 *   skip the bias) are added to.  G and gb must not overlap D, X or c.
 * forward_row: one row of forward, y (n_out) = A(x . W^T + b), z (n_out)
 *   the net inputs or NULL, with the bits forward gives that row in any
 *   batch (softmax, as there, is the caller's); no workspace, no threads,
 *   no argument checks: n_in >= 1, n_out >= 1, x, W, y valid, y and z not
 *   overlapping x, W or b.  For per-sample steps, where forward's checks
 *   and arguments cost as much as a small layer's product.
 * sgd_sample: one sample's whole plain-SGD step on a net of
 *   PYBP_FAST_NET_LAYERS layers or fewer: the forward pass (forward_row's
 *   bits, layer by layer, into acts), the loss e of the output o against t
 *   (sgd->loss), the output sensitivities delta = A'(o) (.) de/do, and,
 *   when `apply` is nonzero and the returned value is finite, the update
 *   of every layer from the output down: each weight is read for the
 *   sensitivities of the layer below, delta_p_i = A'(p_i) sum_j w_ij
 *   delta_c_j (sum over j in increasing order), then set to
 *   w - lr (g + decay w) with g = 0 + (c delta_j) a_i.  Returns
 *   0.0 + weight * e in double.  The activation of the output must not be
 *   SOFTMAX; acts and deltas hold one sample's units each (sum of
 *   sizes[1..n_layers]) and overlap nothing else; no workspace, no threads,
 *   no argument checks.  Every value equals, operation for operation, the
 *   shared driver's fused per-sample path (kernels_impl.h).
 * tiny_size, tiny_pack, tiny_unpack, tiny_sgd: sgd_sample for a
 *   tiny net (every layer's outputs in one or two of the variant's
 *   vectors, PYBP_FAST_TINY_LAYERS layers or fewer, at most
 *   PYBP_FAST_TINY_INPUTS inputs, no softmax), on a packed copy P of the
 *   parameters that a caller keeps for many steps.  tiny_size returns the
 *   REALs P takes (at most PYBP_FAST_TINY_MAX), or 0 when the variant has
 *   no tiny step or the net is not tiny; only for a nonzero size may
 *   the other three be called.  tiny_pack fills P (32-byte aligned,
 *   tiny_size REALs, not overlapping params) from params (pybp.h's
 *   layout, net's offsets); tiny_unpack writes P's values back into
 *   params.  tiny_sgd is sgd_sample's step on P, with the same values,
 *   operation for operation; out (sizes[n_layers] REALs, overlapping
 *   nothing else) receives the output; x and t as sgd_sample's.  Padding in
 *   P stays zero while the parameters are finite, so a finiteness check or
 *   a copy of P is one of the parameters.
 * activate: a[i] = A(z[i]) for i < count, act as above (SOFTMAX and
 *   IDENTITY copy); count <= 0 does nothing; z and a hold count values and
 *   are the same array or do not overlap.  The products' epilogues call it,
 *   so it is exactly their activation.  Sigmoid and tanh are the variant's
 *   own vectorised exp-based ones (fast_act_avx2.h; generic: tanh by the
 *   same scheme in scalar C, sigmoid by libm exp), within 2 ulps
 *   (docs/kernels.md); NaN gives
 *   NaN, +-inf give 0/1 and -1/+1, results are bit-identical wherever an
 *   element sits in the array.  Returns nothing: it cannot fail.
 * softmax: a[k, :] = softmax(z[k, :]) for the n rows of m values of z
 *   (z and a n*m values each, the same array or not overlapping; n <= 0 or
 *   m <= 0 does nothing): the row maximum subtracted, exp of the
 *   differences (AVX variants: the vectorised exp that sigmoid uses, over
 *   the whole block; generic, neon: libm exp), divided by the row's sum
 *   (added in column order).  A row's bits do not depend on the other rows
 *   or on its place in z.  NaN in a row (or +inf, or a row all -inf) makes
 *   that row NaN, as in the exact set.  No workspace, no threads.
 */
#define PYBP_FAST_DECLARE(REAL, SFX)                                          \
    int pybp_fast_forward_##SFX(int64_t n, int64_t n_in, int64_t n_out,      \
                                const REAL *X, const REAL *W, const REAL *b, \
                                int act, REAL *Y, REAL *Z, void *ws,         \
                                size_t ws_bytes, int n_threads);             \
    int pybp_fast_delta_##SFX(int64_t n, int64_t n_in, int64_t n_out,        \
                              const REAL *D, const REAL *W, const REAL *P,   \
                              int act, REAL *Dp, void *ws, size_t ws_bytes,  \
                              int n_threads);                                \
    int pybp_fast_gradient_##SFX(int64_t n, int64_t n_in, int64_t n_out,     \
                                 const REAL *D, const REAL *X,               \
                                 const REAL *c, double scale, REAL *G,       \
                                 REAL *gb, void *ws, size_t ws_bytes,        \
                                 int n_threads);                             \
    void pybp_fast_forward_row_##SFX(int64_t n_in, int64_t n_out,            \
                                     const REAL *x, const REAL *W,           \
                                     const REAL *b, int act, REAL *y,        \
                                     REAL *z);                               \
    void pybp_fast_activate_##SFX(int act, const REAL *z, int64_t count,     \
                                  REAL *a);                                  \
    void pybp_fast_softmax_##SFX(const REAL *z, int64_t n, int64_t m,        \
                                 REAL *a);                                   \
    double pybp_fast_sgd_sample_##SFX(const pybp_fast_net *net,              \
                                      const pybp_fast_sgd *sgd,              \
                                      REAL *params, const REAL *x,           \
                                      const REAL *t, double weight, REAL c,  \
                                      int apply, REAL *acts, REAL *deltas);  \
    int64_t pybp_fast_tiny_size_##SFX(const pybp_fast_net *net);           \
    void pybp_fast_tiny_pack_##SFX(const pybp_fast_net *net,               \
                                     const REAL *params, REAL *P);           \
    void pybp_fast_tiny_unpack_##SFX(const pybp_fast_net *net,             \
                                       const REAL *P, REAL *params);         \
    double pybp_fast_tiny_sgd_##SFX(const pybp_fast_net *net,              \
                                      const pybp_fast_sgd *sgd, REAL *P,     \
                                      const REAL *x, const REAL *t,          \
                                      double weight, REAL c, int apply,      \
                                      REAL *out);

PYBP_FAST_DECLARE(double, f64_generic)
PYBP_FAST_DECLARE(float, f32_generic)
PYBP_FAST_DECLARE(double, f64_avx2)
PYBP_FAST_DECLARE(float, f32_avx2)
PYBP_FAST_DECLARE(double, f64_avx512)
PYBP_FAST_DECLARE(float, f32_avx512)
PYBP_FAST_DECLARE(double, f64_neon)
PYBP_FAST_DECLARE(float, f32_neon)
/* and the dispatched ones, pybp_fast_forward_f64 ... (fast_dispatch.c) */
PYBP_FAST_DECLARE(double, f64)
PYBP_FAST_DECLARE(float, f32)

/* The three products' function types, and one variant's table of them (the
 * dispatcher's, the C tests' and the C benchmark's), so that no signature is
 * restated. */
#define PYBP_FAST_TYPES(REAL, PREC)                                           \
    typedef int pybp_fast_forward_##PREC##_fn(                                \
        int64_t n, int64_t n_in, int64_t n_out, const REAL *X, const REAL *W, \
        const REAL *b, int act, REAL *Y, REAL *Z, void *ws, size_t ws_bytes,  \
        int n_threads);                                                       \
    typedef int pybp_fast_delta_##PREC##_fn(                                  \
        int64_t n, int64_t n_in, int64_t n_out, const REAL *D, const REAL *W, \
        const REAL *P, int act, REAL *Dp, void *ws, size_t ws_bytes,          \
        int n_threads);                                                       \
    typedef int pybp_fast_gradient_##PREC##_fn(                               \
        int64_t n, int64_t n_in, int64_t n_out, const REAL *D, const REAL *X, \
        const REAL *c, double scale, REAL *G, REAL *gb, void *ws,             \
        size_t ws_bytes, int n_threads);                                      \
    typedef void pybp_fast_forward_row_##PREC##_fn(                           \
        int64_t n_in, int64_t n_out, const REAL *x, const REAL *W,            \
        const REAL *b, int act, REAL *y, REAL *z);                            \
    typedef void pybp_fast_activate_##PREC##_fn(int act, const REAL *z,       \
                                                int64_t count, REAL *a);      \
    typedef void pybp_fast_softmax_##PREC##_fn(const REAL *z, int64_t n,      \
                                               int64_t m, REAL *a);           \
    typedef double pybp_fast_sgd_sample_##PREC##_fn(                          \
        const pybp_fast_net *net, const pybp_fast_sgd *sgd, REAL *params,     \
        const REAL *x, const REAL *t, double weight, REAL c, int apply,       \
        REAL *acts, REAL *deltas);                                            \
    typedef int64_t pybp_fast_tiny_size_##PREC##_fn(                        \
        const pybp_fast_net *net);                                            \
    typedef void pybp_fast_tiny_pack_##PREC##_fn(                           \
        const pybp_fast_net *net, const REAL *params, REAL *P);               \
    typedef void pybp_fast_tiny_unpack_##PREC##_fn(                         \
        const pybp_fast_net *net, const REAL *P, REAL *params);               \
    typedef double pybp_fast_tiny_sgd_##PREC##_fn(                          \
        const pybp_fast_net *net, const pybp_fast_sgd *sgd, REAL *P,          \
        const REAL *x, const REAL *t, double weight, REAL c, int apply,       \
        REAL *out);
PYBP_FAST_TYPES(double, f64)
PYBP_FAST_TYPES(float, f32)

typedef struct pybp_fast_kernels {
    const char *name;
    pybp_fast_forward_f64_fn *forward_f64;
    pybp_fast_forward_f32_fn *forward_f32;
    pybp_fast_delta_f64_fn *delta_f64;
    pybp_fast_delta_f32_fn *delta_f32;
    pybp_fast_gradient_f64_fn *gradient_f64;
    pybp_fast_gradient_f32_fn *gradient_f32;
    pybp_fast_forward_row_f64_fn *forward_row_f64;
    pybp_fast_forward_row_f32_fn *forward_row_f32;
    pybp_fast_activate_f64_fn *activate_f64;
    pybp_fast_activate_f32_fn *activate_f32;
    pybp_fast_softmax_f64_fn *softmax_f64;
    pybp_fast_softmax_f32_fn *softmax_f32;
    pybp_fast_sgd_sample_f64_fn *sgd_sample_f64;
    pybp_fast_sgd_sample_f32_fn *sgd_sample_f32;
    /* NULL in a variant without a tiny step (generic, neon) */
    pybp_fast_tiny_size_f64_fn *tiny_size_f64;
    pybp_fast_tiny_size_f32_fn *tiny_size_f32;
    pybp_fast_tiny_pack_f64_fn *tiny_pack_f64;
    pybp_fast_tiny_pack_f32_fn *tiny_pack_f32;
    pybp_fast_tiny_unpack_f64_fn *tiny_unpack_f64;
    pybp_fast_tiny_unpack_f32_fn *tiny_unpack_f32;
    pybp_fast_tiny_sgd_f64_fn *tiny_sgd_f64;
    pybp_fast_tiny_sgd_f32_fn *tiny_sgd_f32;
} pybp_fast_kernels;

/* The table of variant ISA (generic, avx2, avx512, neon). */
#define PYBP_FAST_KERNELS(ISA)                                                \
    { #ISA, pybp_fast_forward_f64_##ISA, pybp_fast_forward_f32_##ISA,         \
      pybp_fast_delta_f64_##ISA, pybp_fast_delta_f32_##ISA,                   \
      pybp_fast_gradient_f64_##ISA, pybp_fast_gradient_f32_##ISA,             \
      pybp_fast_forward_row_f64_##ISA, pybp_fast_forward_row_f32_##ISA,       \
      pybp_fast_activate_f64_##ISA, pybp_fast_activate_f32_##ISA,             \
      pybp_fast_softmax_f64_##ISA, pybp_fast_softmax_f32_##ISA,               \
      pybp_fast_sgd_sample_f64_##ISA, pybp_fast_sgd_sample_f32_##ISA,         \
      PYBP_FAST_TINY_##ISA }

/* The tiny-net entries of each variant's table: the AVX variants' own, none
 * for the others (their vectors are too short, or absent, to pay). */
#define PYBP_FAST_TINY_OF(ISA)                                              \
    pybp_fast_tiny_size_f64_##ISA, pybp_fast_tiny_size_f32_##ISA,         \
    pybp_fast_tiny_pack_f64_##ISA, pybp_fast_tiny_pack_f32_##ISA,         \
    pybp_fast_tiny_unpack_f64_##ISA, pybp_fast_tiny_unpack_f32_##ISA,     \
    pybp_fast_tiny_sgd_f64_##ISA, pybp_fast_tiny_sgd_f32_##ISA
#define PYBP_FAST_TINY_NONE NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
#define PYBP_FAST_TINY_generic PYBP_FAST_TINY_NONE
#define PYBP_FAST_TINY_neon PYBP_FAST_TINY_NONE
#define PYBP_FAST_TINY_avx2 PYBP_FAST_TINY_OF(avx2)
#define PYBP_FAST_TINY_avx512 PYBP_FAST_TINY_OF(avx512)

/* Every variant this build compiles, generic first: the initializer of a
 * pybp_fast_kernels array, for the C tests and benchmarks that run each. */
#if defined(__x86_64__) || defined(_M_X64)
#define PYBP_FAST_ALL_KERNELS                                                 \
    { PYBP_FAST_KERNELS(generic), PYBP_FAST_KERNELS(avx2),                    \
      PYBP_FAST_KERNELS(avx512) }
#elif defined(__aarch64__) || defined(_M_ARM64)
#define PYBP_FAST_ALL_KERNELS                                                 \
    { PYBP_FAST_KERNELS(generic), PYBP_FAST_KERNELS(neon) }
#else
#define PYBP_FAST_ALL_KERNELS { PYBP_FAST_KERNELS(generic) }
#endif

/*
 * Variant selection (fast_dispatch.c).  The variants compiled in are
 * "generic" always, "avx2" (AVX2 + FMA) and "avx512" (AVX-512F) on x86-64
 * when built with PYBP_HAVE_FAST_AVX2 / PYBP_HAVE_FAST_AVX512, and "neon"
 * (always runnable there) on arm64 when built with PYBP_HAVE_FAST_NEON.
 * pybp_fast_runnable: 1 when compiled in and this CPU and OS can run it.
 * pybp_fast_select: NULL or "" picks the best runnable one; returns 0, or
 * -1 (selection unchanged) if the name is unknown or not runnable.  The
 * selection is process-wide; make it (pybp_fast_select(NULL) at module
 * initialisation) before kernels run in several threads: the dispatched
 * kernels otherwise make it on first use.
 */
int pybp_fast_runnable(const char *name);
int pybp_fast_select(const char *name);
const char *pybp_fast_active(void);

#endif /* PYBP_FAST_KERNELS_H */
