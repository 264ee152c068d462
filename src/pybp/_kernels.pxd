# Cython declarations of csrc/pybp.h: the whole cimport surface of the C core,
# and only what pybp/_core.pyx uses.  The kernels' parameter names, meanings
# and preconditions are documented once, in pybp.h; here are their types.
from libc.stdint cimport int64_t, uint64_t

cdef extern from "pybp.h" nogil:
    enum:
        PYBP_ACT_SIGMOID
        PYBP_ACT_TANH
        PYBP_ACT_RELU
        PYBP_ACT_LEAKY_RELU
        PYBP_ACT_IDENTITY
        PYBP_ACT_SOFTMAX
        PYBP_LOSS_SSE
        PYBP_LOSS_HALF_SSE
        PYBP_LOSS_MSE
        PYBP_LOSS_CROSS_ENTROPY
        PYBP_LOSS_BINARY_CROSS_ENTROPY
        PYBP_OPT_SGD
        PYBP_OPT_ADAM
        PYBP_OPT_RMSPROP
        PYBP_OPT_ADAGRAD
        PYBP_OPT_RPROP
        PYBP_OPT_QUICKPROP
        PYBP_METRIC_NONE
        PYBP_METRIC_ARGMAX
        PYBP_METRIC_THRESHOLD

    double PYBP_LEAKY_SLOPE

    ctypedef struct pybp_net:
        int n_layers
        const int64_t *sizes
        const int *act
        int bias

    ctypedef struct pybp_optim:
        int kind
        double lr
        double weight_decay
        double momentum
        int nesterov
        double beta1
        double beta2
        double rho
        double eps
        double eta_plus
        double eta_minus
        double delta0
        double delta_min
        double delta_max
        double mu
        int64_t step

    ctypedef struct pybp_task:
        int loss
        int metric
        double threshold
        int64_t batch
        int train_biases

    ctypedef struct pybp_stats:
        double loss_sum
        double weight_sum
        double correct_sum

    enum:
        PYBP_STOP_MAX_EPOCHS
        PYBP_STOP_TARGET
        PYBP_STOP_PATIENCE
        PYBP_STOP_DIVERGED
        PYBP_STOP_ASKED
        PYBP_STOP_ASKED_INSIDE
        PYBP_STOP_BAD_INPUT

    ctypedef struct pybp_epochs:
        int64_t max_epochs
        const uint64_t *seeds
        const double *lr
        int has_target
        double target_loss
        int watch
        int64_t patience
        double min_delta
        double best
        int64_t wait
        int improved
        int64_t last_step0
        int stop
        int check_x

    ctypedef int (*pybp_progress_fn)(void *ctx, int64_t samples_done) noexcept

    int64_t pybp_n_params(const pybp_net *net)
    int64_t pybp_n_units(const pybp_net *net)
    int pybp_optim_state_slots(const pybp_optim *opt)
    int pybp_optim_full_batch(const pybp_optim *opt)
    int64_t pybp_epoch_workspace_size(const pybp_net *net, int64_t batch)
    int64_t pybp_evaluate_workspace_size(const pybp_net *net, int64_t batch)

    # The four kernels, f64 then f32 (double / float buffers).
    void pybp_forward_f64(const pybp_net *, const double *, const double *,
                          int64_t, double *, double *)
    void pybp_forward_f32(const pybp_net *, const float *, const float *,
                          int64_t, float *, float *)
    double pybp_batch_gradient_f64(const pybp_net *, const double *,
        const double *, const double *, const double *, int64_t, int,
        double *, double *, double *, double *, double *)
    double pybp_batch_gradient_f32(const pybp_net *, const float *,
        const float *, const float *, const float *, int64_t, int,
        float *, float *, float *, float *, double *)
    void pybp_evaluate_f64(const pybp_net *, const double *, const double *,
        const double *, const double *, int64_t, const pybp_task *, double *,
        pybp_stats *)
    void pybp_evaluate_f32(const pybp_net *, const float *, const float *,
        const float *, const float *, int64_t, const pybp_task *, float *,
        pybp_stats *)
    int64_t pybp_train_epoch_f64(const pybp_net *, pybp_optim *, double *,
        double *, const double *, const double *, const double *,
        const int64_t *, int64_t, const pybp_task *, double *, pybp_stats *,
        pybp_progress_fn, void *)
    int64_t pybp_train_epoch_f32(const pybp_net *, pybp_optim *, float *,
        float *, const float *, const float *, const float *,
        const int64_t *, int64_t, const pybp_task *, float *, pybp_stats *,
        pybp_progress_fn, void *)

    int64_t pybp_train_epochs_f64(const pybp_net *, pybp_optim *, double *,
        double *, const double *, const double *, const double *, int64_t,
        const pybp_task *, pybp_epochs *, int64_t *, double *, double *,
        double *, double *, pybp_progress_fn, void *)
    int64_t pybp_train_epochs_f32(const pybp_net *, pybp_optim *, float *,
        float *, const float *, const float *, const float *, int64_t,
        const pybp_task *, pybp_epochs *, int64_t *, float *, float *,
        float *, double *, pybp_progress_fn, void *)

    int pybp_simd_select(const char *name)
    const char *pybp_simd_active()
    int pybp_simd_count()
    const char *pybp_simd_name(int i)
    const char *pybp_compiler()
    int pybp_kernels_select(const char *name)
    const char *pybp_kernels_active()

cdef extern from "threads.h" nogil:
    int PYBP_MAX_THREADS
    void pybp_set_num_threads(int n)
    int pybp_get_num_threads()
    int pybp_available_cores()

cdef extern from "shuffle.h" nogil:
    void pybp_shuffle_order(uint64_t *state, int64_t *order, int64_t n)

cdef extern from "pybp_build.h":
    const char *PYBP_BUILD_CFLAGS
    const char *PYBP_BUILD_AVX2_CFLAGS
