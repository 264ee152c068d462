"""Network.predict's fast path: a C-contiguous, aligned array of the
network's dtype and width goes straight to C, which checks that it and the
parameters are finite; anything else takes the validating path.  Both give
the same bits, and the same errors."""
import tracemalloc

import numpy as np
import pytest

import pybp

DTYPES = ["float64", "float32"]


def _net(dtype, sizes=(10, 4, 6, 8, 4), backend="c"):
    return pybp.Network(list(sizes), "tanh", "softmax", seed=3, dtype=dtype,
                        backend=backend)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [0, 1, 2, 5, 300, 2000])
def test_fast_path_equals_validating_path(dtype, n):
    net = _net(dtype)
    X = np.random.default_rng(n).normal(size=(n, 10)).astype(dtype)
    fast = net.predict(X)
    # A list and a Fortran-ordered copy both take the validating path.
    slow = net.predict(X.tolist()) if n else net.predict(X.copy())
    fortran = net.predict(np.asfortranarray(X))
    assert fast.shape == slow.shape == (n, 4) and fast.dtype == np.dtype(dtype)
    assert fast.tobytes() == slow.tobytes() == fortran.tobytes()
    ref = net.copy(backend="python").predict(X)
    np.testing.assert_allclose(fast, ref, rtol=1e-5 if dtype == "float32"
                               else 1e-12, atol=1e-7)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_path_one_sample(dtype):
    net = _net(dtype)
    x = np.linspace(-1, 1, 10).astype(dtype)
    out = net.predict(x)
    assert out.shape == (4,)
    assert out.tobytes() == net.predict(x.tolist()).tobytes()
    assert net(x).tobytes() == out.tobytes()
    assert net.classify(x) == int(np.argmax(out))


def test_wide_layer_chunks_beyond_the_stack_workspace():
    """n_units larger than the on-stack workspace: allocated, chunked, same
    result as the validating path."""
    net = pybp.Network([3, 3000, 2], "relu", "identity", seed=1)
    X = np.random.default_rng(0).normal(size=(7, 3))
    assert net.predict(X).tobytes() == net.predict(X.tolist()).tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_input_refused(dtype, bad):
    net = _net(dtype)
    X = np.zeros((3, 10), dtype=dtype)
    X[2, 7] = bad
    with pytest.raises(ValueError, match="NaN or infinite"):
        net.predict(X)
    with pytest.raises(ValueError, match="NaN or infinite"):
        net.predict(X[2])


@pytest.mark.parametrize("dtype", DTYPES)
def test_nonfinite_parameter_refused(dtype):
    net = _net(dtype)
    X = np.zeros((3, 10), dtype=dtype)
    before = net.predict(X)
    net.weights[1][2, 3] = np.nan     # element assignment skips the checks
    with pytest.raises(ValueError, match="layer 1 weights"):
        net.predict(X)
    net.weights[1][2, 3] = 0.5
    net.biases[2][0] = np.inf
    with pytest.raises(ValueError, match="layer 2 biases"):
        net.predict(X[0])
    net.biases[2][0] = 0.0
    assert np.isfinite(net.predict(X)).all()
    assert net.predict(X).shape == before.shape


@pytest.mark.parametrize("dtype", DTYPES)
def test_wrong_width_or_dtype_still_validated(dtype):
    net = _net(dtype)
    with pytest.raises(ValueError, match="shape"):
        net.predict(np.zeros((2, 9), dtype=dtype))
    with pytest.raises(ValueError, match="10 values"):
        net.predict(np.zeros(9, dtype=dtype))
    with pytest.raises(ValueError):
        net.predict(np.zeros((2, 2, 10), dtype=dtype))
    other = "float32" if dtype == "float64" else "float64"
    X = np.random.default_rng(1).normal(size=(4, 10))
    assert net.predict(X.astype(other)).dtype == np.dtype(dtype)
    # Unaligned: the validating path copies it.
    raw = np.zeros(4 * 10 * np.dtype(dtype).itemsize + 1, dtype=np.uint8)
    unaligned = np.frombuffer(raw.data, dtype=dtype, count=40,
                              offset=1).reshape(4, 10)
    assert not unaligned.flags.aligned
    assert np.array_equal(net.predict(unaligned),
                          net.predict(np.zeros((4, 10), dtype=dtype)))


def test_python_backend_unchanged():
    net = _net("float64", backend="python")
    X = np.random.default_rng(2).normal(size=(3, 10))
    np.testing.assert_allclose(net.predict(X), net.copy(backend="c").predict(X),
                               rtol=1e-12)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        net.predict(X)


def test_small_batch_allocates_only_the_result():
    """One sample of a net with 1,004 units: the validating path would
    allocate an 8 KB workspace; the fast path only the 4-value result."""
    net = pybp.Network([10, 1000, 4], seed=1)
    x = np.zeros((1, 10))
    net.predict(x)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        net.predict(x)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert peak < 4000, peak


@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_path_skips_python_validation(dtype, monkeypatch):
    """A qualifying array never reaches pybp._validate.inputs; anything else
    does (so the routing, not just the result, is what the fast path says)."""
    from pybp import _validate
    net = _net(dtype)
    X = np.random.default_rng(4).normal(size=(6, 10)).astype(dtype)
    expected = net.predict(X)

    def refuse(*args, **kwargs):
        raise AssertionError("validating path taken")
    monkeypatch.setattr(_validate, "inputs", refuse)
    assert net.predict(X).tobytes() == expected.tobytes()
    assert net.predict(X[3]).tobytes() == expected[3].tobytes()
    X.flags.writeable = False          # read-only input is fine
    assert net.predict(X).tobytes() == expected.tobytes()
    one = np.lib.stride_tricks.as_strided(X[2], shape=(1, 10),
                                          strides=(12345 * X.itemsize,
                                                   X.itemsize))
    assert net.predict(one).tobytes() == expected[2:3].tobytes()
    for other in (X.tolist(), np.asfortranarray(X), X[:, ::-1],
                  X.astype(X.dtype.newbyteorder(">")), X[:0]):
        with pytest.raises(AssertionError, match="validating path"):
            net.predict(other)


@pytest.mark.parametrize("dtype", DTYPES)
def test_byte_swapped_and_strided_inputs_agree(dtype):
    net = _net(dtype)
    X = np.random.default_rng(5).normal(size=(5, 10)).astype(dtype)
    expected = net.predict(X)
    swapped = X.astype(X.dtype.newbyteorder(">"))
    assert net.predict(swapped).tobytes() == expected.tobytes()
    wide = np.zeros((5, 20), dtype=dtype)
    wide[:, ::2] = X
    assert net.predict(wide[:, ::2]).tobytes() == expected.tobytes()
    assert net.predict(np.ascontiguousarray(X[:, None, :])[:, 0, :]
                       ).tobytes() == expected.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_path_output_overflow_warns(dtype):
    """Finite inputs and parameters whose outputs overflow: the fast path
    declines (C reports code 3) and the general path warns, as before."""
    net = pybp.Network([2, 1], "identity", seed=0, dtype=dtype)
    net.weights[0][...] = np.finfo(dtype).max
    X = np.full((2, 2), np.finfo(dtype).max, dtype=dtype)
    with pytest.warns(RuntimeWarning, match="predict"):
        out = net.predict(X)
    assert np.isinf(out).all()
