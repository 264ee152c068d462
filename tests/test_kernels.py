"""The C backend's two kernel sets: "exact" (the oracle, bit-identical to
the pure-Python backend) and "fast" (the default: register-blocked, threaded
layer products), and how they are chosen (pybp.set_kernels, PYBP_KERNELS).

The agreement tolerance is the one docs/kernels.md states for a short fit:
every parameter within TOL[dtype] * (1 + |p|) of the exact set's."""
import os
import subprocess
import sys

import numpy as np
import pytest

import pybp
from pybp import _core, _registry

DTYPES = (np.float64, np.float32)
# Short fits (3 epochs of 4 batches of 16): each product's rounding error is
# at most K u sum|terms| (K <= 64 here, u the unit round-off), and 12 steps
# at these learning rates amplify it by well under 1e3.  So the allowance is
# 64 * 1e3 * u (about 1e-11 for float64, 5e-3 for float32, relative).
TOL = {np.float64: 64 * 1e3 * 2.0 ** -53, np.float32: 64 * 1e3 * 2.0 ** -24}


@pytest.fixture
def kernels():
    """Yields a setter; restores the kernel set in use afterwards."""
    before = pybp.get_kernels()
    yield pybp.set_kernels
    pybp.set_kernels(before)


def test_default_kernel_set_is_fast_unless_the_environment_says():
    want = os.environ.get("PYBP_KERNELS", "fast").strip().lower() or "fast"
    assert pybp.get_kernels() == want
    assert pybp.config()["kernels"] == want


def test_set_kernels_switches_and_reports(kernels):
    assert kernels("exact") == "exact" and pybp.get_kernels() == "exact"
    assert _core.kernels_active() == "exact"
    assert kernels("fast") == "fast" and pybp.get_kernels() == "fast"


@pytest.mark.parametrize("bad", ["Fast", "blas", ""])
def test_unknown_kernel_set_is_a_value_error(kernels, bad):
    before = pybp.get_kernels()
    with pytest.raises(ValueError, match="expected one of 'fast', 'exact'"):
        kernels(bad)
    assert pybp.get_kernels() == before


@pytest.mark.parametrize("bad", [None, 1, b"fast"])
def test_kernel_set_must_be_a_str(kernels, bad):
    with pytest.raises(TypeError, match="kernel set must be a str"):
        kernels(bad)


def test_show_config_names_the_kernel_set_and_threads():
    import io
    out = io.StringIO()
    pybp.show_config(file=out)
    text = out.getvalue()
    assert f"kernels: {pybp.get_kernels()}" in text
    assert f"num_threads: {pybp.get_num_threads()}" in text


def _run(code, **env):
    full = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=full, check=True)


def test_environment_variable_picks_the_set():
    out = _run("import pybp; print(pybp.get_kernels())", PYBP_KERNELS="exact")
    assert out.stdout.strip() == "exact"
    out = _run("import pybp; print(pybp.get_kernels())", PYBP_KERNELS=" FAST ")
    assert out.stdout.strip() == "fast"


def test_bad_environment_variable_warns_and_uses_fast():
    out = _run("import warnings; warnings.simplefilter('always');"
               "import pybp; print(pybp.get_kernels())", PYBP_KERNELS="turbo")
    assert out.stdout.strip() == "fast"
    assert "PYBP_KERNELS='turbo' ignored" in out.stderr


# ---- numerics -------------------------------------------------------------

# (hidden activation, output activation, loss): every activation and every
# loss, each loss with an output activation it pairs with.
CASES = [
    ("sigmoid", "sigmoid", "binary_cross_entropy"),
    ("tanh", "softmax", "cross_entropy"),
    ("relu", "identity", "mse"),
    ("leaky_relu", "tanh", "sse"),
    ("identity", "relu", "half_sse"),
    ("tanh", "leaky_relu", "mse"),
    ("relu", "softmax", "half_sse"),
]
OPTIMIZERS = {
    "sgd": pybp.optim.SGD(0.05, momentum=0.9, nesterov=True,
                          weight_decay=1e-3),
    "adam": pybp.optim.Adam(1e-3),
    "rmsprop": pybp.optim.RMSprop(1e-3),
    "adagrad": pybp.optim.Adagrad(1e-2),
    "rprop": pybp.optim.Rprop(),
    "quickprop": pybp.optim.Quickprop(1e-3),
}
SIZES = [40, 48, 24, 6]   # every layer >= 512 weights but the last (144)


def _data(dtype, out_act, loss, make_targets, n=64):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(n, SIZES[0])).astype(dtype)
    T = make_targets(out_act, loss, n, SIZES[-1], rng).astype(dtype)
    return X, T


def _fit(kernel_set, dtype, act, out_act, loss, optimizer, X, T, *,
         backend="c", sizes=SIZES, sw=None):
    pybp.set_kernels(kernel_set)
    net = pybp.Network(sizes, act, out_act, seed=5, dtype=dtype,
                       backend=backend)
    hist = net.fit(X, T, loss=loss, optimizer=optimizer, batch_size=16,
                   epochs=3, seed=6, sample_weight=sw)
    return net, hist


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act,out_act,loss", CASES)
def test_fast_agrees_with_exact_for_every_activation_and_loss(
        kernels, make_targets, dtype, act, out_act, loss):
    X, T = _data(dtype, out_act, loss, make_targets)
    exact, h_exact = _fit("exact", dtype, act, out_act, loss, "adam", X, T)
    fast, h_fast = _fit("fast", dtype, act, out_act, loss, "adam", X, T)
    tol = TOL[dtype]
    np.testing.assert_allclose(fast.params, exact.params, rtol=tol, atol=tol)
    np.testing.assert_allclose(h_fast.loss, h_exact.loss, rtol=tol, atol=tol)
    X2 = X[:9]
    np.testing.assert_allclose(fast.predict(X2), exact.predict(X2),
                               rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_fast_agrees_with_exact_for_every_optimizer(kernels, make_targets,
                                                    dtype, name):
    assert set(OPTIMIZERS) == set(_registry.OPTIMIZERS)
    X, T = _data(dtype, "softmax", "cross_entropy", make_targets)
    sw = np.linspace(0.5, 2.0, len(X))
    opt = OPTIMIZERS[name]
    exact, _ = _fit("exact", dtype, "tanh", "softmax", "cross_entropy", opt,
                    X, T, sw=sw)
    fast, _ = _fit("fast", dtype, "tanh", "softmax", "cross_entropy", opt,
                   X, T, sw=sw)
    tol = TOL[dtype]
    np.testing.assert_allclose(fast.params, exact.params, rtol=tol, atol=tol)
    g_e = exact.gradients(X, T, loss="cross_entropy", sample_weight=sw)
    pybp.set_kernels("fast")
    g_f = exact.gradients(X, T, loss="cross_entropy", sample_weight=sw)
    np.testing.assert_allclose(g_f.params, g_e.params, rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_set_really_runs_different_kernels(kernels, make_targets, dtype):
    """The agreement tests would pass trivially if "fast" ran the exact
    loops: on layers of >= 512 weights the bits must differ somewhere."""
    X, T = _data(dtype, "softmax", "cross_entropy", make_targets)
    exact, _ = _fit("exact", dtype, "tanh", "softmax", "cross_entropy",
                    "adam", X, T)
    fast, _ = _fit("fast", dtype, "tanh", "softmax", "cross_entropy",
                   "adam", X, T)
    assert not np.array_equal(fast.params, exact.params)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act,out_act", [("relu", "identity"),
                                         ("leaky_relu", "relu")])
def test_small_layers_forward_in_the_fast_set(
        kernels, make_targets, dtype, act, out_act):
    """Layers under 512 weights run the exact set's delta and gradient
    loops, but their forward product is the fast set's (one chain of
    multiply-adds per output, fused where the variant fuses, samples in
    vector lanes): even with activations that need no exp, a fit agrees with
    the exact set's within the tolerance, and a prediction's rows are the
    same bits alone as in a batch (row counts around the lane width)."""
    sizes = [10, 4, 6, 8, 4]
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 10)).astype(dtype)
    T = make_targets(out_act, "mse", 50, 4, rng).astype(dtype)
    exact, h_e = _fit("exact", dtype, act, out_act, "mse", "sgd", X, T,
                      sizes=sizes)
    fast, h_f = _fit("fast", dtype, act, out_act, "mse", "sgd", X, T,
                     sizes=sizes)
    tol = TOL[dtype]
    np.testing.assert_allclose(fast.params, exact.params, rtol=tol, atol=tol)
    np.testing.assert_allclose(h_f.loss, h_e.loss, rtol=tol, atol=tol)
    pybp.set_kernels("fast")
    for n in (4, 7, 8, 9, 16, 17, 300):
        Z = rng.normal(size=(n, 10)).astype(dtype)
        batch = fast.predict(Z)
        rows = np.concatenate([fast.predict(Z[i:i + 1]) for i in range(n)])
        np.testing.assert_array_equal(rows, batch)


@pytest.mark.parametrize("dtype", DTYPES)
def test_small_layers_use_the_fast_activation(kernels, make_targets, dtype):
    """...but their sigmoid and tanh are the fast set's vectorised ones (a
    couple of ulps from libm: docs/kernels.md), so a tanh/sigmoid fit agrees
    with the exact set's within the tolerance and differs in some bit, and
    predictions of one sample equal the batch's, row for row."""
    sizes = [10, 4, 6, 8, 4]
    rng = np.random.default_rng(2)
    X = rng.normal(size=(50, 10)).astype(dtype)
    T = make_targets("sigmoid", "mse", 50, 4, rng).astype(dtype)
    exact, h_e = _fit("exact", dtype, "tanh", "sigmoid", "mse", "sgd", X, T,
                      sizes=sizes)
    fast, h_f = _fit("fast", dtype, "tanh", "sigmoid", "mse", "sgd", X, T,
                     sizes=sizes)
    tol = TOL[dtype]
    np.testing.assert_allclose(fast.params, exact.params, rtol=tol, atol=tol)
    np.testing.assert_allclose(h_f.loss, h_e.loss, rtol=tol, atol=tol)
    Z = rng.normal(scale=4.0, size=(203, 10)).astype(dtype)
    pybp.set_kernels("exact")
    p_exact = exact.predict(Z)
    pybp.set_kernels("fast")
    p_fast = exact.predict(Z)
    assert not np.array_equal(p_fast, p_exact)
    np.testing.assert_allclose(p_fast, p_exact, rtol=tol, atol=tol)
    rows = np.concatenate([exact.predict(Z[i:i + 1]) for i in range(0, 203, 7)])
    np.testing.assert_array_equal(rows, p_fast[::7])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
def test_fast_activation_edges(kernels, dtype, act):
    """Net inputs of +-inf (4 * the largest float), huge, zero and subnormal
    through a one-weight net (w = 4, b = 0): the fast set's activation gives
    the limits exactly, with no floating-point warnings.  (NaN and -0.0 net
    inputs: tests/c/test_activation.c.)"""
    fin = np.finfo(dtype)
    big = 200.0 if dtype == np.float64 else 30.0
    x = np.array([fin.max, -fin.max, big, -big, 0.0, fin.tiny / 16,
                  -fin.tiny / 16, 0.125, -0.75], dtype=dtype)
    pybp.set_kernels("fast")
    net = pybp.Network([1, 1], act, act, dtype=dtype, seed=0)
    net.params = np.array([4.0, 0.0], dtype=dtype)
    with np.errstate(all="raise"):
        out = net.predict(x[:, None])[:, 0]
    if act == "sigmoid":
        want = [1.0, 0.0, 1.0, 0.0, 0.5, 0.5, 0.5]
    else:
        want = [1.0, -1.0, 1.0, -1.0, 0.0, fin.tiny / 4, -fin.tiny / 4]
    np.testing.assert_array_equal(out[:7], np.array(want, dtype=dtype))
    z = 4.0 * x[7:].astype(np.float64)
    ref = 1 / (1 + np.exp(-z)) if act == "sigmoid" else np.tanh(z)
    np.testing.assert_allclose(out[7:], ref, rtol=4 * fin.eps, atol=0)


def test_exact_set_is_bit_identical_to_the_python_backend(kernels,
                                                          make_targets):
    """Layers narrower than 8 inputs: the pure-Python backend sums a dot
    product in order, the exact kernels in 8 lanes from 8 inputs on, so the
    two agree bit for bit only below that (as on main)."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(64, 7))
    T = make_targets("softmax", "cross_entropy", 64, 3, rng)
    sizes = [7, 6, 3]
    exact, h_c = _fit("exact", np.float64, "tanh", "softmax",
                      "cross_entropy", "adam", X, T, sizes=sizes)
    py, h_py = _fit("exact", np.float64, "tanh", "softmax", "cross_entropy",
                    "adam", X, T, backend="python", sizes=sizes)
    np.testing.assert_array_equal(exact.params, py.params)
    assert h_c.loss == h_py.loss


def test_python_backend_ignores_the_kernel_set(kernels, make_targets):
    X, T = _data(np.float64, "softmax", "cross_entropy", make_targets)
    a, _ = _fit("exact", np.float64, "tanh", "softmax", "cross_entropy",
                "adam", X, T, backend="python")
    b, _ = _fit("fast", np.float64, "tanh", "softmax", "cross_entropy",
                "adam", X, T, backend="python")
    np.testing.assert_array_equal(a.params, b.params)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_set_is_reproducible_and_batch_independent(kernels, dtype):
    """Same seed, same bits; a sample's prediction does not depend on the
    batch it is predicted in (the fast products compute each row alike)."""
    pybp.set_kernels("fast")
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 70)).astype(dtype)
    T = np.eye(10)[rng.integers(0, 10, 300)].astype(dtype)
    runs = []
    for _ in range(2):
        net = pybp.Network([70, 64, 10], "relu", "softmax", seed=1,
                           dtype=dtype)
        net.fit(X, T, loss="cross_entropy", optimizer="adam", batch_size=32,
                epochs=2, seed=3)
        runs.append(net)
    np.testing.assert_array_equal(runs[0].params, runs[1].params)
    full = runs[0].predict(X)
    for i in (0, 5, 299):
        np.testing.assert_array_equal(runs[0].predict(X[i:i + 1]),
                                      full[i:i + 1])
    np.testing.assert_array_equal(runs[0].predict(X[7:20]), full[7:20])


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_simd_variant_of_the_fast_set_agrees_with_exact(
        kernels, make_targets, dtype):
    X, T = _data(dtype, "softmax", "cross_entropy", make_targets)
    exact, _ = _fit("exact", dtype, "tanh", "softmax", "cross_entropy",
                    "adam", X, T)
    before = _core.simd_active()
    try:
        for path in _core.simd_paths():
            _core.simd_select(path)
            pybp.set_kernels("fast")
            assert _core.simd_active() == path
            fast, _ = _fit("fast", dtype, "tanh", "softmax", "cross_entropy",
                           "adam", X, T)
            again, _ = _fit("fast", dtype, "tanh", "softmax",
                            "cross_entropy", "adam", X, T)
            np.testing.assert_array_equal(fast.params, again.params)
            np.testing.assert_allclose(fast.params, exact.params,
                                       rtol=TOL[dtype], atol=TOL[dtype])
    finally:
        _core.simd_select(before)


def test_long_batches_in_chunks_equal_one_piece_in_the_fast_set(kernels):
    """Batches larger than the epoch chunk are processed in chunks that
    start on the fast gradient's sample blocks: the same bits as
    Network.gradients over the whole batch in one piece."""
    pybp.set_kernels("fast")
    rng = np.random.default_rng(8)
    n = 1300
    X = rng.normal(size=(n, 300))
    T = np.eye(10)[rng.integers(0, 10, n)]
    net = pybp.Network([300, 200, 10], "tanh", "softmax", seed=2)
    g = net.gradients(X, T, loss="cross_entropy")
    before = net.params.copy()
    net.fit(X, T, loss="cross_entropy", optimizer=pybp.optim.SGD(0.1),
            batch_size=n, epochs=1, shuffle=False)
    np.testing.assert_array_equal(net.params,
                                  (before - 0.1 * g.params).astype(before.dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_softmax_and_cross_entropy(kernels, dtype):
    """The fast set's softmax (its vectorised exp over the whole block) and
    its cross-entropy (log of the sum of exps as -log of the row maximum's
    output) against the exact set's libm ones: outputs and per-sample
    losses within a few ulps, also for logits spread so far that some
    outputs underflow to 0 (the loss stays finite, from z - logsumexp z),
    and no floating-point warnings."""
    fin = np.finfo(dtype)
    rng = np.random.default_rng(4)
    n, m = 203, 10
    spread = np.where(np.arange(n) % 3 == 0, 2000.0, 20.0)[:, None]
    X = (rng.uniform(-0.5, 0.5, (n, m)) * spread).astype(dtype)
    T = np.eye(m, dtype=dtype)[rng.integers(0, m, n)]
    net = pybp.Network([m, m], "identity", "softmax", dtype=dtype, seed=0)
    net.params = np.concatenate([np.eye(m).ravel(), np.zeros(m)]).astype(
        dtype)                              # outputs = softmax(x)
    results = {}
    for k in ("exact", "fast"):
        kernels(k)
        with np.errstate(all="raise"):
            out = net.predict(X)
            losses = np.array([net.loss(X[i:i + 1], T[i:i + 1],
                                        loss="cross_entropy")
                               for i in range(0, n, 2)])
        results[k] = out, losses
    (o_e, l_e), (o_f, l_f) = results["exact"], results["fast"]
    z = X.astype(np.float64)
    np.testing.assert_allclose(o_e, np.exp(z - z.max(1, keepdims=True)) / np.exp(
        z - z.max(1, keepdims=True)).sum(1, keepdims=True), rtol=1e-5,
        atol=1e-30)
    assert (o_f == 0).any() and np.isfinite(l_f).all() and (l_f > 100).any()
    np.testing.assert_allclose(o_f, o_e, rtol=8 * fin.eps,
                               atol=8 * fin.tiny)
    np.testing.assert_array_equal(o_f.sum(1) > 0, True)
    # a loss of L carries L * eps of z's rounding; 8 ulps of it
    np.testing.assert_allclose(l_f, l_e, rtol=8 * fin.eps, atol=8 * fin.eps)
