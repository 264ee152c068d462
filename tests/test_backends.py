"""The C backend against the pure-Python one: the same numbers for
predict, loss, gradients and training, in float64 (to ~1e-9 relative) and
float32 (to float32 precision).  Nothing else lives here: each module's own
behaviour is tested in its test_<module>.py, on both backends."""
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import pybp
from pybp.optim import SGD

import helpers_train as H  # tests/ is on sys.path (see conftest.py)

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]


def twin_nets(sizes, hidden, output, dtype="float64", seed=0, bias=True):
    """The same network on both backends (same seed, so same weights)."""
    c = pybp.Network(sizes, hidden, output, seed=seed, dtype=dtype,
                     backend="c", bias=bias)
    p = pybp.Network(sizes, hidden, output, seed=seed, dtype=dtype,
                     backend="python", bias=bias)
    if bias:
        rng = np.random.default_rng(seed)
        for l in range(len(c.biases)):
            c.biases[l] = p.biases[l] = rng.normal(0, 0.3, c.biases[l].shape)
    return c, p


def data(sizes, output, loss, n, make_targets, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 1.0, (n, sizes[0]))
    return X, make_targets(output, loss, n, sizes[-1], rng)


def floor(atol):
    """The absolute tolerance for a C-vs-Python comparison: on the fast set,
    whose products round differently (one multiply-add chain per output,
    fused on FMA variants: docs/kernels.md), at least 1e-12 (about 10^4 u
    at unit scale), for values that cancel to far below their terms."""
    return max(atol, 1e-12) if pybp.get_kernels() == "fast" else atol


def assert_gradients_close(a, b, rtol, atol=0.0):
    atol = floor(atol)
    assert a.loss == pytest.approx(b.loss, rel=rtol, abs=atol)
    np.testing.assert_allclose(a.params, b.params, rtol=rtol, atol=atol)
    for da, db in zip(a.deltas, b.deltas):
        np.testing.assert_allclose(da, db, rtol=rtol, atol=atol)


# ---- float64: the two backends give the same numbers ------------------------


def test_same_seed_same_initial_weights_on_both_backends():
    c = pybp.Network([4, 6, 3], "relu", seed=11, backend="c")
    p = pybp.Network([4, 6, 3], "relu", seed=11, backend="python")
    np.testing.assert_array_equal(c.params, p.params)


@pytest.mark.parametrize("output,loss", H.OUTPUT_LOSS,
                         ids=[f"{a}-{l}" for a, l in H.OUTPUT_LOSS])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_predict_loss_gradients_agree(hidden, output, loss, make_targets):
    sizes = [5, 7, 4, 3]
    c, p = twin_nets(sizes, hidden, output)
    X, T = data(sizes, output, loss, 9, make_targets)
    np.testing.assert_allclose(c.predict(X), p.predict(X), rtol=1e-12,
                               atol=floor(1e-15))
    assert c.loss(X, T, loss=loss) == pytest.approx(p.loss(X, T, loss=loss),
                                                    rel=1e-12)
    gc, gp = c.gradients(X, T, loss=loss), p.gradients(X, T, loss=loss)
    assert_gradients_close(gc, gp, rtol=1e-11, atol=1e-15)


def test_agree_without_bias_and_with_sample_weight(make_targets):
    sizes = [6, 5, 2]
    c, p = twin_nets(sizes, "tanh", "sigmoid", bias=False)
    X, T = data(sizes, "sigmoid", "sse", 8, make_targets)
    sw = np.linspace(0.5, 2.0, 8)
    assert_gradients_close(c.gradients(X, T, "sse", sample_weight=sw),
                           p.gradients(X, T, "sse", sample_weight=sw),
                           rtol=1e-11, atol=1e-15)


OPTIMIZERS = {
    "sgd": lambda: SGD(0.1),
    "momentum": lambda: SGD(0.05, momentum=0.9),
    "nesterov": lambda: SGD(0.05, momentum=0.9, nesterov=True),
    "decay": lambda: SGD(0.1, weight_decay=0.01),
    "all": lambda: SGD(0.05, momentum=0.5, nesterov=True, weight_decay=1e-3),
}


@pytest.mark.parametrize("train_biases", [True, False])
@pytest.mark.parametrize("batch_size", [1, 4, 24], ids=["b1", "b4", "full"])
@pytest.mark.parametrize("opt", list(OPTIMIZERS))
def test_training_agrees(opt, batch_size, train_biases, make_targets):
    sizes = [3, 5, 2]
    c, p = twin_nets(sizes, "tanh", "sigmoid")
    X, T = data(sizes, "sigmoid", "half_sse", 24, make_targets)
    hist = {}
    for net in (c, p):
        hist[net.backend] = net.fit(X, T, optimizer=OPTIMIZERS[opt](),
                                    epochs=5, batch_size=batch_size, seed=123,
                                    train_biases=train_biases)
    np.testing.assert_allclose(c.params, p.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(hist["c"].loss, hist["python"].loss, rtol=1e-9)
    assert len(hist["c"].loss) == 5
    # Training did something (so agreement is not agreement of no-ops).
    assert not np.allclose(c.params, twin_nets(sizes, "tanh", "sigmoid")[0].params)


@pytest.mark.parametrize("output,loss", H.OUTPUT_LOSS,
                         ids=[f"{a}-{l}" for a, l in H.OUTPUT_LOSS])
def test_training_agrees_for_every_loss(output, loss, make_targets):
    sizes = [4, 6, 3]
    c, p = twin_nets(sizes, "relu", output)
    X, T = data(sizes, output, loss, 10, make_targets)
    for net in (c, p):
        net.fit(X, T, loss=loss, optimizer=SGD(0.05, momentum=0.8), epochs=4,
                batch_size=3, seed=5)
    np.testing.assert_allclose(c.params, p.params, rtol=1e-9, atol=1e-12)


def test_training_with_sample_weight_agrees(make_targets):
    sizes = [3, 4, 1]
    c, p = twin_nets(sizes, "sigmoid", "identity")
    X, T = data(sizes, "identity", "mse", 12, make_targets)
    sw = np.linspace(0.1, 3.0, 12)
    for net in (c, p):
        net.fit(X, T, loss="mse", optimizer=SGD(0.05), epochs=3, batch_size=5,
                seed=9, sample_weight=sw)
    np.testing.assert_allclose(c.params, p.params, rtol=1e-9, atol=1e-12)


# ---- float32 ----------------------------------------------------------------


def test_float32_c_and_python_close(make_targets):
    sizes = [4, 6, 2]
    c, p = twin_nets(sizes, "sigmoid", "sigmoid", dtype="float32")
    X, T = data(sizes, "sigmoid", "sse", 10, make_targets)
    np.testing.assert_allclose(c.predict(X), p.predict(X), rtol=1e-5,
                               atol=1e-6)
    for net in (c, p):
        net.fit(X, T, loss="sse", optimizer=SGD(0.2, momentum=0.5), epochs=5,
                batch_size=2, seed=0)
    np.testing.assert_allclose(c.params, p.params, rtol=1e-3, atol=1e-5)


def fit_on_both(net, X, T, optimizer, **fit):
    """Copies of net trained on each backend with the same arguments, each
    with a fresh optimizer(): (c_net, python_net, c_history, python_history)."""
    c, py = net.copy(backend="c"), net.copy(backend="python")
    return (c, py, c.fit(X, T, optimizer=optimizer(), **fit),
            py.fit(X, T, optimizer=optimizer(), **fit))


@pytest.mark.parametrize("name", list(H.OPTIMIZERS))
def test_every_optimizer_trains_alike(name):
    """Same seed, same numbers: the C and pure-Python backends follow the
    same sample order and arithmetic (float64, rel <= 1e-9)."""
    net, X, T = H.regression_problem(n=20, seed=10)
    c, py, hc, hp = fit_on_both(net, X, T, optimizer=H.OPTIMIZERS[name],
                                epochs=3, batch_size=3, seed=4)
    scale = np.max(np.abs(c.params))
    np.testing.assert_allclose(py.params, c.params, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(hp.loss, hc.loss, rtol=1e-9)
    assert not np.allclose(c.params, net.params)


@pytest.mark.parametrize("name", ["momentum", "adam", "rprop"])
def test_backends_agree_on_classification_with_weights_and_validation(name):
    net, X, T, _ = H.classification_problem(n=24, seed=11)
    w = np.random.default_rng(0).uniform(0.2, 2.0, len(X))
    c, py, hc, hp = fit_on_both(net, X, T, optimizer=H.OPTIMIZERS[name],
                                loss="cross_entropy", epochs=3, batch_size=5,
                                seed=2, sample_weight=w, validation_split=0.25,
                                train_biases=False)
    np.testing.assert_allclose(py.params, c.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(hp.loss, hc.loss, rtol=1e-9)
    np.testing.assert_allclose(hp.val_loss, hc.val_loss, rtol=1e-9)
    assert hp.accuracy == pytest.approx(hc.accuracy, rel=1e-12)
    assert hp.val_accuracy == pytest.approx(hc.val_accuracy, rel=1e-12)
    # train_biases=False: the biases stayed at their initial zeros.
    for b in c.biases:
        assert not b.any()


# ---- property: random small problems ----------------------------------------

PAIRS = H.OUTPUT_LOSS + [("identity", "sse"), ("tanh", "half_sse")]


@st.composite
def small_problems(draw):
    depth = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(1, 6), min_size=depth + 1,
                          max_size=depth + 1))
    hidden = draw(st.lists(st.sampled_from(HIDDEN), min_size=depth - 1,
                           max_size=depth - 1))
    output, loss = draw(st.sampled_from(PAIRS))
    if output == "softmax" and sizes[-1] == 1:
        sizes[-1] = 2
    bias = draw(st.booleans())
    n = draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.sampled_from([0.1, 1.0, 3.0]))
    return sizes, hidden + [output], loss, bias, n, seed, scale


def twin_problem(problem, make_targets):
    """A drawn problem's network on each backend, its data, and the rng
    that drew the data (for anything else the test draws)."""
    sizes, acts, loss, bias, n, seed, scale = problem
    c = pybp.Network(sizes, acts, bias=bias, seed=seed % 1000, backend="c")
    p = pybp.Network(sizes, acts, bias=bias, seed=seed % 1000,
                     backend="python")
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, scale, (n, sizes[0]))
    T = make_targets(acts[-1], loss, n, sizes[-1], rng)
    return c, p, X, T, rng


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problem=small_problems())
def test_backends_agree_property(problem, make_targets):
    sizes, acts, loss, bias, n, seed, scale = problem
    c, p, X, T, rng = twin_problem(problem, make_targets)
    np.testing.assert_allclose(c.predict(X), p.predict(X), rtol=1e-11,
                               atol=floor(1e-14))
    gc, gp = c.gradients(X, T, loss=loss), p.gradients(X, T, loss=loss)
    assert gc.params.shape == gp.params.shape == (c.n_params,)
    assert_gradients_close(gc, gp, rtol=1e-10, atol=1e-14)
    # Each gives the gradient of its own mean loss: one step of plain SGD on
    # a single batch equals params - lr * gradient.
    lr = 0.1
    expected = c.params - lr * gc.params
    c.fit(X, T, loss=loss, optimizer=SGD(lr), batch_size=n, shuffle=False)
    p.fit(X, T, loss=loss, optimizer=SGD(lr), batch_size=n, shuffle=False)
    np.testing.assert_allclose(c.params, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(p.params, expected, rtol=1e-10, atol=1e-14)


# derandomize: the same 40 problems on every run (CI included); random draws
# found the two examples below, each a diverging run at a tolerance edge.
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problem=small_problems(),
       lr=st.sampled_from([0.01, 0.1, 0.5]),
       momentum=st.sampled_from([0.0, 0.5, 0.9]),
       nesterov=st.booleans(),
       weight_decay=st.sampled_from([0.0, 1e-3, 0.1]),
       batch_size=st.integers(1, 6),
       train_biases=st.booleans(),
       weighted=st.booleans())
# A run that diverges (weights of 1e5 after 15 steps of lr 0.5): the fast
# set's tanh (generic variant: its own exp-based scheme, within 2 ulps of
# libm's) starts 1e-16 away from Python's, and each step multiplies that.
@example(problem=([1, 5, 1], ["tanh", "identity"], "mse", False, 5, 0, 3.0),
         lr=0.5, momentum=0.0, nesterov=False, weight_decay=0.0,
         batch_size=1, train_biases=False, weighted=False)
# One whose third epoch overflows: inf on the fast set, NaN in Python.
@example(problem=([1, 2, 1], ["leaky_relu", "identity"], "mse", False, 5, 1,
                  1.0),
         lr=0.5, momentum=0.0, nesterov=False, weight_decay=0.0,
         batch_size=1, train_biases=False, weighted=False)
def test_training_agrees_property(problem, lr, momentum, nesterov,
                                  weight_decay, batch_size, train_biases,
                                  weighted, make_targets):
    """Three epochs of SGD on a drawn problem agree between the backends:
    to 1e-9 on the exact set (whose activations are libm's, as Python's),
    to 1e-6 on the fast set, whose activations differ from libm's by up to
    2 ulps and whose training, where it diverges, grows that difference
    step by step (the first example above: 7e-9 after 15 steps); on the
    fast set an overflowing epoch's loss may be inf where Python's is NaN
    (the second)."""
    rtol = 1e-6 if pybp.get_kernels() == "fast" else 1e-9
    sizes, acts, loss, bias, n, seed, scale = problem
    nesterov = nesterov and momentum > 0
    c, p, X, T, rng = twin_problem(problem, make_targets)
    sw = rng.uniform(0.0, 2.0, n) if weighted else None
    if sw is not None and not sw.any():
        sw[0] = 1.0
    hist = []
    for net in (c, p):
        hist.append(net.fit(
            X, T, loss=loss, epochs=3, batch_size=batch_size, seed=seed,
            train_biases=train_biases, sample_weight=sw,
            optimizer=SGD(lr, momentum=momentum, nesterov=nesterov,
                          weight_decay=weight_decay)))
    np.testing.assert_allclose(c.params, p.params, rtol=rtol, atol=1e-12)
    lc, lp = np.array(hist[0].loss), np.array(hist[1].loss)
    if pybp.get_kernels() == "fast":
        # An epoch that overflows is recorded as inf or NaN: which one
        # depends on where the overflow first lands, and a fused
        # multiply-add (no rounding of the product) moves that point.
        # Both stop the fit as diverged, with the same parameters (above).
        assert np.array_equal(np.isfinite(lc), np.isfinite(lp))
        keep = np.isfinite(lc)
        lc, lp = lc[keep], lp[keep]
    np.testing.assert_allclose(lc, lp, rtol=rtol, atol=1e-14)




@pytest.mark.parametrize("sizes", [[9, 3, 2], [20, 9, 3], [33, 17, 5],
                                   [64, 16, 4]])
@pytest.mark.parametrize("batch_size", [1, 7])
def test_wide_layers_bit_identical_on_the_exact_kernels(exact_kernels, sizes,
                                                        batch_size):
    """Layers with eight or more inputs: the C forward product sums in eight
    lanes, and the pure-Python backend must add in that same order (and not
    with sum(), which compensates from Python 3.12 on).  Predictions,
    gradients and trained weights are equal bit for bit in float64."""
    c, py = twin_nets(sizes, "tanh", "sigmoid")
    rng = np.random.default_rng(5)
    X = rng.normal(size=(23, sizes[0]))
    T = rng.uniform(0.1, 0.9, size=(23, sizes[-1]))
    sw = rng.uniform(0.5, 2.0, size=23)
    np.testing.assert_array_equal(c.predict(X), py.predict(X))
    gc = c.gradients(X, T, sample_weight=sw)
    gp = py.gradients(X, T, sample_weight=sw)
    np.testing.assert_array_equal(gc.params, gp.params)
    assert gc.loss == gp.loss
    for net in (c, py):
        net.fit(X, T, optimizer=SGD(0.1, momentum=0.9), epochs=3,
                batch_size=batch_size, seed=2, sample_weight=sw)
    np.testing.assert_array_equal(c.params, py.params)
