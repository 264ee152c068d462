/*
 * derivative.h -- delta[i] *= A'(net_i) for one row, with A' written in
 * terms of the activation a = A(net) so that the forward pass need not keep
 * the net inputs: sigmoid a(1-a), tanh 1-a^2, relu [a>0] (0 is set, not
 * multiplied in), leaky_relu 1 or the slope (a has the sign of net),
 * identity 1.  The shared drivers (kernels_impl.h) and the fast set's
 * per-sample step (fast_sample.h) include it in their bodies, with their
 * REAL and SFX; no include guard.  Activation codes as fast_kernels.h's,
 * which equal pybp.h's (fast_drivers.c checks).
 */
#ifndef PYBP_DERIVATIVE_FN
#define PYBP_DERIVATIVE_FN static
#endif
PYBP_DERIVATIVE_FN void SFX(scale_by_derivative)(int act, const REAL *a, int64_t count,
                                     REAL *delta)
{
    int64_t i;
    switch (act) {
    case PYBP_FAST_ACT_SIGMOID:
        for (i = 0; i < count; ++i) delta[i] *= a[i] * ((REAL)1 - a[i]);
        break;
    case PYBP_FAST_ACT_TANH:
        for (i = 0; i < count; ++i) delta[i] *= (REAL)1 - a[i] * a[i];
        break;
    case PYBP_FAST_ACT_RELU:
        /* selects, not conditional stores, so that the loops vectorise
         * (delta * 1 is delta) */
        for (i = 0; i < count; ++i) delta[i] = a[i] > 0 ? delta[i] : (REAL)0;
        break;
    case PYBP_FAST_ACT_LEAKY_RELU:
        for (i = 0; i < count; ++i) {
            const REAL m = a[i] > 0 ? (REAL)1 : (REAL)PYBP_FAST_LEAKY_SLOPE;
            delta[i] = delta[i] * m;
        }
        break;
    default: /* identity */
        break;
    }
}
