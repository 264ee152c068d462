"""Numerical trouble is reported, never silent (docs/hardening.md,
"Numerics"), the same way on both backends:

- predict / evaluate / loss whose result is inf or NaN although the
  parameters and inputs are finite (an overflow of the dtype) raise one
  RuntimeWarning from pybp, attributed to the caller's line;
- a fit epoch that changed no weight although their gradient is not zero
  (each update below the dtype's precision: the learning rate underflowed)
  is recorded in History.warnings and raised as a RuntimeWarning, once per
  fit; a true stationary point (zero gradient) is not reported.
"""
import warnings

import numpy as np
import pytest

import pybp
from pybp import optim

BACKENDS = ["c", "python"]
DTYPES = ["float64", "float32"]
HUGE = {"float32": 1e20, "float64": 1e200}   # squares overflow the dtype


def _caught(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fn()
    return result, caught


def _overflowing(backend, dtype):
    net = pybp.Network([3, 4, 2], "identity", seed=0, backend=backend,
                       dtype=dtype)
    net.params = np.full(net.n_params, HUGE[dtype])
    return net


# ---- non-finite outputs -------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_predict_overflow_warns_once_from_pybp(backend, dtype):
    net = _overflowing(backend, dtype)
    X = np.ones((5, 3))
    out, caught = _caught(lambda: net.predict(X))
    assert not np.isfinite(out).any()
    assert len(caught) == 1, [str(w.message) for w in caught]
    w = caught[0]
    assert w.category is RuntimeWarning
    assert "predict: 10 of 10 values are not finite" in str(w.message)
    assert f"overflowed {dtype}" in str(w.message)
    assert w.filename == __file__   # the user's line, not pybp's
    # one sample, and classify (which predicts)
    _, caught = _caught(lambda: net.predict(X[0]))
    assert len(caught) == 1 and "2 of 2" in str(caught[0].message)
    _, caught = _caught(lambda: net.classify(X))
    assert len(caught) == 1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_partly_overflowing_outputs_are_counted(backend, dtype):
    net = pybp.Network([2, 2], "identity", bias=False, backend=backend,
                       dtype=dtype)
    net.weights[0] = np.array([[HUGE[dtype], 0.0], [0.0, 1.0]])
    X = np.array([[HUGE[dtype], 1.0], [0.0, 1.0]])
    out, caught = _caught(lambda: net.predict(X))
    assert np.isinf(out[0, 0]) and np.isfinite(out).sum() == 3
    assert len(caught) == 1 and "1 of 4 values" in str(caught[0].message)


@pytest.mark.parametrize("backend", BACKENDS)
def test_loss_and_evaluate_overflow_warn(backend):
    net = _overflowing(backend, "float64")
    X, T = np.ones((5, 3)), np.ones((5, 2))
    loss, caught = _caught(lambda: net.loss(X, T))
    assert loss == np.inf
    assert len(caught) == 1 and "the loss" in str(caught[0].message)
    assert caught[0].filename == __file__
    result, caught = _caught(lambda: net.evaluate(X, T))
    assert result["loss"] == np.inf and len(caught) == 1


def test_float32_loss_overflow_warns_on_c():
    """The C backend computes float32 outputs in float32: they overflow and
    so does the loss.  (The Python backend keeps activations in double, so
    its float32 loss of the same net is finite and large: no warning.)"""
    net = _overflowing("c", "float32")
    loss, caught = _caught(lambda: net.loss(np.ones((5, 3)), np.ones((5, 2))))
    assert loss == np.inf
    assert len(caught) == 1 and "float32" in str(caught[0].message)
    py = net.copy(backend="python")
    loss, caught = _caught(lambda: py.loss(np.ones((5, 3)), np.ones((5, 2))))
    assert np.isfinite(loss) and loss > 1e38 and not caught


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_finite_results_do_not_warn(backend, dtype):
    net = pybp.Network([3, 4, 2], seed=0, backend=backend, dtype=dtype)
    X, T = np.ones((5, 3)), np.full((5, 2), 0.5)
    # large but representable: the sum test must not be fooled
    big = pybp.Network([1, 2], "identity", bias=False, backend=backend,
                       dtype=dtype)
    big.weights[0] = np.full((2, 1), HUGE[dtype] ** 1.0 if dtype == "float64"
                             else 3e38)
    (_, _, _, out_big), caught = _caught(lambda: (
        net.predict(X), net.loss(X, T), net.evaluate(X, T),
        big.predict(np.ones((3, 1)))))
    assert np.isfinite(out_big).all() and not caught


@pytest.mark.parametrize("backend", BACKENDS)
def test_nan_output_from_inf_minus_inf_warns(backend):
    """Two overflowing terms of opposite sign: also reported.  Unfused
    (the exact set, the Python backend) they give inf - inf = NaN; a fused
    multiply-add (the fast set on an FMA variant) adds the second product
    unrounded to inf, which stays inf."""
    net = pybp.Network([2, 1], "identity", bias=False, backend=backend)
    net.weights[0] = np.array([[1e308, -1e308]])
    out, caught = _caught(lambda: net.predict(np.array([[10.0, 10.0]])))
    assert not np.isfinite(out).any() and len(caught) == 1
    if backend == "python" or pybp.get_kernels() == "exact":
        assert np.isnan(out).all()


# ---- fits that change nothing -------------------------------------------

def _task(n=32):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, (X[:, :1] > 0).astype(float)


def _tiny(dtype, optimizer):
    """A learning rate that vanishes in the dtype's arithmetic."""
    lr = 1e-50 if dtype == "float32" else 1e-300
    return {"sgd": optim.SGD(lr), "momentum": optim.SGD(lr, momentum=0.9),
            "adam": optim.Adam(lr), "rmsprop": optim.RMSprop(lr),
            "adagrad": optim.Adagrad(lr)}[optimizer]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer",
                         ["sgd", "momentum", "adam", "rmsprop", "adagrad"])
def test_underflowing_lr_is_reported(backend, dtype, optimizer):
    X, T = _task()
    net = pybp.Network([3, 4, 1], seed=0, backend=backend, dtype=dtype)
    before = [W.copy() for W in net.weights]
    history, caught = _caught(lambda: net.fit(
        X, T, optimizer=_tiny(dtype, optimizer), epochs=3, batch_size=4))
    assert all(np.array_equal(a, b) for a, b in zip(before, net.weights))
    assert history.epochs == 3 and history.stopped == "max_epochs"
    assert len(history.warnings) == 1   # once per fit, not per epoch
    message = history.warnings[0]
    assert message.startswith("epoch 1: no weight changed")
    assert f"below {dtype} precision" in message and "lr 1e-" in message
    ours = [w for w in caught if "no weight changed" in str(w.message)]
    assert len(ours) == 1 and ours[0].category is RuntimeWarning
    assert str(ours[0].message) == message
    assert ours[0].filename == __file__


@pytest.mark.parametrize("backend", BACKENDS)
def test_lr_too_small_for_the_weights_is_reported_in_float64(backend):
    """lr itself representable, but w - lr*g rounds back to w for every
    weight (no biases to creep)."""
    X, T = _task()
    net = pybp.Network([3, 4, 1], seed=0, bias=False, backend=backend)
    history, _ = _caught(lambda: net.fit(X, T, optimizer=optim.SGD(1e-30),
                                         epochs=2))
    assert len(history.warnings) == 1 and "float64" in history.warnings[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_rprop_with_vanishing_steps_is_reported_without_lr(backend):
    X, T = _task()
    net = pybp.Network([3, 4, 1], seed=0, backend=backend, dtype="float32")
    history, _ = _caught(lambda: net.fit(
        X, T, optimizer=optim.Rprop(delta0=1e-50), epochs=2))
    assert len(history.warnings) == 1
    assert "lr" not in history.warnings[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_partial_fit_and_trainer_fit_report_too(backend):
    X, T = _task()
    net = pybp.Network([3, 4, 1], seed=0, backend=backend, dtype="float32")
    trainer = pybp.Trainer(optimizer=optim.SGD(1e-50))
    h1, c1 = _caught(lambda: trainer.partial_fit(net, X, T))
    h2, c2 = _caught(lambda: trainer.fit(net, X, T, epochs=2))
    assert len(h1.warnings) == len(h2.warnings) == 1
    assert c1[0].filename == c2[0].filename == __file__


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_normal_training_reports_nothing(backend, dtype):
    X, T = _task()
    net = pybp.Network([3, 4, 1], seed=0, backend=backend, dtype=dtype)
    history, caught = _caught(lambda: net.fit(X, T, optimizer="adam",
                                              epochs=3, batch_size=4,
                                              train_biases=False))
    assert history.warnings == [] and not caught


@pytest.mark.parametrize("backend", BACKENDS)
def test_stationary_point_is_not_reported(backend):
    """Weights already exact (zero gradient): nothing changes, rightly."""
    X = np.linspace(-1, 1, 16).reshape(-1, 1)
    T = 2 * X + 0.5
    net = pybp.Network([1, 1], "identity", backend=backend)
    net.params = np.array([2.0, 0.5])
    history, caught = _caught(lambda: net.fit(X, T, epochs=3))
    assert np.array_equal(net.params, [2.0, 0.5])
    assert history.warnings == [] and not caught


def test_interrupted_or_diverged_epochs_are_not_checked():
    """An epoch cut short by max_seconds=0 changes nothing without a
    warning; a diverged one is reported by History.stopped instead."""
    X, T = _task()
    net = pybp.Network([3, 4, 1], seed=0, dtype="float32")
    history, caught = _caught(lambda: net.fit(
        X, T, optimizer=optim.SGD(1e-50), epochs=3, max_seconds=0))
    assert history.warnings == [] and not caught
    big = pybp.Network([3, 4, 1], "identity", seed=0)
    history, _ = _caught(lambda: big.fit(X * 1e150, T, epochs=3,
                                         optimizer=optim.SGD(1e10)))
    assert history.stopped == "diverged" and history.warnings == []
