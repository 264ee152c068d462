/*
 * plan.h -- a net's sizes and parameter offsets, worked out once per
 * training call (pybp_train_epoch, pybp_train_epochs) instead of once per
 * sample: a per-sample step of a small net is a few hundred instructions,
 * and walking the layer list for each offset was a third of them.
 * Internal to csrc/ (kernels_impl.h); no precision suffix.
 */
#ifndef PYBP_PLAN_H
#define PYBP_PLAN_H

#include <stdint.h>

#include "pybp.h"

/* static inline: no warning where a file includes these and uses few */
#if defined(_MSC_VER) && !defined(__cplusplus)
#define PYBP_PLAN_FN static __inline
#else
#define PYBP_PLAN_FN static inline
#endif

/* C99's restrict, in MSVC's spelling there */
#if defined(_MSC_VER) && !defined(__clang__)
#define PYBP_RESTRICT __restrict
#else
#define PYBP_RESTRICT restrict
#endif

/* Nets of up to this many layers keep every layer's offsets here; deeper
 * ones look them up with pybp_weight_offset (layout.c). */
#define PYBP_PLAN_LAYERS 32

typedef struct pybp_plan {
    int64_t n_params, n_units;
    int64_t out_off;  /* the output block's offset in one sample's units */
    int hoisted;      /* n_layers <= PYBP_PLAN_LAYERS: w and b are set */
    int64_t w[PYBP_PLAN_LAYERS]; /* pybp_weight_offset(net, l) */
    int64_t b[PYBP_PLAN_LAYERS]; /* pybp_bias_offset(net, l), with biases */
} pybp_plan;

/* Precondition: net is valid (pybp.h's assumptions). */
PYBP_PLAN_FN void pybp_plan_init(const pybp_net *net, pybp_plan *p)
{
    const int L = net->n_layers;
    int64_t off = 0;
    int l;
    p->n_params = pybp_n_params(net);
    p->n_units = pybp_n_units(net);
    p->out_off = p->n_units - net->sizes[L];
    p->hoisted = L <= PYBP_PLAN_LAYERS;
    for (l = 0; p->hoisted && l < L; ++l) {
        p->w[l] = off;
        p->b[l] = off + net->sizes[l] * net->sizes[l + 1];
        off += PYBP_LAYER_PARAMS(net, l);
    }
}

/* Layer l's weight and bias offsets in the parameter vector. */
PYBP_PLAN_FN int64_t pybp_plan_weights(const pybp_plan *p, const pybp_net *net,
                                 int l)
{
    return p->hoisted ? p->w[l] : pybp_weight_offset(net, l);
}

PYBP_PLAN_FN int64_t pybp_plan_biases(const pybp_plan *p, const pybp_net *net,
                                int l)
{
    return p->hoisted ? p->b[l] : pybp_bias_offset(net, l);
}

#endif /* PYBP_PLAN_H */
