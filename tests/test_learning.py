"""Training actually learns; inference helpers; initialisation; the flat
parameter buffer and its views."""
import numpy as np
import pytest

import pybp
from pybp.optim import SGD

XOR_X = [[0, 0], [0, 1], [1, 0], [1, 1]]
XOR_T = [0, 1, 1, 0]


# ---- XOR --------------------------------------------------------------------


@pytest.mark.parametrize("hidden,optimizer", [
    ("tanh", SGD(0.5)),
    ("sigmoid", SGD(0.5, momentum=0.9)),
])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learns_xor(hidden, optimizer, seed, backend):
    net = pybp.Network([2, 4, 1], hidden, "sigmoid", seed=seed,
                       backend=backend)
    history = net.fit(XOR_X, XOR_T, optimizer=optimizer, epochs=2000,
                      seed=seed)
    assert history.loss[-1] < 0.01 < history.loss[0]
    assert net.loss(XOR_X, XOR_T) < 0.01
    out = net.predict(XOR_X)
    assert out.shape == (4, 1)
    np.testing.assert_array_equal(out[:, 0] > 0.5, np.array(XOR_T, bool))


def test_xor_with_softmax_and_cross_entropy(backend):
    T = np.eye(2)[XOR_T]
    net = pybp.Network([2, 5, 2], "tanh", "softmax", seed=0, backend=backend)
    net.fit(XOR_X, T, loss="cross_entropy", optimizer=SGD(0.1),
            epochs=1000, seed=0)
    np.testing.assert_array_equal(net.classify(XOR_X), XOR_T)
    assert net.loss(XOR_X, T, loss="cross_entropy") < 0.05
    np.testing.assert_allclose(net.predict(XOR_X).sum(axis=1), 1.0,
                               rtol=1e-12)


# ---- seed 000's credit network on a teacher task ---------------------------

CREDIT = [10, 4, 6, 8, 4]


@pytest.fixture(scope="module")
def teacher_task():
    """Random inputs labelled by a fixed random teacher network; targets
    0.9 for the class (the largest teacher output) and 0.1 elsewhere."""
    teacher = pybp.Network([10, 6, 4], "tanh", "identity", init="he",
                           seed=123)
    rng = np.random.default_rng(0)
    X = rng.uniform(-1.0, 1.0, (1500, 10))
    y = teacher.classify(X)
    T = np.full((len(X), 4), 0.1)
    T[np.arange(len(X)), y] = 0.9
    return X[:1000], T[:1000], X[1000:], y[1000:]


def test_credit_network_shape():
    net = pybp.Network(CREDIT)
    assert net.sizes == tuple(CREDIT)
    assert sum(w.size for w in net.weights) == 144
    assert [w.shape for w in net.weights] == [(4, 10), (6, 4), (8, 6), (4, 8)]
    assert net.n_params == 144 + 4 + 6 + 8 + 4
    assert net.activations == ("sigmoid",) * 4


def accuracy(net, X, y):
    return float(np.mean(net.classify(X) == y))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_credit_network_learns_teacher_per_sample(teacher_task, seed):
    Xtr, Ttr, Xte, yte = teacher_task
    chance = np.bincount(yte).max() / len(yte)
    net = pybp.Network(CREDIT, seed=seed)
    before = net.loss(Xtr, Ttr)
    history = net.fit(Xtr, Ttr, optimizer=SGD(0.5), epochs=40, batch_size=1,
                      seed=seed)
    assert history.loss[-1] < 0.3 * history.loss[0]
    assert net.loss(Xtr, Ttr) < 0.3 * before
    assert accuracy(net, Xte, yte) >= max(0.8, chance + 0.3)


@pytest.mark.parametrize("batch_size,optimizer,epochs", [
    (16, SGD(0.5, momentum=0.9), 60),
    (1000, SGD(2.0, momentum=0.9), 100),
], ids=["minibatch", "fullbatch"])
def test_batches_reduce_loss(teacher_task, batch_size, optimizer, epochs,
                             backend):
    Xtr, Ttr, Xte, yte = teacher_task
    if backend == "python":  # keep the pure-Python run short
        Xtr, Ttr, epochs = Xtr[:200], Ttr[:200], 10
        batch_size = min(batch_size, 200)
    net = pybp.Network(CREDIT, seed=0, backend=backend)
    before = net.loss(Xtr, Ttr)
    history = net.fit(Xtr, Ttr, optimizer=optimizer, epochs=epochs,
                      batch_size=batch_size, seed=0)
    assert len(history.loss) == epochs
    assert net.loss(Xtr, Ttr) < 0.8 * before
    assert history.loss[-1] < history.loss[0]


def test_minibatch_reaches_good_accuracy(teacher_task):
    Xtr, Ttr, Xte, yte = teacher_task
    net = pybp.Network(CREDIT, seed=1)
    net.fit(Xtr, Ttr, optimizer=SGD(0.5, momentum=0.9), epochs=100,
            batch_size=16, seed=1)
    assert accuracy(net, Xte, yte) >= 0.8


def test_history_records_every_epoch(backend):
    net = pybp.Network([2, 3, 1], seed=0, backend=backend)
    history = net.fit(XOR_X, XOR_T, optimizer=SGD(0.1), epochs=7, seed=0)
    assert isinstance(history, pybp.History)
    assert len(history.loss) == len(history.lr) == len(history.seconds) == 7
    assert history.lr == [0.1] * 7
    assert all(s >= 0 for s in history.seconds)
    assert history.stopped == "max_epochs"
    assert all(np.isfinite(history.loss))


def test_zero_epochs_changes_nothing(backend):
    net = pybp.Network([2, 3, 1], seed=0, backend=backend)
    before = net.params.copy()
    history = net.fit(XOR_X, XOR_T, epochs=0)
    assert history.loss == []
    np.testing.assert_array_equal(net.params, before)


def test_history_loss_is_mean_loss_of_batches_as_seen(backend):
    """Full batch, one epoch: History.loss[0] is the loss before the step."""
    net = pybp.Network([2, 3, 1], seed=0, backend=backend)
    before = net.loss(XOR_X, XOR_T)
    history = net.fit(XOR_X, XOR_T, batch_size=4, epochs=1)
    assert history.loss[0] == pytest.approx(before, rel=1e-12)


def test_history_loss_per_sample_mean(backend):
    """Per-sample SGD without shuffling: the epoch loss is the mean of each
    sample's loss at the moment it was seen."""
    net = pybp.Network([2, 3, 1], seed=0, backend=backend)
    probe = pybp.Network([2, 3, 1], backend=backend)
    probe.params = net.params
    expected = []
    for x, t in zip(XOR_X, XOR_T):
        g = probe.gradients([x], [t])
        expected.append(g.loss)
        probe.params = probe.params - 0.3 * g.params
    history = net.fit(XOR_X, XOR_T, optimizer=SGD(0.3), shuffle=False,
                      epochs=1)
    assert history.loss[0] == pytest.approx(np.mean(expected), rel=1e-12)
    np.testing.assert_allclose(net.params, probe.params, rtol=1e-12)


# ---- predict, classify, __call__ -------------------------------------------


def test_predict_shapes(backend):
    net = pybp.Network([3, 5, 2], seed=0, backend=backend)
    X = np.random.default_rng(0).normal(size=(4, 3))
    out = net.predict(X)
    assert out.shape == (4, 2)
    one = net.predict(X[1])
    assert one.shape == (2,)
    np.testing.assert_allclose(one, out[1], rtol=1e-15)
    np.testing.assert_array_equal(net(X), out)
    np.testing.assert_array_equal(net(X[1]), one)
    assert net.predict(np.empty((0, 3))).shape == (0, 2)


def test_predict_rows_are_independent(backend):
    """A sample's output does not depend on the other samples in X (no state
    leaks between rows or chunks)."""
    net = pybp.Network([3, 4, 2], "relu", "softmax", seed=1, backend=backend)
    X = np.random.default_rng(1).normal(size=(50, 3))
    whole = net.predict(X)
    for k in (0, 17, 49):
        np.testing.assert_allclose(net.predict(X[k]), whole[k], rtol=1e-14)
    np.testing.assert_allclose(net.predict(X[::-1]), whole[::-1], rtol=1e-14)


@pytest.mark.parametrize("dtype,rtol,atol", [("float64", 1e-12, 1e-15),
                                             ("float32", 1e-5, 1e-6)])
def test_predict_many_samples_c(dtype, rtol, atol):
    """More samples than one forward chunk holds."""
    net = pybp.Network([3, 40, 2], "tanh", seed=0, dtype=dtype)
    X = np.random.default_rng(2).normal(size=(5000, 3)).astype(dtype)
    out = net.predict(X)
    assert out.dtype == np.dtype(dtype)
    picks = [0, 1, 1637, 1638, 1639, 3276, 4999]
    rows = np.array([net.predict(X[k]) for k in picks])
    np.testing.assert_array_equal(out[picks], rows)
    # An explicit numpy forward pass (in float64).
    W = [w.astype(float) for w in net.weights]
    b = [v.astype(float) for v in net.biases]
    h = np.tanh(X.astype(float) @ W[0].T + b[0])
    o = np.tanh(h @ W[1].T + b[1])
    np.testing.assert_allclose(out, o, rtol=rtol, atol=atol)


def test_predict_from_threads_gives_the_same_answers():
    """The C loops release the GIL; concurrent predictions on one network
    must not share workspaces."""
    from concurrent.futures import ThreadPoolExecutor
    net = pybp.Network([8, 64, 64, 4], "relu", seed=0)
    rng = np.random.default_rng(0)
    inputs = [rng.normal(size=(3000, 8)) for _ in range(8)]
    expected = [net.predict(X) for X in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(net.predict, inputs))
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


def test_classify(backend):
    net = pybp.Network([2, 3], "identity", seed=0, backend=backend)
    net.weights[0] = [[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]
    net.biases[0] = [0.0, 0.0, 0.0]
    X = np.array([[2.0, 1.0], [1.0, 2.0], [-1.0, -1.0], [3.0, -0.5]])
    np.testing.assert_array_equal(net.classify(X), [0, 1, 2, 0])
    label = net.classify(X[1])
    assert label == 1
    assert isinstance(label, (int, np.integer))


# ---- initialisation -----------------------------------------------------------


def weight_stats(init, activation="sigmoid", sizes=(400, 300), seed=0):
    net = pybp.Network(list(sizes), activation, init=init, seed=seed)
    return net.weights[0], sizes[0], sizes[1]


def test_he_init_scale():
    W, n_in, _ = weight_stats("he")
    assert W.std() == pytest.approx(np.sqrt(2.0 / n_in), rel=0.03)
    assert abs(W.mean()) < 0.1 * W.std()
    assert np.all(W != 0)


def test_xavier_init_scale():
    W, n_in, n_out = weight_stats("xavier")
    limit = np.sqrt(6.0 / (n_in + n_out))
    assert np.abs(W).max() <= limit
    assert np.abs(W).max() > 0.95 * limit
    assert W.std() == pytest.approx(limit / np.sqrt(3.0), rel=0.03)
    assert np.all(W != 0)


def test_uniform_init_is_small():
    W, _, _ = weight_stats("uniform")
    assert 0 < np.abs(W).max() <= 0.1
    assert np.count_nonzero(W) == W.size
    assert W.std() == pytest.approx(0.1 / np.sqrt(3.0), rel=0.03)


@pytest.mark.parametrize("activation,like", [("relu", "he"),
                                             ("leaky_relu", "he"),
                                             ("sigmoid", "xavier"),
                                             ("tanh", "xavier")])
def test_default_init(activation, like):
    W, n_in, n_out = weight_stats("default", activation)
    if like == "he":
        expected = np.sqrt(2.0 / n_in)
    else:
        expected = np.sqrt(6.0 / (n_in + n_out)) / np.sqrt(3.0)
    assert W.std() == pytest.approx(expected, rel=0.03)


@pytest.mark.parametrize("init", ["default", "he", "xavier", "uniform"])
@pytest.mark.parametrize("sizes", [[2, 1], [3, 4, 2], [10, 4, 6, 8, 4]],
                         ids=str)
def test_init_never_zero_and_reproducible(init, sizes):
    a = pybp.Network(sizes, init=init, seed=5)
    b = pybp.Network(sizes, init=init, seed=5)
    c = pybp.Network(sizes, init=init, seed=6)
    for W in a.weights:
        assert np.count_nonzero(W) == W.size
        # no symmetry: units of a layer start with different weights
        if W.shape[0] > 1:
            assert len({tuple(row) for row in W.tolist()}) == W.shape[0]
    assert np.array_equal(a.params, b.params)
    assert not np.array_equal(a.params, c.params)


def test_no_seed_gives_fresh_weights():
    assert not np.array_equal(pybp.Network([4, 5, 3]).params,
                              pybp.Network([4, 5, 3]).params)


def test_seed_may_be_a_generator():
    a = pybp.Network([3, 4], seed=np.random.default_rng(8))
    b = pybp.Network([3, 4], seed=np.random.default_rng(8))
    assert np.array_equal(a.params, b.params)


# ---- the flat buffer and its views -------------------------------------------


def test_weights_and_biases_are_views_into_params(backend):
    net = pybp.Network([3, 4, 2], seed=0, backend=backend)
    assert net.params.ndim == 1 and net.params.size == net.n_params
    assert net.params.flags.c_contiguous
    for a in list(net.weights) + list(net.biases):
        assert np.shares_memory(a, net.params)
        assert a.flags.writeable
    # views are disjoint and cover the buffer
    covered = sum(w.size for w in net.weights) + sum(b.size for b in net.biases)
    assert covered == net.n_params


def test_writing_a_view_changes_params_and_back():
    net = pybp.Network([3, 4, 2], seed=0)
    net.weights[1][1, 2] = 42.0
    assert np.count_nonzero(net.params == 42.0) == 1
    net.biases[0][3] = -7.5
    assert np.count_nonzero(net.params == -7.5) == 1
    net.params[:] = np.arange(net.n_params)
    # documented order: per layer, weights row-major, then biases
    np.testing.assert_array_equal(net.weights[0].ravel(), np.arange(12))
    np.testing.assert_array_equal(net.biases[0], np.arange(12, 16))
    np.testing.assert_array_equal(net.weights[1].ravel(), np.arange(16, 24))
    np.testing.assert_array_equal(net.biases[1], [24, 25])


def test_assigning_a_layer_keeps_the_view():
    net = pybp.Network([2, 3, 1], seed=0)
    view = net.weights[0]
    net.weights[0] = np.ones((3, 2))
    assert net.weights[0] is view
    np.testing.assert_array_equal(view, 1.0)
    np.testing.assert_array_equal(net.params[:6], 1.0)
    net.params = np.zeros(net.n_params)
    np.testing.assert_array_equal(view, 0.0)


def test_views_follow_training(backend):
    net = pybp.Network([2, 3, 1], seed=0, backend=backend)
    W0, b0, flat = net.weights[0], net.biases[0], net.params
    before = flat.copy()
    net.fit(XOR_X, XOR_T, optimizer=SGD(0.5), epochs=3, seed=0)
    assert net.params is flat or np.shares_memory(net.params, flat)
    assert not np.array_equal(flat, before)
    np.testing.assert_array_equal(W0, net.weights[0])
    np.testing.assert_array_equal(b0, net.biases[0])
    assert np.shares_memory(W0, net.params)


def test_writing_a_weight_changes_predictions(backend):
    net = pybp.Network([2, 1], "identity", seed=0, backend=backend)
    net.weights[0][0, 0] = 2.0
    net.weights[0][0, 1] = -1.0
    net.biases[0][0] = 0.5
    assert net.predict([3.0, 4.0])[0] == pytest.approx(2 * 3 - 4 + 0.5)
    net.params[:] = [1.0, 1.0, 0.0]
    assert net.predict([3.0, 4.0])[0] == pytest.approx(7.0)


def test_attributes():
    net = pybp.Network([3, 5, 2], "relu", "softmax", seed=0)
    assert net.sizes == (3, 5, 2)
    assert net.activations == ("relu", "softmax")
    assert net.backend == "c"
    assert net.dtype == np.float64
    assert pybp.Network([3, 2], backend="python").backend == "python"
