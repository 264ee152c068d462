"""The C backend against the pure-Python one, float32 against float64, and
reproducibility of training."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pybp
from pybp.optim import SGD

OUTPUT_LOSS = [("sigmoid", "half_sse"), ("tanh", "sse"), ("identity", "mse"),
               ("softmax", "mse"), ("softmax", "cross_entropy"),
               ("sigmoid", "binary_cross_entropy")]
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


def assert_gradients_close(a, b, rtol, atol=0.0):
    assert a.loss == pytest.approx(b.loss, rel=rtol, abs=atol)
    np.testing.assert_allclose(a.params, b.params, rtol=rtol, atol=atol)
    for da, db in zip(a.deltas, b.deltas):
        np.testing.assert_allclose(da, db, rtol=rtol, atol=atol)


# ---- float64: the two backends give the same numbers ------------------------


def test_same_seed_same_initial_weights_on_both_backends():
    c = pybp.Network([4, 6, 3], "relu", seed=11, backend="c")
    p = pybp.Network([4, 6, 3], "relu", seed=11, backend="python")
    np.testing.assert_array_equal(c.params, p.params)


@pytest.mark.parametrize("output,loss", OUTPUT_LOSS,
                         ids=[f"{a}-{l}" for a, l in OUTPUT_LOSS])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_predict_loss_gradients_agree(hidden, output, loss, make_targets):
    sizes = [5, 7, 4, 3]
    c, p = twin_nets(sizes, hidden, output)
    X, T = data(sizes, output, loss, 9, make_targets)
    np.testing.assert_allclose(c.predict(X), p.predict(X), rtol=1e-12,
                               atol=1e-15)
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


@pytest.mark.parametrize("output,loss", OUTPUT_LOSS,
                         ids=[f"{a}-{l}" for a, l in OUTPUT_LOSS])
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


def test_weight_decay_shrinks_weights_not_biases(backend):
    """With a zero loss gradient (targets equal the outputs of an identity
    net at its own prediction), weight decay alone moves the weights by
    w <- w (1 - lr lambda) and leaves biases alone."""
    net = pybp.Network([2, 2], "identity", seed=0, backend=backend)
    net.biases[0] = [0.3, -0.2]
    X = np.array([[0.5, -1.0]])
    T = net.predict(X)
    W0, b0 = net.weights[0].copy(), net.biases[0].copy()
    net.fit(X, T, optimizer=SGD(0.1, weight_decay=0.5), epochs=1)
    np.testing.assert_allclose(net.weights[0], W0 * (1 - 0.1 * 0.5),
                               rtol=1e-14)
    np.testing.assert_allclose(net.biases[0], b0, rtol=0, atol=1e-15)


def test_momentum_rule(backend):
    """The seeds' momentum V <- mu V - eta g; W <- W + V over two steps,
    against the gradients the network itself reports."""
    mu, eta = 0.9, 0.1
    net = pybp.Network([2, 3, 1], "tanh", "identity", seed=3, backend=backend)
    X, T = np.array([[0.4, -0.7]]), np.array([[0.25]])
    W = net.params.copy()
    probe = pybp.Network([2, 3, 1], "tanh", "identity", backend=backend)
    V = np.zeros_like(W)
    for _ in range(2):
        probe.params = W
        g = probe.gradients(X, T).params
        V = mu * V - eta * g
        W = W + V
    net.fit(X, T, optimizer=SGD(eta, momentum=mu), epochs=2)
    np.testing.assert_allclose(net.params, W, rtol=1e-13)


def test_nesterov_rule(backend):
    """Nesterov as documented in pybp: V <- mu V - eta g; W <- W + mu V - eta g."""
    mu, eta = 0.8, 0.2
    net = pybp.Network([2, 3, 1], "sigmoid", "identity", seed=4,
                       backend=backend)
    X, T = np.array([[0.1, 0.9]]), np.array([[-0.5]])
    W = net.params.copy()
    probe = pybp.Network([2, 3, 1], "sigmoid", "identity", backend=backend)
    V = np.zeros_like(W)
    for _ in range(3):
        probe.params = W
        g = probe.gradients(X, T).params
        V = mu * V - eta * g
        W = W + mu * V - eta * g
    net.fit(X, T, optimizer=SGD(eta, momentum=mu, nesterov=True), epochs=3)
    np.testing.assert_allclose(net.params, W, rtol=1e-13)


# ---- float32 ----------------------------------------------------------------


@pytest.mark.parametrize("output,loss", OUTPUT_LOSS,
                         ids=[f"{a}-{l}" for a, l in OUTPUT_LOSS])
@pytest.mark.parametrize("backend32", ["c", "python"])
def test_float32_close_to_float64(backend32, output, loss, make_targets):
    sizes = [5, 8, 4]
    net64 = pybp.Network(sizes, "tanh", output, seed=2)
    net32 = pybp.Network(sizes, "tanh", output, seed=2, dtype="float32",
                         backend=backend32)
    net32.params = net64.params.astype(np.float32)
    # Compare with float64 arithmetic on the float32-rounded parameters.
    net64.params = net32.params.astype(np.float64)
    X, T = data(sizes, output, loss, 16, make_targets)
    X = X.astype(np.float32).astype(np.float64)
    T = T.astype(np.float32).astype(np.float64)

    out32 = net32.predict(X)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, net64.predict(X), rtol=1e-4, atol=1e-6)
    g32, g64 = net32.gradients(X, T, loss=loss), net64.gradients(X, T, loss=loss)
    assert g32.params.dtype == np.float32
    assert all(d.dtype == np.float32 for d in g32.deltas)
    atol = 1e-5 * np.abs(g64.params).max()
    np.testing.assert_allclose(g32.params, g64.params, rtol=1e-4, atol=atol)
    assert g32.loss == pytest.approx(g64.loss, rel=1e-4)
    assert net32.loss(X, T, loss=loss) == pytest.approx(g64.loss, rel=1e-4)


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


def test_float32_training_works(backend, make_targets):
    sizes = [4, 6, 2]
    net = pybp.Network(sizes, "tanh", "sigmoid", seed=1, dtype="float32",
                       backend=backend)
    X, T = data(sizes, "sigmoid", "half_sse", 40, make_targets)
    before = net.loss(X, T)
    hist = net.fit(X, T, optimizer=SGD(0.5, momentum=0.5), epochs=30,
                   batch_size=4, seed=0)
    assert net.loss(X, T) < 0.7 * before
    assert hist.loss[-1] < hist.loss[0]
    assert net.params.dtype == np.float32
    assert net.dtype == np.float32
    assert all(w.dtype == np.float32 for w in net.weights)
    assert all(b.dtype == np.float32 for b in net.biases)
    assert all(np.shares_memory(w, net.params) for w in net.weights)
    assert np.all(np.isfinite(net.params))


@pytest.mark.parametrize("dtype", ["float32", np.float32, np.dtype("float32")])
def test_float32_spellings(dtype):
    assert pybp.Network([2, 1], dtype=dtype).params.dtype == np.float32


def test_float64_is_the_default():
    net = pybp.Network([2, 3, 1])
    assert net.params.dtype == np.float64
    assert net.predict([[0.0, 1.0]]).dtype == np.float64


# ---- reproducibility --------------------------------------------------------


def trained(seed, backend="c", init_seed=0, **fit):
    sizes = [3, 6, 2]
    net = pybp.Network(sizes, "tanh", "sigmoid", seed=init_seed,
                       backend=backend)
    rng = np.random.default_rng(42)
    X = rng.normal(size=(30, 3))
    T = rng.uniform(0.1, 0.9, (30, 2))
    opts = dict(optimizer=SGD(0.3, momentum=0.5), epochs=4, batch_size=3)
    opts.update(fit)
    net.fit(X, T, seed=seed, **opts)
    return net.params.copy()


def test_same_seed_is_bit_identical():
    first = trained(7)
    for _ in range(3):
        assert np.array_equal(trained(7), first)


def test_different_seeds_differ():
    assert not np.array_equal(trained(7), trained(8))


def test_init_seed_is_reproducible():
    a = pybp.Network([5, 4, 3], seed=99)
    b = pybp.Network([5, 4, 3], seed=99)
    c = pybp.Network([5, 4, 3], seed=100)
    assert np.array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


def test_no_shuffle_needs_no_seed():
    a = trained(None, shuffle=False)
    b = trained(None, shuffle=False)
    assert np.array_equal(a, b)
    # ...and the order then matters: shuffling gives something else.
    assert not np.array_equal(a, trained(1, shuffle=True))


def test_python_backend_reproducible_and_seed_matters():
    assert np.array_equal(trained(3, "python", epochs=2),
                          trained(3, "python", epochs=2))
    assert not np.array_equal(trained(3, "python", epochs=2),
                              trained(4, "python", epochs=2))


def test_float32_same_seed_is_bit_identical():
    def run():
        net = pybp.Network([3, 5, 1], seed=1, dtype="float32")
        X = np.linspace(-1, 1, 30).reshape(10, 3)
        net.fit(X, np.linspace(0.1, 0.9, 10), optimizer=SGD(0.5), epochs=5,
                seed=2)
        return net.params.copy()
    assert np.array_equal(run(), run())


def test_trainer_continues_across_fits():
    """A Trainer keeps its random stream: two fits of 2 epochs equal one fit
    of 4 epochs with the same seed."""
    sizes = [3, 4, 2]
    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(12, 3)), rng.uniform(0.1, 0.9, (12, 2))
    a = pybp.Network(sizes, seed=5)
    b = pybp.Network(sizes, seed=5)
    a.fit(X, T, optimizer=SGD(0.2, momentum=0.5), epochs=4, batch_size=2,
          seed=1)
    trainer = pybp.Trainer(optimizer=SGD(0.2, momentum=0.5), batch_size=2,
                           seed=1)
    trainer.fit(b, X, T, epochs=2)
    trainer.fit(b, X, T, epochs=2)
    np.testing.assert_array_equal(a.params, b.params)


# ---- property: random small problems ----------------------------------------

PAIRS = OUTPUT_LOSS + [("identity", "sse"), ("tanh", "half_sse")]


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


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problem=small_problems())
def test_backends_agree_property(problem, make_targets):
    sizes, acts, loss, bias, n, seed, scale = problem
    c = pybp.Network(sizes, acts, bias=bias, seed=seed % 1000, backend="c")
    p = pybp.Network(sizes, acts, bias=bias, seed=seed % 1000,
                     backend="python")
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, scale, (n, sizes[0]))
    T = make_targets(acts[-1], loss, n, sizes[-1], rng)
    np.testing.assert_allclose(c.predict(X), p.predict(X), rtol=1e-11,
                               atol=1e-14)
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


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(problem=small_problems(),
       lr=st.sampled_from([0.01, 0.1, 0.5]),
       momentum=st.sampled_from([0.0, 0.5, 0.9]),
       nesterov=st.booleans(),
       weight_decay=st.sampled_from([0.0, 1e-3, 0.1]),
       batch_size=st.integers(1, 6),
       train_biases=st.booleans(),
       weighted=st.booleans())
def test_training_agrees_property(problem, lr, momentum, nesterov,
                                  weight_decay, batch_size, train_biases,
                                  weighted, make_targets):
    sizes, acts, loss, bias, n, seed, scale = problem
    nesterov = nesterov and momentum > 0
    c = pybp.Network(sizes, acts, bias=bias, seed=seed % 1000, backend="c")
    p = pybp.Network(sizes, acts, bias=bias, seed=seed % 1000,
                     backend="python")
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, scale, (n, sizes[0]))
    T = make_targets(acts[-1], loss, n, sizes[-1], rng)
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
    np.testing.assert_allclose(c.params, p.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(hist[0].loss, hist[1].loss, rtol=1e-9,
                               atol=1e-14)


@pytest.mark.parametrize("backend_", ["c", "python"])
def test_zero_sample_weight_is_like_leaving_the_sample_out(backend_):
    """Full batch, no shuffling: weights of 0 drop samples from the mean."""
    rng = np.random.default_rng(3)
    X, T = rng.normal(size=(8, 3)), rng.uniform(0.1, 0.9, (8, 2))
    sw = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    keep = sw > 0
    a = pybp.Network([3, 4, 2], seed=0, backend=backend_)
    b = pybp.Network([3, 4, 2], seed=0, backend=backend_)
    ha = a.fit(X, T, sample_weight=sw, batch_size=8, shuffle=False, epochs=3,
               optimizer=SGD(0.3, momentum=0.5))
    hb = b.fit(X[keep], T[keep], batch_size=8, shuffle=False, epochs=3,
               optimizer=SGD(0.3, momentum=0.5))
    np.testing.assert_allclose(a.params, b.params, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(ha.loss, hb.loss, rtol=1e-12)


def test_seed_none_draws_a_fresh_order():
    a, b = trained(None), trained(None)
    assert not np.array_equal(a, b)
