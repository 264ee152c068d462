/*
 * pybp.h -- the C API of pybp's kernels.
 *
 * Pure C99: no Python.h.  Every kernel works on caller-allocated, contiguous,
 * row-major buffers and comes in two precisions, suffixed _f64 (double) and
 * _f32 (float).  Nothing here allocates; nothing here checks its arguments:
 * the preconditions above each function are the caller's job (pybp/_core.pyx
 * checks them before releasing the GIL).
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
 * slot s at state + s * n_params, zero-initialised by the caller.
 */
typedef struct pybp_optim {
    int kind;              /* enum pybp_optimizer_kind                        */
    double lr;             /* learning rate eta > 0 (not used by Rprop)       */
    double weight_decay;   /* L2 coefficient lambda >= 0, weights only        */
    double momentum;       /* SGD: mu in [0, 1)                               */
    int nesterov;          /* SGD: nonzero for Nesterov momentum              */
    double beta1, beta2;   /* Adam: moment decays                             */
    double rho;            /* RMSprop: decay of the running mean of g^2       */
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

/*
 * Called by the epoch driver every so often between batches (never inside
 * one), with the number of samples processed so far.  A nonzero return stops
 * the epoch after the batch just finished, so parameters are never left
 * half-updated.
 */
typedef int (*pybp_progress_fn)(void *ctx, int64_t samples_done);

/* ---- sizes and offsets (no precision suffix) -------------------------- */
int64_t pybp_n_params(const pybp_net *net);
int64_t pybp_weight_offset(const pybp_net *net, int layer);
int64_t pybp_bias_offset(const pybp_net *net, int layer); /* needs net->bias */
int64_t pybp_n_units(const pybp_net *net); /* sizes[1] + ... + sizes[L] */
/* Number of n_params-sized state slots the optimizer needs. */
int pybp_optim_state_slots(const pybp_optim *opt);
/* Nonzero for optimizers that take one step per epoch on the gradient of
 * the whole training set (Rprop, Quickprop). */
int pybp_optim_full_batch(const pybp_optim *opt);
/* Values (of the kernel's precision) needed by pybp_train_epoch_* and by
 * pybp_evaluate_* for a given batch size. */
int64_t pybp_epoch_workspace_size(const pybp_net *net, int64_t batch);
int64_t pybp_evaluate_workspace_size(const pybp_net *net, int64_t batch);

/* ---- kernels, declared once per precision ----------------------------- */
#define PYBP_DECLARE_KERNELS(REAL, SFX)                                        \
/*                                                                             \
 * Forward pass for n samples x (n x sizes[0]).  Writes every layer's          \
 * activations A(c) into acts (n * pybp_n_units values) and, if z_out is not   \
 * NULL, the output layer's net inputs (n x sizes[L]).                         \
 */                                                                            \
void pybp_forward_##SFX(const pybp_net *net, const REAL *params,               \
                        const REAL *x, int64_t n, REAL *acts, REAL *z_out);    \
                                                                               \
/*                                                                             \
 * Per-sample loss and output sensitivity.  o, z, t, delta are (n x m); o are  \
 * the outputs, z their net inputs, `act` the output activation.  Writes each  \
 * sample's own delta = de_k/dz (not weighted).  Returns sum_k w_k e_k with    \
 * w_k = sw[k], or 1 when sw is NULL.  Preconditions: cross_entropy only with  \
 * softmax, binary_cross_entropy only with sigmoid.                            \
 */                                                                            \
double pybp_output_delta_##SFX(int loss, int act, const REAL *o,               \
                               const REAL *z, const REAL *t, const REAL *sw,   \
                               int64_t n, int64_t m, REAL *delta);             \
                                                                               \
/*                                                                             \
 * The delta recurrence delta_p_i = A'(p_i) sum_j w_ij delta_c_j, from the      \
 * output layer's block of `deltas` (already filled) down to layer 0.          \
 */                                                                            \
void pybp_backward_##SFX(const pybp_net *net, const REAL *params, int64_t n,   \
                         const REAL *acts, REAL *deltas);                      \
                                                                               \
/*                                                                             \
 * grad += sum_k c_k * (dE/dW, dE/db of sample k), c_k = scale * sw[k] (or      \
 * scale when sw is NULL): dE/dw_ij = A(p_i) delta_c_j, dE/db_j = delta_c_j.   \
 */                                                                            \
void pybp_accumulate_gradient_##SFX(const pybp_net *net, const REAL *x,        \
                                    int64_t n, const REAL *acts,               \
                                    const REAL *deltas, const REAL *sw,        \
                                    double scale, REAL *grad);                 \
                                                                               \
/*                                                                             \
 * One optimizer update of params from grad (the gradient of the mean loss).   \
 * weight_decay adds lambda * w to the gradient of weights, never of biases;   \
 * biases are left alone when train_biases is 0.  Increments opt->step.        \
 */                                                                            \
void pybp_optim_step_##SFX(const pybp_net *net, pybp_optim *opt,               \
                           REAL *params, const REAL *grad, REAL *state,        \
                           int train_biases);                                  \
                                                                               \
/*                                                                             \
 * Forward, loss, backward, gradient and loss sum for one batch of n samples   \
 * already gathered into x, t (and sw, or NULL).  grad is overwritten with     \
 * the gradient of the (weighted) mean loss over the batch; acts, deltas and   \
 * z_out are workspaces as above.  Returns the weighted loss sum and stores    \
 * the weight sum (n when sw is NULL) in *weight_sum.                          \
 */                                                                            \
double pybp_batch_gradient_##SFX(const pybp_net *net, const REAL *params,      \
                                 const REAL *x, const REAL *t, const REAL *sw, \
                                 int64_t n, int loss, REAL *acts,              \
                                 REAL *deltas, REAL *z_out, REAL *grad,        \
                                 double *weight_sum);                          \
                                                                               \
/*                                                                             \
 * Loss (and correct-prediction count) of X, T in chunks of task->batch       \
 * samples, added into *stats.  work holds pybp_evaluate_workspace_size.      \
 */                                                                            \
void pybp_evaluate_##SFX(const pybp_net *net, const REAL *params,              \
                         const REAL *X, const REAL *T, const REAL *sw,         \
                         int64_t n, const pybp_task *task, REAL *work,         \
                         pybp_stats *stats);                                   \
                                                                               \
/*                                                                             \
 * One training epoch over the samples order[0..n-1] of X (N x sizes[0]) and  \
 * T (N x sizes[L]), with sw (N) or NULL, in batches of task->batch (the last \
 * may be smaller).  Per batch: gather, forward, loss, backward, gradient,    \
 * and an optimizer step -- or, for a full-batch optimizer, one step at the   \
 * end on the gradient of the whole epoch.  Each batch's loss, computed       \
 * before its update, is added into *stats.  work holds                        \
 * pybp_epoch_workspace_size(net, task->batch) values.  Stops early, after a  \
 * whole batch and never inside an update, when progress returns nonzero or   \
 * when a batch's loss is not finite (that batch is not applied).  Returns    \
 * the number of samples whose batches were applied (for a full-batch         \
 * optimizer: n if the step was taken, else 0).                               \
 */                                                                            \
int64_t pybp_train_epoch_##SFX(const pybp_net *net, pybp_optim *opt,           \
                               REAL *params, REAL *state, const REAL *X,       \
                               const REAL *T, const REAL *sw,                  \
                               const int64_t *order, int64_t n,                \
                               const pybp_task *task, REAL *work,              \
                               pybp_stats *stats, pybp_progress_fn progress,   \
                               void *ctx);

PYBP_DECLARE_KERNELS(double, f64)
PYBP_DECLARE_KERNELS(float, f32)

/* ---- run-time choice of the instruction-set variant --------------------- */

/*
 * Every kernel above is compiled once per instruction-set variant ("generic":
 * the platform's baseline; "avx2": x86-64 with AVX2) and called through the
 * variant chosen here.  All variants give bit-identical results.
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

#ifdef __cplusplus
}
#endif

#endif /* PYBP_H */
