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

#include "fast_kernels.h" /* pybp_fast_net, PYBP_RESTRICT */
#include "pybp.h"

/* static inline: no warning where a file includes these and uses few */
#if defined(_MSC_VER) && !defined(__cplusplus)
#define PYBP_PLAN_FN static __inline
#else
#define PYBP_PLAN_FN static inline
#endif

/* A net's offsets, and (for nets of up to PYBP_FAST_NET_LAYERS layers) its
 * shape as the fast set's per-sample step reads it; deeper nets look their
 * offsets up with pybp_weight_offset (layout.c). */
typedef struct pybp_plan {
    int64_t n_params, n_units;
    int64_t out_off;  /* the output block's offset in one sample's units */
    int hoisted;      /* n_layers <= PYBP_FAST_NET_LAYERS: shape is set */
    pybp_fast_net shape; /* offsets w, b as pybp_weight/bias_offset */
    int tiny;         /* the parameters are the fast set's tiny-net packing
                       * (fast_kernels.h: tiny_*): pybp_train_epochs
                       * sets it; pybp_plan_init clears it */
} pybp_plan;

/* Precondition: net is valid (pybp.h's assumptions). */
PYBP_PLAN_FN void pybp_plan_init(const pybp_net *net, pybp_plan *p)
{
    const int L = net->n_layers;
    pybp_fast_net *s = &p->shape;
    int64_t off = 0, u = 0;
    int l;
    p->n_params = pybp_n_params(net);
    p->n_units = pybp_n_units(net);
    p->out_off = p->n_units - net->sizes[L];
    p->hoisted = L <= PYBP_FAST_NET_LAYERS;
    p->tiny = 0;
    if (!p->hoisted) return;
    s->n_layers = L;
    s->bias = net->bias;
    s->sizes[0] = net->sizes[0];
    for (l = 0; l < L; ++l) {
        s->act[l] = net->act[l];
        s->sizes[l + 1] = net->sizes[l + 1];
        s->w[l] = off;
        s->b[l] = off + net->sizes[l] * net->sizes[l + 1];
        s->u[l] = u;
        off += PYBP_LAYER_PARAMS(net, l);
        u += net->sizes[l + 1];
    }
}

/* Layer l's weight and bias offsets in the parameter vector. */
PYBP_PLAN_FN int64_t pybp_plan_weights(const pybp_plan *p, const pybp_net *net,
                                 int l)
{
    return p->hoisted ? p->shape.w[l] : pybp_weight_offset(net, l);
}

PYBP_PLAN_FN int64_t pybp_plan_biases(const pybp_plan *p, const pybp_net *net,
                                int l)
{
    return p->hoisted ? p->shape.b[l] : pybp_bias_offset(net, l);
}

#endif /* PYBP_PLAN_H */
