"""Checks on what goes into a Network: parameters made non-finite element
by element, targets a loss cannot take, class labels where one-hot rows are
needed, unaligned and masked arrays; Network.from_params and classify on
one output."""
import numpy as np
import pytest

import pybp
from pybp import optim

DTYPES = ("float64", "float32")


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
