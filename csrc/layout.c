/*
 * layout.c -- the precision-free helpers: parameter layout, sizes of the
 * optimizer state and of the workspaces.
 */
#include "pybp.h"
#include "fast_kernels.h" /* PYBP_FAST_KC */

int64_t pybp_weight_offset(const pybp_net *net, int layer)
{
    int64_t off = 0;
    int l;
    for (l = 0; l < layer; ++l) off += PYBP_LAYER_PARAMS(net, l);
    return off;
}

int64_t pybp_bias_offset(const pybp_net *net, int layer)
{
    return pybp_weight_offset(net, layer)
           + net->sizes[layer + 1] * net->sizes[layer];
}

int64_t pybp_n_params(const pybp_net *net)
{
    return pybp_weight_offset(net, net->n_layers);
}

int64_t pybp_n_units(const pybp_net *net)
{
    int64_t u = 0;
    int l;
    for (l = 1; l <= net->n_layers; ++l) u += net->sizes[l];
    return u;
}

int pybp_optim_state_slots(const pybp_optim *opt)
{
    switch (opt->kind) {
    case PYBP_OPT_SGD:
        return opt->momentum != 0 ? 1 : 0; /* velocity */
    case PYBP_OPT_ADAM:
        return 2;                          /* first and second moments */
    case PYBP_OPT_RMSPROP:
    case PYBP_OPT_ADAGRAD:
        return 1;                          /* mean or sum of squares */
    case PYBP_OPT_RPROP:
        return 2;                          /* previous gradient, step sizes */
    case PYBP_OPT_QUICKPROP:
        return 2;                          /* previous slope, previous step */
    default:
        return 0;
    }
}

int pybp_optim_full_batch(const pybp_optim *opt)
{
    return opt->kind == PYBP_OPT_RPROP || opt->kind == PYBP_OPT_QUICKPROP;
}

int64_t pybp_epoch_chunk(const pybp_net *net, int64_t batch)
{
    /* About PYBP_PROGRESS_WORK multiply-adds per pass, a multiple of 4 (the
     * kernels' sample blocking), at most a batch.  A chunk smaller than its
     * batch is a multiple of PYBP_FAST_KC samples (at least one block): the
     * fast set's gradient sums samples in blocks of that many, so chunks
     * then start where one piece's blocks do, and give the same bits. */
    int64_t chunk = (int64_t)(PYBP_PROGRESS_WORK / (double)pybp_n_params(net));
    chunk -= chunk % 4;
    if (chunk < 4) chunk = 4;
    if (chunk >= batch) return batch;
    chunk -= chunk % PYBP_FAST_KC;
    if (chunk < PYBP_FAST_KC) chunk = PYBP_FAST_KC;
    return chunk < batch ? chunk : batch;
}

int64_t pybp_epoch_workspace_size(const pybp_net *net, int64_t batch)
{
    const int64_t n_in = net->sizes[0], m = net->sizes[net->n_layers];
    const int64_t rows = pybp_epoch_chunk(net, batch);
    /* For one chunk: acts, deltas, output net inputs, gathered x, t and
     * sample weights; and the gradient. */
    return rows * (2 * pybp_n_units(net) + m + n_in + m + 1)
           + pybp_n_params(net);
}

int64_t pybp_evaluate_workspace_size(const pybp_net *net, int64_t batch)
{
    /* acts, output net inputs, output deltas. */
    return batch * (pybp_n_units(net) + 2 * net->sizes[net->n_layers]);
}
