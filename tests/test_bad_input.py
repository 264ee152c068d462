"""Bad input is refused with ValueError/TypeError whose message names what was
expected and what was given; unusual but valid input is accepted and gives
the same answers as the plain C-contiguous float64 array."""
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import pybp
from pybp.optim import SGD

N_IN, N_OUT = 3, 2


def small_net(backend="c", output="sigmoid", **kwargs):
    return pybp.Network([N_IN, 4, N_OUT], "tanh", output, seed=0,
                        backend=backend, **kwargs)


def clone(net):
    """An independent network with the same architecture and parameters."""
    other = pybp.Network(list(net.sizes), list(net.activations),
                         bias=net.bias, dtype=net.dtype, backend=net.backend)
    other.params = net.params
    return other


def good_data(n=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, N_IN)), rng.uniform(0.1, 0.9, (n, N_OUT))


# ---- network construction -------------------------------------------------

BAD_NETWORKS = [
    # (kwargs for Network, exception, regex the message must match)
    (dict(sizes=[2, 2.5, 1]), TypeError, r"sizes\[1\].*integer.*2\.5"),
    (dict(sizes=[2, True, 1]), TypeError, r"sizes\[1\].*integer.*True"),
    (dict(sizes=[False, 3]), TypeError, r"sizes\[0\].*integer.*False"),
    (dict(sizes=[2, "3", 1]), TypeError, r"sizes\[1\].*integer.*'3'"),
    (dict(sizes=[2, None, 1]), TypeError, r"sizes\[1\].*integer.*None"),
    (dict(sizes=[2, 0, 1]), ValueError, r"sizes\[1\].*>= 1.*\b0\b"),
    (dict(sizes=[2, 3, -4]), ValueError, r"sizes\[2\].*>= 1.*-4"),
    (dict(sizes=[3]), ValueError, r"at least two.*\[3\]"),
    (dict(sizes=[]), ValueError, r"at least two.*\[\]"),
    (dict(sizes="231"), TypeError, r"sizes.*sequence.*str"),
    (dict(sizes=None), TypeError, r"sizes.*sequence.*None"),
    (dict(sizes=5), TypeError, r"sizes.*sequence.*int"),
    (dict(sizes=[2, 1], activation="sigmod"), ValueError,
     r"'sigmod'.*sigmoid.*tanh.*relu.*leaky_relu.*identity"),
    (dict(sizes=[2, 3, 1], output_activation="softplus"), ValueError,
     r"'softplus'.*sigmoid.*tanh.*relu.*leaky_relu.*identity.*softmax"),
    (dict(sizes=[2, 3, 1], activation=["tanh", "sigmoidal"]), ValueError,
     r"'sigmoidal'.*sigmoid.*tanh"),
    (dict(sizes=[2, 1], activation=5), TypeError, r"activation.*int.*5"),
    (dict(sizes=[2, 1], activation=None), TypeError, r"activation.*None"),
    (dict(sizes=[2, 1], output_activation=3), TypeError,
     r"output_activation.*int.*3"),
    (dict(sizes=[2, 3, 1], activation="softmax"), ValueError,
     r"softmax.*output.*hidden"),
    (dict(sizes=[2, 3, 2], activation=["softmax", "softmax"]), ValueError,
     r"softmax.*output.*hidden"),
    (dict(sizes=[2, 3, 4, 1], activation="relu",
          output_activation="sigmoid", init="zeros"), ValueError,
     r"init.*'zeros'.*default.*he.*xavier.*uniform"),
    (dict(sizes=[2, 3, 1], activation=["tanh"]), ValueError,
     r"activation.*expected 2.*got 1"),
    (dict(sizes=[2, 3, 1], activation=["tanh"] * 3), ValueError,
     r"activation.*expected 2.*got 3"),
    (dict(sizes=[2, 1], dtype="float16"), ValueError,
     r"dtype.*'float16'.*float64.*float32"),
    (dict(sizes=[2, 1], dtype=np.int32), ValueError,
     r"dtype.*int32.*float64.*float32"),
    (dict(sizes=[2, 1], dtype="double precision"), ValueError,
     r"dtype.*'double precision'.*float64.*float32"),
    (dict(sizes=[2, 1], backend="cuda"), ValueError,
     r"backend.*'cuda'.*c, python"),
    (dict(sizes=[2, 1], backend=None), TypeError, r"backend.*None"),
    (dict(sizes=[2, 1], init=0), TypeError, r"init.*int"),
    (dict(sizes=[2, 1], seed=-1), ValueError, r"seed.*>= 0.*-1"),
    (dict(sizes=[2, 1], seed=1.5), TypeError, r"seed.*integer.*1\.5"),
    (dict(sizes=[2, 1], seed="7"), TypeError, r"seed.*integer.*'7'"),
    (dict(sizes=[2, 1], bias="yes"), TypeError, r"bias.*True or False.*'yes'"),
    (dict(sizes=[2, 1], bias=1), TypeError, r"bias.*True or False.*1"),
]


@pytest.mark.parametrize("kwargs,exc,pattern", BAD_NETWORKS,
                         ids=[repr(k) for k, _, _ in BAD_NETWORKS])
def test_bad_network_arguments(kwargs, exc, pattern):
    kwargs = dict(kwargs)
    sizes = kwargs.pop("sizes")
    with pytest.raises(exc, match=pattern):
        pybp.Network(sizes, **kwargs)


def test_activation_list_with_output_activation():
    """A list names every layer, so output_activation must stay None; the
    message says so and names the value that was given."""
    with pytest.raises(ValueError) as info:
        pybp.Network([2, 3, 1], ["tanh", "tanh"], "sigmoid")
    message = str(info.value)
    assert re.search(r"output_activation.*None", message), message
    assert "'sigmoid'" in message, message


def test_good_network_arguments():
    """Things a user may reasonably pass that must work."""
    assert pybp.Network(np.array([3, 4, 2])).sizes == (3, 4, 2)
    assert pybp.Network((np.int32(3), np.int64(2))).sizes == (3, 2)
    assert pybp.Network(range(2, 5)).sizes == (2, 3, 4)
    assert pybp.Network([2, 1], "TANH").activations == ("tanh",)
    assert pybp.Network([2, 3, 1], ["relu", "linear"]).activations == \
        ("relu", "identity")
    assert pybp.Network([2, 3], "softmax").activations == ("softmax",)
    assert pybp.Network([2, 3, 2], "relu", "softmax").activations == \
        ("relu", "softmax")


def test_backend_attribute_is_checked():
    net = small_net()
    with pytest.raises(ValueError, match=r"backend.*'gpu'.*c, python"):
        net.backend = "gpu"
    assert net.backend == "c"


def test_layer_views_refuse_bad_assignments():
    net = small_net()
    before = net.params.copy()
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(3, 4\)"):
        net.weights[0] = np.zeros((3, 4))
    with pytest.raises(ValueError, match=r"params.*\(26,\).*\(5,\)"):
        net.params = np.zeros(5)
    with pytest.raises(ValueError, match=r"NaN or infinite"):
        net.weights[0] = np.full((4, 3), np.nan)
    with pytest.raises(TypeError):
        net.weights.append(np.zeros((2, 2)))
    np.testing.assert_array_equal(net.params, before)


# ---- losses and their output activations ------------------------------------

BAD_LOSSES = [
    ("sigmoid", "hinge", ValueError,
     r"loss.*'hinge'.*sse.*half_sse.*mse.*cross_entropy.*binary_cross_entropy"),
    ("sigmoid", None, TypeError, r"loss.*None"),
    ("sigmoid", "cross_entropy", ValueError,
     r"cross_entropy.*softmax.*'sigmoid'"),
    ("tanh", "cross_entropy", ValueError, r"cross_entropy.*softmax.*'tanh'"),
    ("identity", "binary_cross_entropy", ValueError,
     r"binary_cross_entropy.*sigmoid.*'identity'"),
    ("softmax", "binary_cross_entropy", ValueError,
     r"binary_cross_entropy.*sigmoid.*'softmax'"),
]


@pytest.mark.parametrize("output,loss,exc,pattern", BAD_LOSSES,
                         ids=[f"{o}-{l}" for o, l, _, _ in BAD_LOSSES])
def test_bad_loss(output, loss, exc, pattern, backend):
    net = small_net(backend, output=output)
    X, T = good_data()
    T = T / T.sum(axis=1, keepdims=True)
    before = net.params.copy()
    with pytest.raises(exc, match=pattern):
        net.loss(X, T, loss=loss)
    with pytest.raises(exc, match=pattern):
        net.gradients(X, T, loss=loss)
    with pytest.raises(exc, match=pattern):
        net.fit(X, T, loss=loss)
    with pytest.raises(exc, match=pattern):
        pybp.check_gradients(net, X, T, loss=loss)
    np.testing.assert_array_equal(net.params, before)


# ---- data shapes -------------------------------------------------------------

rng0 = np.random.default_rng(1)
BAD_SHAPES = [
    # (X, T, regex for the message)
    (rng0.normal(size=(5, 4)), rng0.normal(size=(5, 2)),
     r"X.*\(n_samples, 3\).*\(5, 4\)"),
    (rng0.normal(size=(5, 3)), rng0.normal(size=(5, 3)),
     r"T.*\(n_samples, 2\).*\(5, 3\)"),
    (rng0.normal(size=(5, 3)), rng0.normal(size=(4, 2)),
     r"same number of samples.*5.*4"),
    (rng0.normal(size=(2, 5, 3)), rng0.normal(size=(2, 2)),
     r"X.*\(n_samples, 3\).*\(2, 5, 3\)"),
    (rng0.normal(size=(5, 3)), rng0.normal(size=(5, 2, 1)),
     r"T.*\(n_samples, 2\).*\(5, 2, 1\)"),
    (rng0.normal(size=2), rng0.normal(size=2), r"X.*3 values.*got 2"),
    (rng0.normal(size=3), rng0.normal(size=3), r"T.*\(2,\).*\(3,\)"),
    (rng0.normal(size=(5, 3)), rng0.normal(size=5), r"T.*\(n_samples, 2\).*\(5,\)"),
    # a scalar X: one sample with one value, or a 0-d array; refused either way
    (np.float64(1.0), rng0.normal(size=(1, 2)),
     r"X.*(3 values.*got 1|\(n_samples, 3\).*\(\))"),
]


@pytest.mark.parametrize("X,T,pattern", BAD_SHAPES,
                         ids=[str(i) for i in range(len(BAD_SHAPES))])
def test_bad_shapes(X, T, pattern, backend):
    net = small_net(backend)
    before = net.params.copy()
    for call in (net.loss, net.gradients, net.fit):
        with pytest.raises(ValueError, match=pattern):
            call(X, T)
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("X,pattern", [
    (np.zeros((5, 4)), r"X.*\(n_samples, 3\).*\(5, 4\)"),
    (np.zeros((2, 2, 3)), r"X.*\(n_samples, 3\).*\(2, 2, 3\)"),
    (np.zeros(4), r"X.*3 values.*got 4"),
    ([[1.0, 2.0]], r"X.*\(n_samples, 3\).*\(1, 2\)"),
])
def test_bad_shapes_predict(X, pattern, backend):
    net = small_net(backend)
    with pytest.raises(ValueError, match=pattern):
        net.predict(X)
    with pytest.raises(ValueError, match=pattern):
        net.classify(X)
    with pytest.raises(ValueError, match=pattern):
        net(X)


def test_empty_data(backend):
    net = small_net(backend)
    before = net.params.copy()
    X, T = np.empty((0, N_IN)), np.empty((0, N_OUT))
    with pytest.raises(ValueError, match=r"X.*no samples.*at least one"):
        net.fit(X, T)
    with pytest.raises(ValueError, match=r"X.*(no samples|got 0)"):
        net.fit([], [])
    # the mean loss over no samples is undefined
    with pytest.raises(ValueError, match=r"no samples"):
        net.loss(X, T)
    with pytest.raises(ValueError, match=r"no samples"):
        net.gradients(X, T)
    np.testing.assert_array_equal(net.params, before)


# ---- non-finite and non-numeric data ----------------------------------------


def with_value(a, index, value):
    a = np.array(a, dtype=float)
    a[index] = value
    return a


NON_FINITE = [
    ("X", (2, 1), np.nan), ("X", (0, 0), np.inf), ("X", (5, 2), -np.inf),
    ("T", (1, 1), np.nan), ("T", (3, 0), np.inf),
]


@pytest.mark.parametrize("which,index,value", NON_FINITE,
                         ids=[f"{w}{i}{v}" for w, i, v in NON_FINITE])
def test_non_finite_refused(which, index, value, backend):
    net = small_net(backend)
    X, T = good_data()
    if which == "X":
        X = with_value(X, index, value)
    else:
        T = with_value(T, index, value)
    before = net.params.copy()
    pattern = rf"{which}.*NaN or infinite"
    with pytest.raises(ValueError, match=pattern):
        net.fit(X, T, epochs=3, optimizer=SGD(0.1, momentum=0.5))
    np.testing.assert_array_equal(net.params, before)
    with pytest.raises(ValueError, match=pattern):
        net.loss(X, T)
    with pytest.raises(ValueError, match=pattern):
        net.gradients(X, T)
    if which == "X":
        with pytest.raises(ValueError, match=pattern):
            net.predict(X)
        with pytest.raises(ValueError, match=pattern):
            net.predict(X[index[0]])
    np.testing.assert_array_equal(net.params, before)


def test_float32_overflow_refused(backend):
    """1e39 is finite in float64 but not in a float32 network."""
    net = small_net(backend, dtype="float32")
    X, T = good_data()
    X[0, 0] = 1e39
    before = net.params.copy()
    with pytest.raises(ValueError, match=r"X.*(NaN or infinite|range|float32)"):
        net.fit(X, T)
    with pytest.raises(ValueError, match=r"X.*(NaN or infinite|range|float32)"):
        net.predict(X)
    np.testing.assert_array_equal(net.params, before)


NON_NUMERIC = [
    ("abc", r"X.*numeric.*str"),
    (b"abc", r"X.*numeric.*bytes"),
    ([["a", "b", "c"]], r"X.*real numbers.*strings"),
    ([[1.0, None, 2.0]], r"X.*real numbers.*objects"),
    (np.array([[1, 2, 3]], dtype=object), r"X.*real numbers.*objects"),
    (None, r"X.*real numbers.*objects"),
    ({"a": 1}, r"X.*real numbers.*objects"),
    (np.ones((2, 3)) * (1 + 2j), r"X.*real numbers.*complex"),
    (np.array([["2020-01-01"] * 3], dtype="datetime64[D]"),
     r"X.*real numbers.*datetime"),
]


@pytest.mark.parametrize("X,pattern", NON_NUMERIC,
                         ids=[str(i) for i in range(len(NON_NUMERIC))])
def test_non_numeric_X_refused(X, pattern, backend):
    net = small_net(backend)
    before = net.params.copy()
    T = np.full((1, N_OUT), 0.5)
    with pytest.raises(TypeError, match=pattern):
        net.predict(X)
    with pytest.raises(TypeError, match=pattern):
        net.loss(X, T)
    with pytest.raises(TypeError, match=pattern):
        net.fit(X, T)
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("T,pattern", [
    ([["x", "y"]], r"T.*real numbers.*strings"),
    (np.array([[0.5, 0.5j]]), r"T.*real numbers.*complex"),
    ([[0.5, object()]], r"T.*real numbers.*objects"),
])
def test_non_numeric_T_refused(T, pattern, backend):
    net = small_net(backend)
    with pytest.raises(TypeError, match=pattern):
        net.fit(np.zeros((1, N_IN)), T)
    with pytest.raises(TypeError, match=pattern):
        net.gradients(np.zeros((1, N_IN)), T)


@pytest.mark.parametrize("X", [
    [[1.0, 2.0, 3.0], [4.0, 5.0]],
    [[1.0, 2.0, 3.0], [4.0, 5.0, [6.0]]],
    [[1.0, 2.0, 3.0], 4.0],
], ids=["short-row", "nested-deeper", "scalar-row"])
def test_ragged_refused(X, backend):
    net = small_net(backend)
    with pytest.raises((ValueError, TypeError), match=r"X.*(rectangular|real)"):
        net.predict(X)
    with pytest.raises((ValueError, TypeError), match=r"X.*(rectangular|real)"):
        net.fit(X, [[0.5, 0.5], [0.5, 0.5]])


@pytest.mark.parametrize("sw,exc,pattern", [
    ([1.0, 2.0], ValueError, r"sample_weight.*\(6,\).*\(2,\)"),
    ([1.0, -1.0, 1.0, 1.0, 1.0, 1.0], ValueError, r"sample_weight.*non-negative"),
    ([0.0] * 6, ValueError, r"sample_weight.*all zero"),
    ([1.0, np.nan, 1.0, 1.0, 1.0, 1.0], ValueError,
     r"sample_weight.*NaN or infinite"),
    ([1.0, np.inf, 1.0, 1.0, 1.0, 1.0], ValueError,
     r"sample_weight.*NaN or infinite"),
    ([1.0] * 7, ValueError, r"sample_weight.*\(6,\).*\(7,\)"),
    ([[1.0]] * 6, ValueError, r"sample_weight.*\(6,\).*\(6, 1\)"),
    (["a"] * 6, TypeError, r"sample_weight.*real numbers"),
])
def test_bad_sample_weight(sw, exc, pattern, backend):
    """Refused the same way by every entry point that takes weights, before
    anything changes."""
    net = small_net(backend)
    X, T = good_data()
    before = net.params.copy()
    for call in (lambda: net.fit(X, T, sample_weight=sw),
                 lambda: pybp.Trainer().partial_fit(net, X, T, sample_weight=sw),
                 lambda: net.loss(X, T, sample_weight=sw),
                 lambda: net.evaluate(X, T, sample_weight=sw),
                 lambda: net.gradients(X, T, sample_weight=sw)):
        with pytest.raises(exc, match=pattern):
            call()
    np.testing.assert_array_equal(net.params, before)


# ---- optimizer and fit arguments ---------------------------------------------

BAD_SGD = [
    (dict(lr=-0.1), ValueError, r"lr.*> 0.*-0\.1"),
    (dict(lr=0), ValueError, r"lr.*> 0.*\b0"),
    (dict(lr=float("nan")), ValueError, r"lr.*finite.*nan"),
    (dict(lr=float("inf")), ValueError, r"lr.*finite.*inf"),
    (dict(lr="fast"), TypeError, r"lr.*real number.*'fast'"),
    (dict(lr=None), TypeError, r"lr.*real number.*None"),
    (dict(lr=0.1, momentum=1.0), ValueError, r"momentum.*< 1.*1\.0"),
    (dict(lr=0.1, momentum=1.5), ValueError, r"momentum.*< 1.*1\.5"),
    (dict(lr=0.1, momentum=-0.1), ValueError, r"momentum.*>= 0.*-0\.1"),
    (dict(lr=0.1, nesterov=True), ValueError, r"nesterov.*momentum.*0"),
    (dict(lr=0.1, momentum=0.5, nesterov="yes"), TypeError,
     r"nesterov.*True or False.*'yes'"),
    (dict(lr=0.1, weight_decay=-1e-3), ValueError,
     r"weight_decay.*>= 0.*-0\.001"),
]


@pytest.mark.parametrize("kwargs,exc,pattern", BAD_SGD,
                         ids=[repr(k) for k, _, _ in BAD_SGD])
def test_bad_sgd_arguments(kwargs, exc, pattern):
    with pytest.raises(exc, match=pattern):
        SGD(**kwargs)


BAD_FIT = [
    (dict(batch_size=0), ValueError, r"batch_size.*>= 1.*\b0"),
    (dict(batch_size=-2), ValueError, r"batch_size.*>= 1.*-2"),
    (dict(batch_size=2.5), TypeError, r"batch_size.*integer.*2\.5"),
    (dict(batch_size=True), TypeError, r"batch_size.*integer.*True"),
    (dict(batch_size=None), TypeError, r"batch_size.*integer.*None"),
    (dict(epochs=-1), ValueError, r"epochs.*>= 0.*-1"),
    (dict(epochs=1.5), TypeError, r"epochs.*integer.*1\.5"),
    (dict(epochs="10"), TypeError, r"epochs.*integer.*'10'"),
    (dict(shuffle=1), TypeError, r"shuffle.*True or False.*1"),
    (dict(shuffle="no"), TypeError, r"shuffle.*True or False.*'no'"),
    (dict(train_biases=None), TypeError, r"train_biases.*True or False.*None"),
    (dict(seed=-5), ValueError, r"seed.*>= 0.*-5"),
    (dict(seed=2.0), TypeError, r"seed.*integer.*2\.0"),
    (dict(optimizer="adamw"), ValueError, r"optimizer.*'adamw'.*sgd"),
    (dict(optimizer=3), TypeError, r"optimizer.*int"),
    (dict(optimizer=None), TypeError, r"optimizer.*None"),
    (dict(loss="l1"), ValueError, r"loss.*'l1'.*half_sse"),
]


@pytest.mark.parametrize("kwargs,exc,pattern", BAD_FIT,
                         ids=[repr(k) for k, _, _ in BAD_FIT])
def test_bad_fit_arguments(kwargs, exc, pattern, backend):
    net = small_net(backend)
    X, T = good_data()
    before = net.params.copy()
    with pytest.raises(exc, match=pattern):
        net.fit(X, T, **kwargs)
    np.testing.assert_array_equal(net.params, before)
    if "epochs" not in kwargs:
        with pytest.raises(exc, match=pattern):
            pybp.Trainer(**kwargs)


def test_unknown_fit_option_is_an_error():
    net = small_net()
    X, T = good_data()
    with pytest.raises(TypeError, match="batchsize"):
        net.fit(X, T, batchsize=4)


# ---- accepted input: same answers as the C-contiguous float64 array ----------


def variants(A, integer=False):
    """(name, equivalent input, the float64 array it stands for)."""
    base = np.rint(A * 3) if integer else A
    big = np.zeros((2 * A.shape[0], 2 * A.shape[1]))
    big[::2, ::2] = base
    strided = big[::2, ::2]
    assert not strided.flags.c_contiguous
    f32 = base.astype(np.float32)
    readonly = base.copy()
    readonly.flags.writeable = False
    out = [
        ("readonly", readonly, base),
        ("big-endian", base.astype(">f8"), base),
        ("strided", strided, base),
        ("reversed", base[::-1], base[::-1].copy()),
        ("fortran", np.asfortranarray(base), base),
        ("lists", base.tolist(), base),
        ("tuples", tuple(map(tuple, base.tolist())), base),
        ("float32", f32, f32.astype(np.float64)),
        ("list-of-arrays", list(base), base),
    ]
    if integer:
        out.append(("int64", base.astype(np.int64), base))
        out.append(("int32", base.astype(np.int32), base))
        out.append(("int-lists", base.astype(int).tolist(), base))
    return out


def X_variants():
    X, _ = good_data()
    return variants(X) + variants(X, integer=True)[-3:]


@pytest.mark.parametrize("name,X,X64", X_variants(),
                         ids=[v[0] for v in X_variants()])
def test_accepted_X(name, X, X64, backend):
    net = small_net(backend)
    _, T = good_data()
    T = T[:len(X64)]
    if name == "reversed":
        T = T[::-1]
    snapshot = X.copy() if isinstance(X, np.ndarray) else None
    np.testing.assert_array_equal(net.predict(X), net.predict(X64))
    np.testing.assert_array_equal(net(X), net.predict(X64))
    np.testing.assert_array_equal(net.classify(X), net.classify(X64))
    assert net.loss(X, T) == net.loss(X64, T)
    g, g64 = net.gradients(X, T), net.gradients(X64, T)
    np.testing.assert_array_equal(g.params, g64.params)
    a, b = clone(net), clone(net)
    a.fit(X, T, optimizer=SGD(0.1, momentum=0.5), epochs=2, batch_size=2,
          seed=4)
    b.fit(X64, T, optimizer=SGD(0.1, momentum=0.5), epochs=2, batch_size=2,
          seed=4)
    np.testing.assert_array_equal(a.params, b.params)
    # the caller's data is not modified
    if isinstance(X, np.ndarray):
        np.testing.assert_array_equal(X, snapshot)


@pytest.mark.parametrize("name,T,T64", variants(good_data()[1]),
                         ids=[v[0] for v in variants(good_data()[1])])
def test_accepted_T(name, T, T64, backend):
    net = small_net(backend)
    X, _ = good_data()
    if name == "reversed":
        X = X[::-1]
    assert net.loss(X, T) == net.loss(X, T64)
    np.testing.assert_array_equal(net.gradients(X, T).params,
                                  net.gradients(X, T64).params)
    a, b = clone(net), clone(net)
    a.fit(X, T, epochs=2, seed=1)
    b.fit(X, T64, epochs=2, seed=1)
    np.testing.assert_array_equal(a.params, b.params)


def test_single_output_targets_may_be_1d(backend):
    net = pybp.Network([2, 3, 1], seed=0, backend=backend)
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    t = np.array([0.2, 0.7, 0.4])
    assert net.loss(X, t) == net.loss(X, t[:, None])


def test_single_sample_1d(backend):
    net = small_net(backend)
    x, t = np.array([0.1, -0.4, 0.9]), np.array([0.3, 0.6])
    assert net.loss(x, t) == pytest.approx(net.loss(x[None], t[None]),
                                           rel=1e-15)
    g1, g2 = net.gradients(x, t), net.gradients(x[None], t[None])
    np.testing.assert_allclose(g1.params, g2.params, rtol=1e-15)


def test_float64_input_to_float32_network(backend):
    net = small_net(backend, dtype="float32")
    X, T = good_data()
    out = net.predict(X)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, net.predict(X.astype(np.float32)))
    net.fit(X, T, epochs=2, seed=0)
    assert net.params.dtype == np.float32


def test_bool_and_integer_inputs_are_numbers(backend):
    net = small_net(backend)
    Xb = np.array([[True, False, True], [False, False, True]])
    np.testing.assert_array_equal(net.predict(Xb),
                                  net.predict(Xb.astype(float)))


# ---- nothing a user passes crashes the interpreter ---------------------------

HUGE = [[10**12, 10**12], [10**7, 10**7], [10**18, 10**18], [2**63, 2],
        [2, 2**64, 3], [10**6, 10**6, 10**6]]


@pytest.mark.parametrize("sizes", HUGE, ids=str)
def test_huge_networks_raise_not_crash(sizes, tmp_path):
    """Run in a subprocess: a segfault or an abort there fails this test
    instead of killing pytest."""
    script = textwrap.dedent(f"""
        import pybp
        try:
            net = pybp.Network({sizes!r})
        except (MemoryError, ValueError, OverflowError) as exc:
            print("raised", type(exc).__name__)
        else:
            print("built", net.n_params)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(r"raised (MemoryError|ValueError|OverflowError)\n",
                        proc.stdout), proc.stdout + proc.stderr


def test_subprocess_uses_installed_package(tmp_path):
    """The crash tests above really exercise pybp (not a failed import)."""
    proc = subprocess.run(
        [sys.executable, "-c", "import pybp, pybp._core; print(pybp.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == pybp.__file__


def test_huge_batch_size_is_fine(backend):
    net = small_net(backend)
    X, T = good_data()
    full = clone(net)
    net.fit(X, T, batch_size=10**15, epochs=2, seed=0)
    full.fit(X, T, batch_size=len(X), epochs=2, seed=0)
    np.testing.assert_array_equal(net.params, full.params)


def test_extreme_values_do_not_crash(backend):
    """Finite but enormous inputs: outputs may saturate or overflow, but the
    call returns (or raises) instead of crashing."""
    net = small_net(backend, output="identity")
    X = np.full((2, N_IN), 1e300)
    out = net.predict(X)
    assert out.shape == (2, N_OUT)
    value = net.loss(X, np.zeros((2, N_OUT)))
    assert isinstance(value, float)
