/*
 * pybp.h -- the C API of pybp's kernels.
 *
 * Pure C99: no Python.h.  Every kernel works on caller-allocated, contiguous,
 * row-major buffers and comes in two precisions, suffixed _f64 (double) and
 * _f32 (float).  Nothing here allocates; nothing here checks its arguments
 * (but for batch < 1, which would never finish): the preconditions stated
 * below are the caller's job (pybp/_core.pyx checks them before releasing
 * the GIL).
 *
 * Notation follows the seeds: a layer's input activations are A(p_i), the
 * next layer's net inputs c_j = sum_i A(p_i) w_ij + b_j, and the sensitivity
 * delta = de/d(net input).
 *
 * Parameter layout (one flat buffer per network, shared by the gradient and
 * by every optimizer-state slot): for each weight layer l = 0..L-1
 *     W_l  (n_out_l x n_in_l, row-major; W_l[j, i] is the seeds' w_ij)
 *     b_l  (n_out_l)                       -- only when net->bias != 0
 * with n_in_l = sizes[l], n_out_l = sizes[l + 1].
 *
 * Activation layout (the "acts" and "deltas" workspaces) for a batch of n
 * samples: layer l's block is (n x n_out_l), blocks in layer order, starting
 * at n * (sizes[1] + ... + sizes[l]).  The input batch is not copied in.
 */
#ifndef PYBP_H
#define PYBP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum pybp_activation {
    PYBP_ACT_SIGMOID = 0,
    PYBP_ACT_TANH = 1,
    PYBP_ACT_RELU = 2,
    PYBP_ACT_LEAKY_RELU = 3,
    PYBP_ACT_IDENTITY = 4,
    PYBP_ACT_SOFTMAX = 5 /* output layer only */
};

enum pybp_loss {
    PYBP_LOSS_SSE = 0,                 /* e = sum_j (o_j - t_j)^2            */
    PYBP_LOSS_HALF_SSE = 1,            /* e = 1/2 sum_j (o_j - t_j)^2        */
    PYBP_LOSS_MSE = 2,                 /* e = 1/m sum_j (o_j - t_j)^2        */
    PYBP_LOSS_CROSS_ENTROPY = 3,       /* e = -sum_j t_j log o_j  (softmax)  */
    PYBP_LOSS_BINARY_CROSS_ENTROPY = 4 /* e = -sum_j t log o + (1-t) log(1-o) (sigmoid) */
};

enum pybp_optimizer_kind {
    PYBP_OPT_SGD = 0,      /* steepest descent, (Nesterov) momentum          */
    PYBP_OPT_ADAM = 1,     /* Kingma & Ba, bias-corrected                    */
    PYBP_OPT_RMSPROP = 2,  /* Hinton's running mean of g^2                   */
    PYBP_OPT_ADAGRAD = 3,  /* Duchi et al., sum of g^2                       */
    PYBP_OPT_RPROP = 4,    /* iRPROP- (Igel & Huesken), full batch           */
    PYBP_OPT_QUICKPROP = 5 /* Fahlman 1988, full batch                       */
};

/* What the epoch driver and the evaluator count as a correct prediction. */
enum pybp_metric {
    PYBP_METRIC_NONE = 0,
    PYBP_METRIC_ARGMAX = 1,   /* argmax(o) == argmax(t)                      */
    PYBP_METRIC_THRESHOLD = 2 /* every output on t's side of the threshold   */
};

/* Slope of leaky_relu for negative net input. */
#define PYBP_LEAKY_SLOPE 0.01

typedef struct pybp_net {
    int n_layers;          /* L >= 1 weight layers                        */
    const int64_t *sizes;  /* L + 1 layer widths, input first, all >= 1  */
    const int *act;        /* L activation codes; softmax only at L - 1   */
    int bias;              /* nonzero: every layer has a bias vector      */
} pybp_net;

/*
 * Optimizer hyper-parameters and step counter.  `state` buffers passed with
 * it hold pybp_optim_state_slots() slots of pybp_n_params() values each,
 * slot s at state + s * n_params, zero-initialised by the caller.  The slots,
 * in order:
 *     SGD with momentum   velocity V
 *     Adam                first moment m, second moment v
 *     RMSprop             running mean of squared gradients v
 *     Adagrad             running sum of squared gradients G
 *     Rprop               previous gradient, per-parameter step size
 *     Quickprop           previous slope, previous step
 * Fields an optimizer does not use are ignored.
 */
typedef struct pybp_optim {
    int kind;              /* enum pybp_optimizer_kind                        */
    double lr;             /* learning rate eta > 0 (not used by Rprop)       */
    double weight_decay;   /* L2 coefficient lambda >= 0, weights only        */
    double momentum;       /* SGD: mu in [0, 1)                               */
    int nesterov;          /* SGD: nonzero for Nesterov momentum              */
    double beta1, beta2;   /* Adam: moment decays in [0, 1)                   */
    double rho;            /* RMSprop: decay of the mean square, in [0, 1)    */
    double eps;            /* Adam, RMSprop, Adagrad: added to the root       */
    double eta_plus;       /* Rprop: step growth factor > 1                   */
    double eta_minus;      /* Rprop: step shrink factor in (0, 1)             */
    double delta0;         /* Rprop: initial step size                        */
    double delta_min;      /* Rprop: smallest step size                       */
    double delta_max;      /* Rprop: largest step size                        */
    double mu;             /* Quickprop: maximum growth factor                */
    int64_t step;          /* updates taken so far; incremented by each step  */
} pybp_optim;

/* How an epoch or an evaluation runs. */
typedef struct pybp_task {
    int loss;              /* enum pybp_loss                                  */
    int metric;            /* enum pybp_metric                                */
    double threshold;      /* for PYBP_METRIC_THRESHOLD                       */
    int64_t batch;         /* samples per batch (per chunk when evaluating)   */
    int train_biases;      /* nonzero: the optimizer updates biases           */
} pybp_task;

/* What an epoch or an evaluation adds up. */
typedef struct pybp_stats {
    double loss_sum;       /* sum_k w_k e_k                                   */
    double weight_sum;     /* sum_k w_k                                       */
    double correct_sum;    /* sum_k w_k [sample k predicted right]            */
} pybp_stats;

/* Why pybp_train_epochs returned. */
enum pybp_stop {
    PYBP_STOP_MAX_EPOCHS = 0,  /* ran ep->max_epochs epochs                  */
    PYBP_STOP_TARGET = 1,      /* an epoch's loss <= ep->target_loss         */
    PYBP_STOP_PATIENCE = 2,    /* ep->wait reached ep->patience              */
    PYBP_STOP_DIVERGED = 3,    /* the last epoch diverged and was undone     */
    PYBP_STOP_ASKED = 4,       /* progress asked, between epochs             */
    PYBP_STOP_ASKED_INSIDE = 5, /* progress asked inside the last epoch, which
                                  the caller finishes (see below)            */
    PYBP_STOP_BAD_INPUT = 6    /* ep->check_x: a value of X is not finite;
                                  the epoch was undone and is not recorded   */
};

/*
 * What pybp_train_epochs runs and decides; "in/out" fields carry across
 * calls, so that a fit split into several calls decides as one.
 */
typedef struct pybp_epochs {
    int64_t max_epochs;    /* in: epochs to run at most, >= 0                 */
    const uint64_t *seeds; /* in: max_epochs seeds, epoch e's order being
                              pybp_shuffle_order from state seeds[e]; or
                              NULL: data order                              */
    const double *lr;      /* in: max_epochs learning rates, or NULL: opt->lr */
    int has_target;        /* in: nonzero: stop when a loss <= target_loss    */
    double target_loss;    /* in                                              */
    int watch;             /* in: nonzero: track best and wait                */
    int64_t patience;      /* in: stop when wait reaches it; 0: never         */
    double min_delta;      /* in: an improvement is a loss < best - min_delta */
    double best;           /* in/out: best epoch loss so far (watch)          */
    int64_t wait;          /* in/out: epochs since it improved (watch)        */
    int improved;          /* out: nonzero if best_params was written         */
    int64_t last_step0;    /* out: opt->step before the last epoch recorded   */
    int stop;              /* out: enum pybp_stop                             */
    int check_x;           /* in/out: nonzero: X is not known to be finite,
                              and the next epoch checks its values as it
                              reads them (see below); 0 once it has       */
} pybp_epochs;

/*
 * Called by the epoch driver every few million multiply-adds -- between
 * batches, and inside a long batch between chunks of its samples -- with the
 * number of samples processed so far.  A nonzero return stops the epoch: a
 * batch interrupted in the middle is abandoned (its gradient is dropped and
 * no update is made), so parameters are never left half-updated.
 */
typedef int (*pybp_progress_fn)(void *ctx, int64_t samples_done);

/*
 * Assumptions on the arguments of every function below (not checked):
 *   - `net` points to a valid pybp_net: n_layers >= 1, sizes[0..L] >= 1,
 *     act[0..L-1] valid codes with softmax only at L - 1.
 *   - Every pointer is non-NULL unless said otherwise, and every REAL buffer
 *     is naturally aligned for REAL (8 bytes for double, 4 for float), with
 *     at least the number of values stated.
 *   - Counts fit in int64_t and products of sizes do not overflow it.
 *   - Thread safety: each call is reentrant and keeps no state between
 *     calls; the only global mutable state is the SIMD selection
 *     (pybp_simd_select).  Calls on disjoint output buffers may run in
 *     parallel; two calls must not write the same buffer at once.
 */

/* ---- sizes and offsets (no precision suffix) -------------------------- */
/* The layout, defined here once: layer l's block is its n_out x n_in
 * weights (row j holds w_ij for i < n_in), then, with biases, its n_out
 * biases; blocks follow in layer order.  PYBP_LAYER_PARAMS is one block's
 * length, so weight_offset(l) is the sum of it over the layers below l. */
#define PYBP_LAYER_PARAMS(net, l)                                             \
    ((net)->sizes[(l) + 1] * ((net)->sizes[(l)] + ((net)->bias ? 1 : 0)))
int64_t pybp_n_params(const pybp_net *net);
/* layer in [0, n_layers]; layer == n_layers gives n_params. */
int64_t pybp_weight_offset(const pybp_net *net, int layer);
/* layer in [0, n_layers); only when net->bias != 0. */
int64_t pybp_bias_offset(const pybp_net *net, int layer);
int64_t pybp_n_units(const pybp_net *net); /* sizes[1] + ... + sizes[L] */
/* Number of n_params-sized state slots the optimizer needs (0, 1 or 2);
 * opt->kind is a valid enum pybp_optimizer_kind. */
int pybp_optim_state_slots(const pybp_optim *opt);
/* Nonzero for optimizers that take one step per epoch on the gradient of
 * the whole training set (Rprop, Quickprop). */
int pybp_optim_full_batch(const pybp_optim *opt);
/*
 * Multiply-adds (samples x pybp_n_params) the epoch driver does between two
 * calls of its progress function: the calls then cost nothing next to the
 * work, yet come every few milliseconds.
 */
#define PYBP_PROGRESS_WORK 4.0e6
/* Samples the epoch driver processes at once (batch >= 1): about
 * PYBP_PROGRESS_WORK / n_params, a multiple of 4, at most batch. */
int64_t pybp_epoch_chunk(const pybp_net *net, int64_t batch);
/* Values (of the kernel's precision) needed by pybp_train_epoch_* and by
 * pybp_evaluate_* for a given batch size; batch >= 1.  The epoch's workspace
 * holds one chunk of samples, not a whole batch. */
int64_t pybp_epoch_workspace_size(const pybp_net *net, int64_t batch);
int64_t pybp_evaluate_workspace_size(const pybp_net *net, int64_t batch);

/* ---- kernels: one function type per kernel and precision ---------------- */

/*
 * pybp_forward_f64 / _f32: forward pass for the n x sizes[0] inputs x.
 * Writes every layer's activations A(c) into acts and, if z_out is not NULL,
 * the output layer's net inputs.
 * Assumptions (not checked): n >= 0; params holds pybp_n_params values; x
 * holds n * sizes[0]; acts n * pybp_n_units; z_out NULL or n * sizes[L].
 * x and params may alias each other (both are only read), no output may
 * alias any input or another output.
 *
 * pybp_batch_gradient_f64 / _f32: forward, loss, backward and gradient for
 * one batch of n samples already gathered into x, t (n x sizes[L]) and sw
 * (n sample weights, or NULL for weight 1).  Overwrites grad (pybp_n_params
 * values) with the gradient of the weighted mean loss over the batch, using
 * acts, deltas (n * pybp_n_units each) and z_out (n * sizes[L]) as
 * workspaces.  Returns the weighted loss sum and stores the weight sum (n
 * when sw is NULL) in *weight_sum.  When that sum is not > 0, grad is zero.
 * Assumptions (not checked): n >= 1; loss a valid enum pybp_loss, with
 * cross_entropy only after softmax and binary_cross_entropy only after
 * sigmoid; the inputs (params, x, t, sw) may alias each other, the
 * workspaces and grad alias nothing.
 *
 * pybp_evaluate_f64 / _f32: loss (and correct-prediction count) of the n
 * samples X (n x sizes[0]), T (n x sizes[L]), sw (n, or NULL), in chunks of
 * task->batch samples, added into *stats.  work holds
 * pybp_evaluate_workspace_size(net, task->batch) values.
 * Assumptions (not checked): n >= 0; task->loss, task->metric valid codes
 * (loss/activation pairing as above); work aliases no input.
 * task->batch < 1 adds nothing (it would otherwise never finish).
 *
 * pybp_train_epoch_f64 / _f32: one training epoch over the samples
 * order[0..n-1] of X (N x sizes[0]) and T (N x sizes[L]), with sw (N) or
 * NULL, in batches of task->batch (the last may be smaller).  Per batch:
 * gather, forward, loss, backward, gradient, and an optimizer step -- or,
 * for a full-batch optimizer, one step at the end on the gradient of the
 * whole epoch.  A batch is processed in chunks of pybp_epoch_chunk samples,
 * with the same sums in the same order as in one piece.  Each batch's loss,
 * computed before its update, is added into *stats.  Stops early when
 * progress (may be NULL) returns nonzero, abandoning the batch in progress
 * (no update; the losses of the samples it had processed are still added),
 * or when a batch's loss is not finite (that batch is not applied, its loss
 * is still added into *stats).  Returns the number of samples whose batches
 * were applied (for a full-batch optimizer: n if the step was taken, else 0).
 * Assumptions (not checked): n >= 0; every order[k] in [0, N); params holds
 * pybp_n_params values, state pybp_optim_state_slots(opt) of them (NULL when
 * that is 0), work pybp_epoch_workspace_size(net, task->batch); opt->kind
 * and task's codes valid.  params, state, work and stats alias nothing;
 * X, T, sw, order are only read.  task->batch < 1 does nothing and returns 0
 * (it would otherwise never finish).  progress is called, with ctx, on
 * the calling thread only.
 */
#define PYBP_KERNEL_TYPES(REAL, SFX)                                          \
typedef void pybp_forward_##SFX##_fn(                                         \
    const pybp_net *net, const REAL *params, const REAL *x, int64_t n,        \
    REAL *acts, REAL *z_out);                                                 \
typedef double pybp_batch_gradient_##SFX##_fn(                                \
    const pybp_net *net, const REAL *params, const REAL *x, const REAL *t,    \
    const REAL *sw, int64_t n, int loss, REAL *acts, REAL *deltas,            \
    REAL *z_out, REAL *grad, double *weight_sum);                             \
typedef void pybp_evaluate_##SFX##_fn(                                        \
    const pybp_net *net, const REAL *params, const REAL *X, const REAL *T,    \
    const REAL *sw, int64_t n, const pybp_task *task, REAL *work,             \
    pybp_stats *stats);                                                       \
typedef int64_t pybp_train_epoch_##SFX##_fn(                                  \
    const pybp_net *net, pybp_optim *opt, REAL *params, REAL *state,          \
    const REAL *X, const REAL *T, const REAL *sw, const int64_t *order,       \
    int64_t n, const pybp_task *task, REAL *work, pybp_stats *stats,          \
    pybp_progress_fn progress, void *ctx);
PYBP_KERNEL_TYPES(double, f64)
PYBP_KERNEL_TYPES(float, f32)

/*
 * pybp_train_epochs_f64 / _f32: up to ep->max_epochs epochs of
 * pybp_train_epoch over all n samples of X, T, sw, deciding the stopping
 * rules between them as pybp.train's per-epoch loop does; returns the
 * number of epochs recorded: epoch e's loss (loss sum / weight sum), weight
 * sum, accuracy (correct sum / weight sum) and samples applied in
 * record[e], record[M + e], record[2M + e] and record[3M + e],
 * M = ep->max_epochs (four rows, each contiguous); the loss and accuracy
 * are NaN when the weight sum is not > 0.  Every epoch recorded but the
 * last applies all n samples.  Per epoch e: order = 0..n-1, or
 * pybp_shuffle_order from state ep->seeds[e]; opt->lr = ep->lr[e]
 * when ep->lr; params and state copied into backup; one epoch.  Then, in
 * order:
 *   - a parameter not finite, or (unless progress asked to stop inside the
 *     epoch) weight sum not > 0 or loss sum / weight sum not finite: params,
 *     state, opt->step are put back as they were before it,
 *     stop = PYBP_STOP_DIVERGED;
 *   - progress asked to stop inside it: stop = PYBP_STOP_ASKED_INSIDE,
 *     nothing more (the caller finishes it; it may still undo it from
 *     backup and ep->last_step0);
 *   - ep->watch: loss < best - min_delta sets best = loss, wait = 0 and
 *     copies params into best_params (when not NULL; ep->improved = 1),
 *     else wait += 1;
 *   - has_target and loss <= target_loss: PYBP_STOP_TARGET;
 *   - patience > 0 and wait >= patience: PYBP_STOP_PATIENCE;
 *   - every few million multiply-adds (counted across epochs, as inside
 *     one), progress(ctx, -1); nonzero: PYBP_STOP_ASKED.
 * With ep->check_x, the first epoch also checks that every value of X is
 * finite: a batched epoch as it gathers each batch's rows (the read the
 * training makes anyway, so a separate pass over a large X is saved), and
 * all of X before it starts when it reads rows in place (batch 1, plain
 * SGD); an epoch that stops early has the rest of X checked after it.  A
 * value that is not finite stops before any batch containing it is
 * applied: params, state and opt->step are put back as they were before
 * the epoch, stop = PYBP_STOP_BAD_INPUT, and that epoch is not counted in
 * the return value.  Otherwise ep->check_x is 0 on return.
 * Assumptions (not checked): as pybp_train_epoch with N = n; ep->lr and
 * ep->seeds NULL or max_epochs values each; order holds n values, backup
 * (1 + pybp_optim_state_slots(opt)) * pybp_n_params values, best_params
 * NULL or pybp_n_params, record 4 * max_epochs doubles; none of them
 * alias each other or any other argument.  progress may be NULL.
 */
#define PYBP_EPOCHS_TYPE(REAL, SFX)                                           \
typedef int64_t pybp_train_epochs_##SFX##_fn(                                 \
    const pybp_net *net, pybp_optim *opt, REAL *params, REAL *state,          \
    const REAL *X, const REAL *T, const REAL *sw, int64_t n,                  \
    const pybp_task *task, pybp_epochs *ep, int64_t *order, REAL *backup,     \
    REAL *best_params, REAL *work, double *record,                            \
    pybp_progress_fn progress, void *ctx);
PYBP_EPOCHS_TYPE(double, f64)
PYBP_EPOCHS_TYPE(float, f32)

/* Declares the kernels named pybp_<kernel>_<PREC><VARIANT>, e.g.
 * PYBP_DECLARE_KERNELS(f64, ) declares pybp_forward_f64 and the rest. */
#define PYBP_DECLARE_KERNELS(PREC, VARIANT)                                   \
pybp_forward_##PREC##_fn pybp_forward_##PREC##VARIANT;                        \
pybp_batch_gradient_##PREC##_fn pybp_batch_gradient_##PREC##VARIANT;          \
pybp_evaluate_##PREC##_fn pybp_evaluate_##PREC##VARIANT;                      \
pybp_train_epoch_##PREC##_fn pybp_train_epoch_##PREC##VARIANT;             \
pybp_train_epochs_##PREC##_fn pybp_train_epochs_##PREC##VARIANT;
PYBP_DECLARE_KERNELS(f64, )
PYBP_DECLARE_KERNELS(f32, )

/* ---- run-time choice of the instruction-set variant --------------------- */

/*
 * Every kernel above is compiled once per instruction-set variant ("generic":
 * the platform's baseline; "avx2": x86-64 with AVX2) and called through the
 * variant chosen here.  All variants of the exact set give bit-identical
 * results (those of the fast set differ from each other in rounding).
 *
 * pybp_simd_select(NULL or "") picks the best variant this CPU supports;
 * pybp_simd_select(name) picks that one.  Returns 0, or -1 (nothing changed)
 * for an unknown name or one this CPU or build cannot run.  Not to be called
 * while another thread runs a kernel.
 */
int pybp_simd_select(const char *name);
const char *pybp_simd_active(void);         /* name of the variant in use */
/* Names of the variants this build and CPU can run, best last; i < count. */
int pybp_simd_count(void);
const char *pybp_simd_name(int i);
const char *pybp_compiler(void);            /* compiler name and version */

/* ---- run-time choice of the kernel set ---------------------------------- */

/*
 * Two kernel sets run the kernels above, with the same drivers, losses and
 * optimizers:
 *   "exact"  the layer loops in a fixed order, no fused multiply-adds:
 *            bit-identical across its variants and to the pure-Python
 *            backend (float64); the oracle.
 *   "fast"   (the default) the forward, delta and gradient products of
 *            each layer of at least 512 weights go to the register-blocked,
 *            threaded kernels of fast_kernels.h (FMA on avx2/avx512);
 *            smaller layers run the exact loops.  Bit-identical whatever the
 *            thread count for a given variant; agrees with "exact" to
 *            rounding (docs/kernels.md states the tolerance).
 * pybp_simd_select above chooses the variant of both sets at once (the
 * exact set has generic and avx2; the fast set also avx512).
 * pybp_kernels_select(NULL, "" or "fast") picks the fast set, "exact" the
 * exact one; returns 0, or -1 (nothing changed) for another name.  Not to
 * be called while another thread runs a kernel.  Threads: threads.h
 * (pybp_set_num_threads, pybp_get_num_threads).
 */
int pybp_kernels_select(const char *name);
const char *pybp_kernels_active(void);      /* "exact" or "fast" */

#ifdef __cplusplus
}
#endif

#endif /* PYBP_H */
