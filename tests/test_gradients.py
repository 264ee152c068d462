"""Backpropagated gradients: against finite differences (check_gradients) and
against an independent numpy reference written here from the seeds' formulas.
"""
import numpy as np
import pytest

import pybp

ARCHITECTURES = [[3, 4, 2], [2, 5, 4, 3], [4, 1], [5, 3, 3, 3, 2]]
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]
# Every loss with every output activation it may be paired with.
OUTPUT_LOSS = (
    [(act, loss) for loss in ("sse", "half_sse", "mse")
     for act in ("sigmoid", "tanh", "identity", "softmax")]
    + [("softmax", "cross_entropy"), ("sigmoid", "binary_cross_entropy")]
)
LEAKY_SLOPE = 0.01  # the usual default slope for negative inputs

# ---- an independent reference: plain numpy, straight from the formulas ----


def ref_activate(name, z):
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "leaky_relu":
        return np.where(z > 0, z, LEAKY_SLOPE * z)
    if name == "identity":
        return z.copy()
    if name == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    raise AssertionError(name)


def ref_derivative(name, z):
    """A'(z) for the elementwise activations, from the net input z."""
    if name == "sigmoid":
        s = 1.0 / (1.0 + np.exp(-z))
        return s * (1.0 - s)
    if name == "tanh":
        return 1.0 / np.cosh(z) ** 2
    if name == "relu":
        return (z > 0).astype(float)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, LEAKY_SLOPE)
    if name == "identity":
        return np.ones_like(z)
    raise AssertionError(name)


def ref_forward(Ws, bs, acts, X):
    """(net inputs, activations) of every layer; Ws[l] is (n_out, n_in)."""
    zs, outs, a = [], [], X
    for l, (W, act) in enumerate(zip(Ws, acts)):
        z = a @ W.T + (bs[l] if bs else 0.0)
        a = ref_activate(act, z)
        zs.append(z)
        outs.append(a)
    return zs, outs


def ref_sample_losses(loss, O, T):
    """Per-sample error e_k and de_k/do (n x m)."""
    m = O.shape[1]
    if loss == "sse":
        return ((O - T) ** 2).sum(axis=1), 2.0 * (O - T)
    if loss == "half_sse":
        return 0.5 * ((T - O) ** 2).sum(axis=1), O - T
    if loss == "mse":
        return ((O - T) ** 2).mean(axis=1), 2.0 * (O - T) / m
    if loss == "cross_entropy":
        return -(T * np.log(O)).sum(axis=1), -T / O
    if loss == "binary_cross_entropy":
        e = -(T * np.log(O) + (1 - T) * np.log(1 - O)).sum(axis=1)
        return e, -T / O + (1 - T) / (1 - O)
    raise AssertionError(loss)


def reference(Ws, bs, acts, X, T, loss, sample_weight=None):
    """Mean loss, per-sample deltas, and gradients of the (weighted) mean
    loss, by the chain rule written out in full (softmax by its Jacobian)."""
    zs, outs = ref_forward(Ws, bs, acts, X)
    n = X.shape[0]
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, float)
    e, g = ref_sample_losses(loss, outs[-1], T)
    if acts[-1] == "softmax":
        o = outs[-1]
        # J[k] = diag(o_k) - o_k o_k^T is symmetric: delta_k = J[k] @ g_k.
        delta = o * g - o * (o * g).sum(axis=1, keepdims=True)
    else:
        delta = g * ref_derivative(acts[-1], zs[-1])
    deltas = [None] * len(Ws)
    deltas[-1] = delta
    for l in range(len(Ws) - 1, 0, -1):
        deltas[l - 1] = (deltas[l] @ Ws[l]) * ref_derivative(acts[l - 1],
                                                           zs[l - 1])
    inputs = [X] + outs[:-1]
    c = sw / sw.sum()
    gW = [(d * c[:, None]).T @ a for d, a in zip(deltas, inputs)]
    gb = [(d * c[:, None]).sum(axis=0) for d in deltas] if bs else []
    return {"loss": float((sw * e).sum() / sw.sum()), "deltas": deltas,
            "weights": gW, "biases": gb, "outputs": outs[-1], "zs": zs}


def ref_of(net, X, T, loss, sample_weight=None):
    Ws = [np.array(W, dtype=float) for W in net.weights]
    bs = [np.array(b, dtype=float) for b in net.biases]
    return reference(Ws, bs, net.activations, np.asarray(X, float),
                     np.asarray(T, float), loss, sample_weight)


# ---- data -----------------------------------------------------------------


def kink_free_data(net, n, rng, margin=1e-3):
    """Inputs whose hidden net inputs all stay `margin` away from 0, where
    relu and leaky_relu have no derivative (finite differences need that).

    An exact 0 is allowed: without biases it comes from a layer whose inputs
    are all 0 (every unit before it dead), where no perturbation reaches.
    """
    for _ in range(200):
        X = rng.normal(0.0, 1.0, (n, net.sizes[0]))
        zs = ref_of(net, X, np.zeros((n, net.sizes[-1])), "sse")["zs"]
        if all(np.all((np.abs(z) > margin) | (z == 0)) for z in zs[:-1]):
            return X
    raise AssertionError("could not draw kink-free inputs")


def make_net(sizes, hidden, output, bias=True, backend="c", seed=0, gain=1.0):
    net = pybp.Network(sizes, hidden, output, bias=bias, seed=seed,
                       backend=backend)
    if bias:
        # Non-zero biases, so that their part in the forward pass is tested.
        rng = np.random.default_rng(seed + 1000)
        for l in range(len(net.biases)):
            net.biases[l] = rng.normal(0.0, 0.5, net.biases[l].shape)
    net.params[:] *= gain
    return net


def problem(sizes, hidden, output, loss, bias, backend, make_targets, n=6,
            seed=0, gain=1.0):
    net = make_net(sizes, hidden, output, bias=bias, backend=backend,
                   seed=seed, gain=gain)
    rng = np.random.default_rng(seed + 7)
    X = kink_free_data(net, n, rng)
    T = make_targets(output, loss, n, sizes[-1], rng)
    return net, X, T


def sample_weights(n, seed=3):
    return np.random.default_rng(seed).uniform(0.2, 3.0, n)


def flat_gradient(ref):
    """The reference gradient in pybp's documented layout (per layer, the
    weights row-major, then the biases)."""
    parts = []
    for l, gW in enumerate(ref["weights"]):
        parts.append(gW.ravel())
        if ref["biases"]:
            parts.append(ref["biases"][l])
    return np.concatenate(parts)


# Central differences with step h carry an absolute error of about
# 1e-16 |loss| / h (rounding) plus h^2 |third derivative| / 6 (truncation),
# ~1e-10 at h = 1e-5.  check_gradients divides by max(|a|, |b|, 1e-7) per
# component, so a correct gradient component of 1e-7 can show a "relative
# error" of 1e-3.  A threshold of 1e-6 is only meaningful where every
# gradient component is either exactly 0 (dead relu units: both sides give
# exactly 0) or clearly above that noise.
FD_EPS = 1e-5
MIN_COMPONENT = 2e-4


def well_conditioned_problem(sizes, hidden, output, loss, bias, backend,
                             make_targets, weighted, n=6):
    """The first seed whose reference gradient has no component in
    (0, MIN_COMPONENT); weights scaled by 1.5 against vanishing gradients."""
    for seed in range(1000):
        net, X, T = problem(sizes, hidden, output, loss, bias, backend,
                            make_targets, n=n, seed=seed, gain=1.5)
        sw = sample_weights(n) if weighted else None
        g = flat_gradient(ref_of(net, X, T, loss, sw))
        if np.all((g == 0) | (np.abs(g) >= MIN_COMPONENT)):
            return net, X, T, sw
    raise AssertionError("no well-conditioned problem found")


# ---- finite differences -----------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sw"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("output,loss", OUTPUT_LOSS,
                         ids=[f"{a}-{l}" for a, l in OUTPUT_LOSS])
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=str)
def test_check_gradients_c(sizes, hidden, output, loss, bias, weighted,
                           make_targets):
    net, X, T, sw = well_conditioned_problem(sizes, hidden, output, loss, bias,
                                             "c", make_targets, weighted)
    before = net.params.copy()
    err = pybp.check_gradients(net, X, T, loss=loss, sample_weight=sw,
                               eps=FD_EPS)
    assert err < 1e-6
    # check_gradients must leave the parameters as it found them.
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("output,loss", OUTPUT_LOSS,
                         ids=[f"{a}-{l}" for a, l in OUTPUT_LOSS])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_check_gradients_python(hidden, output, loss, make_targets):
    net, X, T, sw = well_conditioned_problem([3, 4, 2], hidden, output, loss,
                                             True, "python", make_targets,
                                             weighted=True, n=4)
    assert pybp.check_gradients(net, X, T, loss=loss, sample_weight=sw,
                                eps=FD_EPS) < 1e-6


def test_check_gradients_default_eps(backend, make_targets):
    net, X, T, _ = well_conditioned_problem([3, 4, 2], "tanh", "sigmoid",
                                            "half_sse", True, backend,
                                            make_targets, weighted=False)
    assert pybp.check_gradients(net, X, T, loss="half_sse") < 1e-5


def test_check_gradients_formula(backend, make_targets):
    """The documented measure: max |a - b| / max(|a|, |b|, 1e-7) against
    central differences, here recomputed by hand."""
    net, X, T = problem([2, 3, 2], "tanh", "identity", "sse", True, backend,
                        make_targets, n=3)
    a = net.gradients(X, T, loss="sse").params
    b = np.empty_like(a)
    h = 1e-5
    for p in range(net.n_params):
        saved = net.params[p]
        net.params[p] = saved + h
        up = net.loss(X, T, loss="sse")
        net.params[p] = saved - h
        down = net.loss(X, T, loss="sse")
        net.params[p] = saved
        b[p] = (up - down) / ((saved + h) - (saved - h))
    expected = np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a),
                                                            np.abs(b)), 1e-7))
    assert pybp.check_gradients(net, X, T, loss="sse", eps=h) == \
        pytest.approx(expected, rel=1e-6, abs=1e-12)


def test_check_gradients_detects_a_wrong_gradient(make_targets):
    """check_gradients measures something: a loss that is not the one the
    gradient was taken of gives a large difference."""
    net, X, T = problem([3, 4, 2], "tanh", "sigmoid", "sse", True, "c",
                        make_targets)

    class Wrong:
        """Backprop of sse, finite differences of half_sse."""

        def __getattr__(self, name):
            return getattr(net, name)

        def gradients(self, X, T, loss, sample_weight=None):
            return net.gradients(X, T, loss="sse", sample_weight=sample_weight)

        def loss(self, X, T, loss, sample_weight=None):
            return net.loss(X, T, loss="half_sse", sample_weight=sample_weight)

    assert pybp.check_gradients(Wrong(), X, T, loss="sse") > 0.4


# ---- against the numpy reference -------------------------------------------


def assert_matches_reference(net, X, T, loss, sample_weight=None, rtol=1e-10):
    ref = ref_of(net, X, T, loss, sample_weight)
    g = net.gradients(X, T, loss=loss, sample_weight=sample_weight)
    n = len(X)
    scale = max(np.abs(np.concatenate([w.ravel() for w in ref["weights"]])).max(),
                1e-3)
    atol = 1e-13 * scale
    assert g.loss == pytest.approx(ref["loss"], rel=rtol)
    assert net.loss(X, T, loss=loss, sample_weight=sample_weight) == \
        pytest.approx(ref["loss"], rel=rtol)
    assert len(g.deltas) == len(net.weights)
    for l, (d, rd) in enumerate(zip(g.deltas, ref["deltas"])):
        assert d.shape == (n, net.sizes[l + 1])
        np.testing.assert_allclose(d, rd, rtol=rtol, atol=atol)
    assert len(g.weights) == len(ref["weights"])
    for gw, rw, w in zip(g.weights, ref["weights"], net.weights):
        assert gw.shape == w.shape
        np.testing.assert_allclose(gw, rw, rtol=rtol, atol=atol)
    assert len(g.biases) == len(ref["biases"]) == len(net.biases)
    for gb, rb in zip(g.biases, ref["biases"]):
        np.testing.assert_allclose(gb, rb, rtol=rtol, atol=atol)
    np.testing.assert_allclose(net.predict(X), ref["outputs"], rtol=1e-12,
                               atol=1e-15)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("output,loss", OUTPUT_LOSS,
                         ids=[f"{a}-{l}" for a, l in OUTPUT_LOSS])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_matches_reference(hidden, output, loss, bias, backend, make_targets):
    net, X, T = problem([3, 5, 4, 3], hidden, output, loss, bias, backend,
                        make_targets, n=7)
    assert_matches_reference(net, X, T, loss)
    assert_matches_reference(net, X, T, loss, sample_weight=sample_weights(7))


@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=str)
def test_matches_reference_architectures(sizes, backend, make_targets):
    net, X, T = problem(sizes, "tanh", "sigmoid", "half_sse", True, backend,
                        make_targets, n=5)
    assert_matches_reference(net, X, T, "half_sse")


def test_deltas_are_per_sample_and_unweighted(backend, make_targets):
    """deltas[l][k] is sample k's own delta: the same whether sample k is
    alone or in a batch, and whatever the sample weights."""
    net, X, T = problem([3, 4, 2], "tanh", "sigmoid", "sse", True, backend,
                        make_targets, n=5)
    batch = net.gradients(X, T, loss="sse")
    weighted = net.gradients(X, T, loss="sse", sample_weight=sample_weights(5))
    for k in range(len(X)):
        alone = net.gradients(X[k:k + 1], T[k:k + 1], loss="sse")
        for l in range(len(net.weights)):
            np.testing.assert_allclose(batch.deltas[l][k], alone.deltas[l][0],
                                       rtol=1e-13, atol=1e-16)
            np.testing.assert_allclose(weighted.deltas[l][k],
                                       alone.deltas[l][0], rtol=1e-13,
                                       atol=1e-16)


def test_gradient_is_mean_of_per_sample_gradients(backend, make_targets):
    net, X, T = problem([4, 3, 3], "sigmoid", "softmax", "cross_entropy", True,
                        backend, make_targets, n=6)
    whole = net.gradients(X, T, loss="cross_entropy")
    parts = [net.gradients(X[k:k + 1], T[k:k + 1], loss="cross_entropy")
             for k in range(len(X))]
    np.testing.assert_allclose(whole.params,
                               np.mean([p.params for p in parts], axis=0),
                               rtol=1e-12, atol=1e-16)
    assert whole.loss == pytest.approx(np.mean([p.loss for p in parts]),
                                       rel=1e-13)


def test_sample_weight_is_a_weighted_mean(backend, make_targets):
    net, X, T = problem([3, 4, 2], "tanh", "identity", "mse", True, backend,
                        make_targets, n=4)
    # Integer weights: the same as repeating samples.
    sw = np.array([1.0, 3.0, 2.0, 1.0])
    repeat = np.repeat(np.arange(4), sw.astype(int))
    weighted = net.gradients(X, T, loss="mse", sample_weight=sw)
    repeated = net.gradients(X[repeat], T[repeat], loss="mse")
    np.testing.assert_allclose(weighted.params, repeated.params, rtol=1e-12,
                               atol=1e-16)
    assert weighted.loss == pytest.approx(repeated.loss, rel=1e-13)
    assert net.loss(X, T, loss="mse", sample_weight=sw) == \
        pytest.approx(repeated.loss, rel=1e-13)


def test_gradient_params_is_the_flat_layout(backend, make_targets):
    """Gradients share the parameters' layout: g.weights/g.biases are the
    pieces of g.params at the same places as net.weights/net.biases."""
    net, X, T = problem([3, 4, 2], "tanh", "sigmoid", "sse", True, backend,
                        make_targets)
    g = net.gradients(X, T, loss="sse")
    assert g.params.shape == net.params.shape
    marker = np.arange(net.n_params, dtype=float)
    net.params[:] = marker
    for gw, w in zip(g.weights, net.weights):
        np.testing.assert_array_equal(g.params[w.ravel().astype(int)],
                                      gw.ravel())
    for gb, b in zip(g.biases, net.biases):
        np.testing.assert_array_equal(g.params[b.astype(int)], gb)


@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=str)
def test_no_bias(sizes, backend, make_targets):
    net = pybp.Network(sizes, "tanh", "sigmoid", bias=False, seed=1,
                       backend=backend)
    assert net.biases == []
    assert len(net.biases) == 0
    expected = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    assert net.n_params == expected == net.params.size
    assert sum(w.size for w in net.weights) == expected
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, sizes[0]))
    T = make_targets("sigmoid", "sse", 3, sizes[-1], rng)
    g = net.gradients(X, T, loss="sse")
    assert len(g.biases) == 0
    assert g.params.size == expected
    assert_matches_reference(net, X, T, "sse")


@pytest.mark.parametrize("sizes", ARCHITECTURES, ids=str)
def test_n_params_with_bias(sizes):
    net = pybp.Network(sizes, seed=0)
    assert net.n_params == sum((a + 1) * b for a, b in zip(sizes[:-1],
                                                           sizes[1:]))
    assert [b.shape for b in net.biases] == [(s,) for s in sizes[1:]]
    assert [w.shape for w in net.weights] == \
        [(b, a) for a, b in zip(sizes[:-1], sizes[1:])]


def test_relu_dead_unit_gets_no_gradient(backend):
    """A relu unit with negative net input passes no gradient back."""
    net = pybp.Network([2, 2, 1], "relu", "identity", backend=backend, seed=0)
    net.weights[0] = [[1.0, 1.0], [-1.0, -1.0]]
    net.biases[0] = [0.0, 0.0]
    net.weights[1] = [[0.5, 0.7]]
    net.biases[1] = [0.1]
    X, T = np.array([[1.0, 2.0]]), np.array([[0.0]])
    g = net.gradients(X, T, loss="half_sse")
    # o = 0.5 * 3 + 0.1 = 1.6; delta_o = 1.6; hidden deltas (0.8, 0).
    assert g.loss == pytest.approx(0.5 * 1.6 ** 2)
    np.testing.assert_allclose(g.deltas[1], [[1.6]])
    np.testing.assert_allclose(g.deltas[0], [[0.8, 0.0]])
    np.testing.assert_allclose(g.weights[0], [[0.8, 1.6], [0.0, 0.0]])
    np.testing.assert_allclose(g.weights[1], [[1.6 * 3.0, 0.0]])


def test_leaky_relu_passes_a_small_gradient(backend):
    net = pybp.Network([1, 1, 1], "leaky_relu", "identity", backend=backend,
                       seed=0)
    net.weights[0] = [[-1.0]]
    net.weights[1] = [[2.0]]
    net.biases[0] = [0.0]
    net.biases[1] = [0.0]
    g = net.gradients([[3.0]], [[0.0]], loss="half_sse")
    # z = -3, a = -3 * slope, o = -6 * slope, delta_h = o * 2 * slope.
    o = -6.0 * LEAKY_SLOPE
    assert net.predict([[3.0]])[0, 0] == pytest.approx(o)
    np.testing.assert_allclose(g.deltas[0], [[o * 2.0 * LEAKY_SLOPE]])


@pytest.mark.parametrize("loss", ["sse", "half_sse", "mse"])
def test_squared_loss_scales(loss, backend):
    """sse = 2 half_sse; mse = sse / n_outputs; all averaged over samples."""
    net = pybp.Network([2, 3], "identity", seed=0, backend=backend)
    net.weights[0] = np.zeros((3, 2))
    net.biases[0] = [1.0, 2.0, 3.0]
    X = np.zeros((2, 2))
    T = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]])
    # sample 0: sum of squares 14; sample 1: 0.
    expected = {"sse": 14.0 / 2, "half_sse": 7.0 / 2, "mse": 14.0 / 3 / 2}
    assert net.loss(X, T, loss=loss) == pytest.approx(expected[loss], rel=1e-15)


def test_cross_entropy_value(backend):
    net = pybp.Network([1, 3], "softmax", seed=0, backend=backend)
    net.weights[0] = np.zeros((3, 1))
    net.biases[0] = [0.0, 0.0, np.log(2.0)]  # softmax -> (1/4, 1/4, 1/2)
    np.testing.assert_allclose(net.predict([[1.0]]), [[0.25, 0.25, 0.5]],
                               rtol=1e-15)
    assert net.loss([[1.0]], [[0.0, 0.0, 1.0]], loss="cross_entropy") == \
        pytest.approx(np.log(2.0), rel=1e-14)
    assert net.loss([[1.0]], [[1.0, 0.0, 0.0]], loss="cross_entropy") == \
        pytest.approx(np.log(4.0), rel=1e-14)


def test_binary_cross_entropy_value(backend):
    net = pybp.Network([1, 2], "sigmoid", seed=0, backend=backend)
    net.weights[0] = np.zeros((2, 1))
    net.biases[0] = [0.0, np.log(3.0)]  # sigmoid -> (1/2, 3/4)
    expected = -np.log(0.5) - np.log(0.25)
    assert net.loss([[1.0]], [[1.0, 0.0]], loss="binary_cross_entropy") == \
        pytest.approx(expected, rel=1e-14)


def test_cross_entropy_stays_finite_when_an_output_underflows(backend):
    net = pybp.Network([1, 2], "softmax", seed=0, backend=backend)
    net.weights[0] = [[0.0], [0.0]]
    net.biases[0] = [0.0, 800.0]  # softmax output 0 underflows to 0.0
    value = net.loss([[1.0]], [[1.0, 0.0]], loss="cross_entropy")
    assert np.isfinite(value)
    assert value == pytest.approx(800.0, rel=1e-12)
    g = net.gradients([[1.0]], [[1.0, 0.0]], loss="cross_entropy")
    assert np.all(np.isfinite(g.params))


@pytest.mark.parametrize("hidden,output,loss",
                         [("tanh", "sigmoid", "half_sse"),
                          ("relu", "softmax", "cross_entropy"),
                          ("sigmoid", "sigmoid", "binary_cross_entropy")])
def test_mixed_activation_list(hidden, output, loss, backend, make_targets):
    acts = [hidden, "leaky_relu", output]
    net = pybp.Network([3, 4, 3, 2], acts, seed=2, backend=backend)
    assert net.activations == tuple(acts)
    rng = np.random.default_rng(5)
    X = kink_free_data(net, 5, rng)
    T = make_targets(output, loss, 5, 2, rng)
    assert_matches_reference(net, X, T, loss)
    assert pybp.check_gradients(net, X, T, loss=loss) < 1e-6


def test_linear_alias_is_identity():
    net = pybp.Network([2, 3, 1], "linear", seed=0)
    assert net.activations == ("identity", "identity")


def test_output_activation_none_means_same_as_hidden():
    assert pybp.Network([2, 3, 4, 1], "tanh").activations == ("tanh",) * 3
    assert pybp.Network([2, 3, 4, 1], "tanh", "sigmoid").activations == \
        ("tanh", "tanh", "sigmoid")


def test_check_gradients_float32(backend, make_targets):
    net = pybp.Network([3, 4, 2], "tanh", "sigmoid", seed=0, dtype="float32",
                       backend=backend)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(5, 3))
    T = make_targets("sigmoid", "sse", 5, 2, rng)
    err = pybp.check_gradients(net, X, T, loss="sse")
    assert np.isfinite(err) and err < 0.05


@pytest.mark.parametrize("targets", ["one-hot", "soft"])
def test_cross_entropy_targets(targets, backend):
    """-sum t log softmax(z) has gradient o * sum(t) - t = o - t for
    probability rows t (other rows are refused: tests/test_network.py)."""
    net = make_net([4, 5, 3], "tanh", "softmax", backend=backend, seed=4)
    rng = np.random.default_rng(4)
    X = rng.normal(size=(6, 4))
    if targets == "one-hot":
        T = np.eye(3)[rng.integers(0, 3, 6)]
    else:
        T = rng.uniform(0.0, 1.0, (6, 3))
        T /= T.sum(axis=1, keepdims=True)
    assert_matches_reference(net, X, T, "cross_entropy")
    g = net.gradients(X, T, loss="cross_entropy")
    o = net.predict(X)
    np.testing.assert_allclose(g.deltas[-1], o * T.sum(axis=1, keepdims=True)
                               - T, rtol=1e-12, atol=1e-15)


def test_binary_cross_entropy_hard_targets(backend):
    net = make_net([3, 4, 2], "relu", "sigmoid", backend=backend, seed=6)
    rng = np.random.default_rng(6)
    X = kink_free_data(net, 5, rng)
    T = rng.integers(0, 2, (5, 2)).astype(float)
    assert_matches_reference(net, X, T, "binary_cross_entropy")
    g = net.gradients(X, T, loss="binary_cross_entropy")
    # sigmoid + binary cross-entropy: delta = o - t
    np.testing.assert_allclose(g.deltas[-1], net.predict(X) - T, rtol=1e-12,
                               atol=1e-15)


def test_loss_is_a_python_float(backend):
    net = make_net([3, 2], "sigmoid", "sigmoid", backend=backend)
    value = net.loss(np.ones((2, 3)), np.zeros((2, 2)))
    assert type(value) is float
    assert type(net.gradients(np.ones((2, 3)), np.zeros((2, 2))).loss) is float
