"""End-to-end learning on real and classic data: scikit-learn's bundled
handwritten digits (8x8 images, 1797 samples, no download) and a sine
regression."""
import math

import numpy as np
import pytest

import pybp
from pybp import optim


@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    data = datasets.load_digits()
    X = data.data / 16.0                     # pixel values 0..16 -> [0, 1]
    y = data.target
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order], y[order]
    n_train = 1300
    T = np.eye(10)[y]
    return X[:n_train], T[:n_train], X[n_train:], y[n_train:]


@pytest.mark.parametrize("activation, make_opt, dtype", [
    ("tanh", lambda: optim.Adam(0.01), "float64"),
    ("relu", lambda: optim.Adam(0.005), "float64"),
    ("tanh", lambda: optim.SGD(0.05, momentum=0.9), "float64"),
    ("tanh", lambda: optim.Adam(0.01), "float32"),
], ids=["tanh-adam", "relu-adam", "tanh-momentum", "tanh-adam-float32"])
def test_digits_held_out_accuracy(digits, activation, make_opt, dtype):
    Xtr, Ttr, Xte, yte = digits
    net = pybp.Network([64, 64, 10], activation, "softmax", seed=0,
                       dtype=dtype)
    chance = net.evaluate(Xte, np.eye(10)[yte], loss="cross_entropy")
    h = net.fit(Xtr, Ttr, loss="cross_entropy", optimizer=make_opt(),
                epochs=30, batch_size=32, seed=0)
    assert h.stopped == "max_epochs"
    assert h.loss[-1] < 0.1 * h.loss[0]
    accuracy = np.mean(net.classify(Xte) == yte)
    assert accuracy >= 0.95, accuracy
    assert chance["accuracy"] < 0.3            # it was learned, not given
    assert h.metrics["accuracy"][-1] > 0.95


def test_digits_with_early_stopping(digits):
    """Early stopping on a validation split with restore_best: the usual
    way to train, and still >= 95% on the held-out test rows."""
    Xtr, Ttr, Xte, yte = digits
    net = pybp.Network([64, 64, 10], "tanh", "softmax", seed=1)
    h = net.fit(Xtr, Ttr, loss="cross_entropy", optimizer=optim.Adam(0.01),
                epochs=200, batch_size=32, seed=1, validation_split=0.15,
                patience=5)
    assert h.stopped == "no_improvement"
    assert h.epochs < 200
    # The best validation epoch's weights are back.
    n_val = len(Xtr) - int(len(Xtr) * 0.85)
    assert net.loss(Xtr[-n_val:], Ttr[-n_val:], loss="cross_entropy") == \
        pytest.approx(min(h.val_loss), rel=1e-9)
    assert np.mean(net.classify(Xte) == yte) >= 0.95


@pytest.fixture(scope="module")
def sine():
    x = np.linspace(-math.pi, math.pi, 200).reshape(-1, 1)
    x_test = np.random.default_rng(1).uniform(-math.pi, math.pi, (500, 1))
    return x, np.sin(x), x_test, np.sin(x_test)


@pytest.mark.parametrize("make_opt, batch_size, epochs", [
    (lambda: optim.Adam(0.01), 20, 500),
    (lambda: optim.Rprop(), 200, 1000),
], ids=["adam", "rprop"])
def test_sine_regression(sine, make_opt, batch_size, epochs):
    x, y, x_test, y_test = sine
    net = pybp.Network([1, 32, 1], "tanh", "identity", seed=0)
    mse0 = np.mean((net.predict(x_test) - y_test) ** 2)
    net.fit(x, y, loss="mse", optimizer=make_opt(), epochs=epochs,
            batch_size=batch_size, seed=0)
    mse = np.mean((net.predict(x_test) - y_test) ** 2)
    assert mse < 1e-3, mse
    assert mse0 > 0.05                         # the untrained net is far off
    assert net.loss(x_test, y_test, loss="mse") == pytest.approx(mse,
                                                                 rel=1e-9)
