/*
 * derivative.h -- delta[i] *= A'(net_i) for one row (scale_by_derivative)
 * and for one value (times_derivative1), with A' written in
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
/* one sensitivity d times A'(net) from a = A(net) */
PYBP_DERIVATIVE_FN REAL SFX(times_derivative1)(int act, REAL a, REAL d)
{
    switch (act) {
    case PYBP_FAST_ACT_SIGMOID: return d * (a * ((REAL)1 - a));
    case PYBP_FAST_ACT_TANH: return d * ((REAL)1 - a * a);
    /* selects, not conditional stores, so that the loops below vectorise
     * (d * 1 is d) */
    case PYBP_FAST_ACT_RELU: return a > 0 ? d : (REAL)0;
    case PYBP_FAST_ACT_LEAKY_RELU:
        return d * (a > 0 ? (REAL)1 : (REAL)PYBP_FAST_LEAKY_SLOPE);
    default: return d; /* identity */
    }
}

/* delta[i] = times_derivative1(act, a[i], delta[i]) for i < count, the
 * choice of activation outside the loops (a constant in each, so that they
 * vectorise) */
PYBP_DERIVATIVE_FN void SFX(scale_by_derivative)(int act, const REAL *a,
                                                 int64_t count, REAL *delta)
{
    int64_t i;
#define PYBP_DERIVATIVE_LOOP(ACT)                                             \
    for (i = 0; i < count; ++i)                                               \
        delta[i] = SFX(times_derivative1)(ACT, a[i], delta[i])
    switch (act) {
    case PYBP_FAST_ACT_SIGMOID: PYBP_DERIVATIVE_LOOP(PYBP_FAST_ACT_SIGMOID); break;
    case PYBP_FAST_ACT_TANH: PYBP_DERIVATIVE_LOOP(PYBP_FAST_ACT_TANH); break;
    case PYBP_FAST_ACT_RELU: PYBP_DERIVATIVE_LOOP(PYBP_FAST_ACT_RELU); break;
    case PYBP_FAST_ACT_LEAKY_RELU:
        /* times_derivative1's factor written out: through the function,
         * GCC 12 turns the multiply by 1 into control flow and the loop
         * does not vectorise (-fopt-info-vec) */
        for (i = 0; i < count; ++i) {
            const REAL m = a[i] > 0 ? (REAL)1 : (REAL)PYBP_FAST_LEAKY_SLOPE;
            delta[i] = delta[i] * m;
        }
        break;
    default: /* identity */
        break;
    }
#undef PYBP_DERIVATIVE_LOOP
}
