/* fann_driver.c: a thin C shim over libfann's public API for pybp's
 * benchmarks (bench/run.py loads it with ctypes; bench/fann_peer.py builds
 * it on demand with `cc -O2 -shared -fPIC ... -lfloatfann`).
 *
 * It exists so that FANN is timed in C, with no Python between samples or
 * epochs, on the same initial weights and, for per-sample training, the same
 * sample order as every other implementation.  Only FANN's documented
 * functions are called; the one structural fact relied on is the layout of
 * fann_get_connection_array for a standard (fully connected) network:
 * neurons are numbered layer after layer, each layer followed by its bias
 * neuron.
 *
 * Parameters cross in pybp's per-layer order: for layer l (n_in -> n_out),
 * the weights w[j][i] row-major (n_out rows of n_in), then the n_out biases.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <floatfann.h>

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Training data plus the sample pointers as FANN allocated them, so that an
 * epoch's sample order can be imposed by permuting pointers and undone
 * before FANN frees the block. */
struct fd_data {
    struct fann_train_data *d;
    fann_type **in0, **out0;
};

/* Preconditions: n_layers >= 2, sizes[0..n_layers-1] >= 1; act codes are
 * 0 = logistic sigmoid (FANN_SIGMOID, steepness 0.5), 1 = tanh
 * (FANN_SIGMOID_SYMMETRIC, steepness 1), 2 = identity (FANN_LINEAR,
 * steepness 1).  The error function is set to FANN_ERRORFUNC_LINEAR, i.e.
 * plain (t - o), as in pybp's half_sse.  Returns NULL on failure. */
struct fann *fd_new(unsigned n_layers, const unsigned *sizes,
                    int hidden_act, int output_act)
{
    static const enum fann_activationfunc_enum code[3] = {
        FANN_SIGMOID, FANN_SIGMOID_SYMMETRIC, FANN_LINEAR};
    static const fann_type steep[3] = {0.5f, 1.0f, 1.0f};
    struct fann *ann;
    if (n_layers < 2 || hidden_act < 0 || hidden_act > 2 || output_act < 0
        || output_act > 2)
        return NULL;
    ann = fann_create_standard_array(n_layers, sizes);
    if (ann == NULL)
        return NULL;
    fann_set_activation_function_hidden(ann, code[hidden_act]);
    fann_set_activation_steepness_hidden(ann, steep[hidden_act]);
    fann_set_activation_function_output(ann, code[output_act]);
    fann_set_activation_steepness_output(ann, steep[output_act]);
    fann_set_train_error_function(ann, FANN_ERRORFUNC_LINEAR);
    return ann;
}

void fd_free_net(struct fann *ann)
{
    if (ann != NULL)
        fann_destroy(ann);
}

/* Preconditions: ann from fd_new with the same n_layers and sizes; params
 * holds sum over layers of n_out*(n_in+1) doubles in the order above.
 * Returns 0, or -1 if the connection count does not match or memory runs
 * out. */
int fd_set_params(struct fann *ann, unsigned n_layers, const unsigned *sizes,
                  const double *params)
{
    unsigned total = fann_get_total_connections(ann), k, l;
    unsigned expect = 0;
    unsigned *first = malloc(sizeof *first * (n_layers + 1));
    size_t *offset = malloc(sizeof *offset * n_layers);
    struct fann_connection *conn = malloc(sizeof *conn * (total ? total : 1));
    int rc = -1;
    if (first == NULL || offset == NULL || conn == NULL)
        goto done;
    first[0] = 0;
    for (l = 0; l < n_layers; l++)          /* each layer + its bias neuron */
        first[l + 1] = first[l] + sizes[l] + 1;
    offset[0] = 0;
    for (l = 1; l < n_layers; l++) {
        offset[l] = (l == 1) ? 0
            : offset[l - 1] + (size_t)sizes[l - 1] * (sizes[l - 2] + 1);
        expect += sizes[l] * (sizes[l - 1] + 1);
    }
    if (expect != total)
        goto done;
    fann_get_connection_array(ann, conn);
    for (k = 0; k < total; k++) {
        unsigned to = conn[k].to_neuron, from = conn[k].from_neuron;
        unsigned j, i;
        const double *layer;
        for (l = 1; l < n_layers && to >= first[l + 1]; l++)
            ;
        if (l >= n_layers || from < first[l - 1] || from >= first[l])
            goto done;
        j = to - first[l];
        i = from - first[l - 1];
        layer = params + offset[l];
        conn[k].weight = (fann_type)(i == sizes[l - 1]
            ? layer[(size_t)sizes[l] * sizes[l - 1] + j]       /* bias b_j */
            : layer[(size_t)j * sizes[l - 1] + i]);            /* w_ij */
    }
    fann_set_weight_array(ann, conn, total);
    rc = 0;
done:
    free(first);
    free(offset);
    free(conn);
    return rc;
}

/* Preconditions: X is n x n_in, T is n x n_out, both row-major doubles.
 * Returns NULL if memory runs out. */
struct fd_data *fd_data(unsigned n, unsigned n_in, unsigned n_out,
                        const double *X, const double *T)
{
    struct fd_data *h = malloc(sizeof *h);
    unsigned k, i;
    if (h == NULL)
        return NULL;
    h->d = fann_create_train(n, n_in, n_out);
    h->in0 = malloc(sizeof *h->in0 * (n ? n : 1));
    h->out0 = malloc(sizeof *h->out0 * (n ? n : 1));
    if (h->d == NULL || h->in0 == NULL || h->out0 == NULL) {
        if (h->d != NULL)
            fann_destroy_train(h->d);
        free(h->in0);
        free(h->out0);
        free(h);
        return NULL;
    }
    for (k = 0; k < n; k++) {
        for (i = 0; i < n_in; i++)
            h->d->input[k][i] = (fann_type)X[(size_t)k * n_in + i];
        for (i = 0; i < n_out; i++)
            h->d->output[k][i] = (fann_type)T[(size_t)k * n_out + i];
        h->in0[k] = h->d->input[k];
        h->out0[k] = h->d->output[k];
    }
    return h;
}

static void restore_order(struct fd_data *h)
{
    unsigned k;
    for (k = 0; k < h->d->num_data; k++) {
        h->d->input[k] = h->in0[k];
        h->d->output[k] = h->out0[k];
    }
}

void fd_free_data(struct fd_data *h)
{
    if (h == NULL)
        return;
    restore_order(h);
    fann_destroy_train(h->d);
    free(h->in0);
    free(h->out0);
    free(h);
}

/* Per-sample (FANN_TRAIN_INCREMENTAL) SGD for `epochs` calls of
 * fann_train_epoch.  orders: NULL (data order) or epochs x n sample indices,
 * each row a permutation of 0..n-1 (not checked).  Returns the seconds
 * spent, order changes included. */
double fd_train_incremental(struct fann *ann, struct fd_data *h, float lr,
                            unsigned epochs, const int64_t *orders)
{
    unsigned e, k, n = h->d->num_data;
    double t0;
    fann_set_training_algorithm(ann, FANN_TRAIN_INCREMENTAL);
    fann_set_learning_rate(ann, lr);
    fann_set_learning_momentum(ann, 0.0f);
    t0 = now_seconds();
    for (e = 0; e < epochs; e++) {
        if (orders != NULL) {
            const int64_t *row = orders + (size_t)e * n;
            for (k = 0; k < n; k++) {
                h->d->input[k] = h->in0[row[k]];
                h->d->output[k] = h->out0[row[k]];
            }
        }
        fann_train_epoch(ann, h->d);
    }
    t0 = now_seconds() - t0;
    restore_order(h);
    return t0;
}

/* Full-batch iRPROP- (FANN_TRAIN_RPROP, FANN's default parameters) for
 * `epochs` epochs.  Returns the seconds spent. */
double fd_train_rprop(struct fann *ann, struct fd_data *h, unsigned epochs)
{
    unsigned e;
    double t0;
    fann_set_training_algorithm(ann, FANN_TRAIN_RPROP);
    t0 = now_seconds();
    for (e = 0; e < epochs; e++)
        fann_train_epoch(ann, h->d);
    return now_seconds() - t0;
}

/* Plain mean squared error over samples and outputs, (1/(n n_out)) sum
 * (o - t)^2, from fann_run (FANN's own MSE halves differences for
 * symmetric activations, so it is not used). */
double fd_mse(struct fann *ann, const struct fd_data *h)
{
    unsigned k, i, n = h->d->num_data, n_out = h->d->num_output;
    double s = 0.0;
    for (k = 0; k < n; k++) {
        const fann_type *o = fann_run(ann, h->in0[k]);
        for (i = 0; i < n_out; i++) {
            double d = (double)o[i] - (double)h->out0[k][i];
            s += d * d;
        }
    }
    return (n && n_out) ? s / ((double)n * n_out) : 0.0;
}

/* fann_run on sample 0 of h, `reps` times; each call's outputs are read (so
 * the call cannot be dropped) and, when out != NULL, the last are copied to
 * out.  Returns the seconds spent. */
double fd_run_repeat(struct fann *ann, const struct fd_data *h, unsigned reps,
                     double *out)
{
    unsigned r, i, n_out = h->d->num_output;
    volatile fann_type sink = 0;
    const fann_type *o = NULL;
    double t0 = now_seconds();
    for (r = 0; r < reps; r++) {
        o = fann_run(ann, h->in0[0]);
        sink += o[0];
    }
    t0 = now_seconds() - t0;
    if (out != NULL && o != NULL)
        for (i = 0; i < n_out; i++)
            out[i] = (double)o[i];
    (void)sink;
    return t0;
}

/* fann_run over all samples of h, outputs into out (n x n_out doubles, or
 * NULL).  Returns the seconds spent. */
double fd_run_all(struct fann *ann, const struct fd_data *h, double *out)
{
    unsigned k, i, n = h->d->num_data, n_out = h->d->num_output;
    double t0 = now_seconds();
    for (k = 0; k < n; k++) {
        const fann_type *o = fann_run(ann, h->in0[k]);
        if (out != NULL)
            for (i = 0; i < n_out; i++)
                out[(size_t)k * n_out + i] = (double)o[i];
    }
    return now_seconds() - t0;
}
