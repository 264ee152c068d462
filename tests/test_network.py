"""pybp.network: the Network -- predict, classify and __call__, dtypes,
initialisation, the flat parameter buffer and its views; and the checks on
what goes into a Network: parameters made non-finite element by element,
targets a loss cannot take, class labels where one-hot rows are needed,
unaligned and masked arrays; Network.from_params.  (Training is in
test_train.py, gradients in test_gradients.py.)"""
import numpy as np
import pytest

import pybp
from pybp import optim

import helpers_train as H  # tests/ is on sys.path (see conftest.py)

DTYPES = ("float64", "float32")


def test_credit_network_shape():
    """Seed 000's credit network: 10-4-6-8-4, sigmoid throughout."""
    net = pybp.Network([10, 4, 6, 8, 4])
    assert net.sizes == (10, 4, 6, 8, 4)
    assert sum(w.size for w in net.weights) == 144
    assert [w.shape for w in net.weights] == [(4, 10), (6, 4), (8, 6), (4, 8)]
    assert net.n_params == 144 + 4 + 6 + 8 + 4
    assert net.activations == ("sigmoid",) * 4


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


# ---- dtypes ---------------------------------------------------------------

@pytest.mark.parametrize("output,loss", H.OUTPUT_LOSS,
                         ids=H.OUTPUT_LOSS_IDS)
@pytest.mark.parametrize("backend32", ["c", "python"])
def test_float32_close_to_float64(backend32, output, loss, make_targets):
    sizes = [5, 8, 4]
    net64 = pybp.Network(sizes, "tanh", output, seed=2)
    net32 = pybp.Network(sizes, "tanh", output, seed=2, dtype="float32",
                         backend=backend32)
    net32.params = net64.params.astype(np.float32)
    # Compare with float64 arithmetic on the float32-rounded parameters.
    net64.params = net32.params.astype(np.float64)
    rng = np.random.default_rng(1)
    X = rng.normal(0.0, 1.0, (16, sizes[0]))
    T = make_targets(output, loss, 16, sizes[-1], rng)
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


@pytest.mark.parametrize("dtype", ["float32", np.float32, np.dtype("float32")])
def test_float32_spellings(dtype):
    assert pybp.Network([2, 1], dtype=dtype).params.dtype == np.float32


def test_float64_is_the_default():
    net = pybp.Network([2, 3, 1])
    assert net.params.dtype == np.float64
    assert net.predict([[0.0, 1.0]]).dtype == np.float64


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
    net.fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0],
            optimizer=optim.SGD(0.5), epochs=3, seed=0)
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


# ---- checks on what goes in ------------------------------------------------

def _data(n=12, n_in=3, n_out=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng.uniform(0.1, 0.9, (n, n_out))


# ---- non-finite parameters ------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("where", ["weight", "bias"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_nonfinite_parameter_set_by_element_is_refused(backend, dtype, where,
                                                       value):
    X, T = _data()
    net = pybp.Network([3, 4, 2], seed=0, dtype=dtype, backend=backend)
    if where == "weight":
        net.weights[1][0, 2] = value
        match = "layer 1 weights: parameters are not finite"
    else:
        net.biases[0][3] = value
        match = "layer 0 biases: parameters are not finite"
    before = net.params.copy()
    for call in (lambda: net.predict(X), lambda: net(X[0]),
                 lambda: net.evaluate(X, T), lambda: net.loss(X, T),
                 lambda: net.gradients(X, T), lambda: net.classify(X),
                 lambda: net.fit(X, T, epochs=1),
                 lambda: pybp.Trainer().partial_fit(net, X, T)):
        with pytest.raises(ValueError, match=match):
            call()
    np.testing.assert_array_equal(net.params, before)  # NaN == NaN here
    net.params[...] = np.nan_to_num(net.params, posinf=0.0, neginf=0.0)
    assert np.isfinite(net.predict(X)).all()


# ---- targets a loss cannot take -------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_binary_cross_entropy_needs_targets_in_0_1(backend, dtype):
    X, _ = _data()
    net = pybp.Network([3, 4, 2], "tanh", "sigmoid", seed=0, dtype=dtype,
                       backend=backend)
    T = np.where(np.arange(24).reshape(12, 2) % 2, 1.0, -1.0)
    before = net.params.copy()
    kw = dict(loss="binary_cross_entropy")
    for call in (lambda: net.fit(X, T, **kw), lambda: net.evaluate(X, T, **kw),
                 lambda: net.loss(X, T, **kw),
                 lambda: net.gradients(X, T, **kw)):
        with pytest.raises(ValueError, match=r"targets in \[0, 1\]; 12 value"):
            call()
    np.testing.assert_array_equal(net.params, before)
    with pytest.raises(ValueError, match="validation T"):
        net.fit(X, (T + 1) / 2, validation_data=(X, T), **kw)
    # Soft targets inside [0, 1], and the edges, are fine.
    net.fit(X, (T + 1) / 2 * 0.8 + 0.1, epochs=1, **kw)
    assert np.isfinite(net.loss(X, (T + 1) / 2, **kw))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("T,match", [
    ([[0.5, 0.7], [1.0, 0.0]], "row 0 sums to 1.2"),
    ([[1.5, -0.5], [1.0, 0.0]], "negative"),
    ([[0.0, 0.0], [1.0, 0.0]], "row 0 sums to 0"),
])
def test_cross_entropy_needs_probability_rows(backend, dtype, T, match):
    X = np.array([[0.1, 0.2, 0.3], [0.3, -0.2, 0.1]])
    net = pybp.Network([3, 4, 2], "tanh", "softmax", seed=0, dtype=dtype,
                       backend=backend)
    kw = dict(loss="cross_entropy")
    for call in (lambda: net.fit(X, T, **kw), lambda: net.evaluate(X, T, **kw),
                 lambda: net.loss(X, T, **kw),
                 lambda: net.gradients(X, T, **kw)):
        with pytest.raises(ValueError, match=match):
            call()
    good = np.array([[0.25, 0.75], [1.0, 0.0]])
    assert np.isfinite(net.loss(X, good, **kw))
    # Rows of a float32 softmax-like distribution over many classes pass.
    rng = np.random.default_rng(0)
    P = rng.uniform(size=(5, 1000)).astype(dtype)
    P /= P.sum(axis=1, keepdims=True)
    wide = pybp.Network([3, 1000], "softmax", seed=0, dtype=dtype,
                        backend="c")
    assert np.isfinite(wide.loss(rng.normal(size=(5, 3)), P, **kw))


def test_class_labels_where_one_hot_rows_are_needed_get_a_hint():
    X = np.zeros((4, 3))
    net = pybp.Network([3, 4, 3], seed=0)
    with pytest.raises(ValueError, match=r"np\.eye\(3\)\[y\]") as info:
        net.fit(X, np.array([0, 1, 2, 1]))
    assert "pybp.sklearn.MLPClassifier" in str(info.value)
    assert "shape (n_samples, 3)" in str(info.value)
    with pytest.raises(ValueError) as info:
        net.fit(X, np.zeros((4, 2)))
    assert "np.eye" not in str(info.value)


# ---- unaligned and masked arrays ------------------------------------------

def _unaligned(a):
    buf = bytearray(a.nbytes + 1)
    out = np.frombuffer(buf, a.dtype, count=a.size, offset=1).reshape(a.shape)
    out[...] = a
    return out


@pytest.mark.parametrize("dtype", DTYPES)
def test_unaligned_input_gives_the_aligned_result(backend, dtype):
    X, T = _data()
    X, T = X.astype(dtype), T.astype(dtype)
    sw = np.linspace(0.5, 1.5, len(X)).astype(dtype)
    Xu, Tu, swu = _unaligned(X), _unaligned(T), _unaligned(sw)
    assert not Xu.flags.aligned and not swu.flags.aligned
    # What reaches the kernels is an aligned copy (UBSan reported misaligned
    # loads before); the results equal the aligned input's.
    from pybp import _validate
    for a in (Xu, Tu, swu):
        checked = _validate.array("X", a, dtype)
        assert checked.flags.aligned and checked.flags.c_contiguous
        np.testing.assert_array_equal(checked, a)
    net = pybp.Network([3, 4, 2], seed=0, dtype=dtype, backend=backend)
    np.testing.assert_array_equal(net.predict(Xu), net.predict(X))
    assert net.loss(Xu, Tu, sample_weight=swu) == \
        net.loss(X, T, sample_weight=sw)
    np.testing.assert_array_equal(net.gradients(Xu, Tu).params,
                                  net.gradients(X, T).params)
    a, b = net.copy(), net.copy()
    a.fit(Xu, Tu, sample_weight=swu, epochs=2, seed=0,
          validation_data=(Xu, Tu, swu))
    b.fit(X, T, sample_weight=sw, epochs=2, seed=0, validation_data=(X, T, sw))
    np.testing.assert_array_equal(a.params, b.params)
    c = net.copy()
    c.params = _unaligned(net.params)
    np.testing.assert_array_equal(c.params, net.params)
    assert c.params.flags.aligned


def test_masked_arrays_are_refused_everywhere():
    X, T = _data()
    mX = np.ma.masked_array(X, mask=np.zeros_like(X, bool))
    mT = np.ma.masked_array(T)
    msw = np.ma.masked_array(np.ones(len(X)))
    net = pybp.Network([3, 4, 2], seed=0)
    before = net.params.copy()
    calls = {
        "X": lambda: net.predict(mX),
        "T": lambda: net.fit(X, mT),
        "sample_weight": lambda: net.fit(X, T, sample_weight=msw),
        "validation": lambda: net.fit(X, T, validation_data=(mX, T)),
        "evaluate": lambda: net.evaluate(X, mT),
        "params": lambda: setattr(net, "params", np.ma.masked_array(before)),
        "value": lambda: net.weights.__setitem__(
            0, np.ma.masked_array(net.weights[0].copy())),
        "from_params": lambda: pybp.Network.from_params(
            [3, 4, 2], "sigmoid", np.ma.masked_array(before)),
    }
    for what, call in calls.items():
        with pytest.raises(TypeError, match="masked arrays are not supported"):
            call()
    np.testing.assert_array_equal(net.params, before)


# ---- Network.from_params -----------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_from_params_rebuilds_a_network(backend, dtype):
    net = pybp.Network([3, 4, 2], "tanh", "sigmoid", seed=3, dtype=dtype)
    other = pybp.Network.from_params([3, 4, 2], ["tanh", "sigmoid"],
                                     net.params, backend=backend)
    assert other.dtype == net.dtype and other.backend == backend
    assert other.activations == net.activations
    np.testing.assert_array_equal(other.params, net.params)
    assert not np.shares_memory(other.params, net.params)
    X, _ = _data()
    np.testing.assert_allclose(other.predict(X), net.predict(X), rtol=1e-6)
    nb = pybp.Network.from_params([3, 2], "identity", [1, 2, 3, 4, 5, 6],
                                  bias=False)
    assert nb.dtype == np.float64
    np.testing.assert_array_equal(nb.weights[0], [[1, 2, 3], [4, 5, 6]])


def test_from_params_validates():
    with pytest.raises(ValueError, match="params must have shape"):
        pybp.Network.from_params([3, 2], "sigmoid", np.zeros(5))
    with pytest.raises(ValueError, match="NaN or infinite"):
        pybp.Network.from_params([1, 1], "sigmoid", [np.nan, 0.0])
    with pytest.raises(ValueError, match="unknown activation"):
        pybp.Network.from_params([1, 1], "sigmoidd", [0.0, 0.0])
    with pytest.raises(ValueError, match="unknown backend"):
        pybp.Network.from_params([1, 1], "sigmoid", [0.0, 0.0], backend="gpu")


# ---- classify on one output ---------------------------------------------------

@pytest.mark.parametrize("output,threshold", [("sigmoid", 0.5), ("tanh", 0.0),
                                              ("identity", 0.0)])
def test_classify_thresholds_a_single_output(backend, output, threshold):
    net = pybp.Network([1, 1], output, seed=0, backend=backend)
    net.weights[0][...] = 1.0
    net.biases[0][...] = 0.0
    # identity: output = x; sigmoid/tanh are monotone, so x picks the side.
    x_at = {"sigmoid": 0.0, "tanh": 0.0, "identity": 0.0}[output]
    X = np.array([[x_at - 1.0], [x_at], [x_at + 1.0], [x_at - 1e-3]])
    labels = net.classify(X)
    np.testing.assert_array_equal(labels, [0, 1, 1, 0])
    assert labels.dtype.kind == "i"
    assert net.classify(X[2]) == 1 and isinstance(net.classify(X[2]), int)
    assert net.classify(X[0]) == 0


def test_readme_xor_example_classifies_right(backend):
    """README's usage example: classify prints [0 1 1 0]."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    T = np.array([[0], [1], [1], [0]], dtype=float)
    net = pybp.Network([2, 4, 1], activation="tanh",
                       output_activation="sigmoid", seed=0, backend=backend)
    h = net.fit(X, T, loss="half_sse",
                optimizer=pybp.optim.SGD(lr=0.5, momentum=0.9),
                epochs=500, batch_size=1, seed=0)
    assert h.accuracy[-1] == 1.0
    assert str(net.classify(X)) == "[0 1 1 0]"


@pytest.mark.parametrize("dtype", DTYPES)
def test_parameter_check_on_a_large_buffer(dtype):
    """Above 65536 parameters the check sums the buffer first: a sum that
    overflows on finite values must not be taken for a NaN."""
    net = pybp.Network([300, 300], "identity", seed=0, dtype=dtype)
    assert net.n_params > 1 << 16
    X = np.zeros((2, 300))
    net.weights[0][:2, :] = np.finfo(dtype).max
    np.testing.assert_array_equal(net.predict(X), np.zeros((2, 300)))
    net.biases[0][299] = np.nan
    with pytest.raises(ValueError, match="layer 0 biases: parameters are not "
                                         r"finite \(1 NaN"):
        net.predict(X)
