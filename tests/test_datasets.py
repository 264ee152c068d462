"""pybp.datasets: shapes, determinism, and the worked example's digits."""
import numpy as np
import pytest

import pybp
from pybp import datasets

DTYPES = ("float64", "float32")


# ---- mazur: the worked example of Mazur's tutorial (DESIGN.md's digits) --------

@pytest.mark.parametrize("dtype", DTYPES)
def test_mazur_reproduces_the_worked_example(backend, dtype):
    ds = datasets.mazur(dtype=dtype, backend=backend)
    net, X, T = ds.network, ds.X, ds.T
    assert net.sizes == (2, 2, 2) and list(net.activations) == ["sigmoid"] * 2
    assert net.backend == backend and net.dtype == np.dtype(dtype)
    assert X.shape == (1, 2) and T.shape == (1, 2)
    tol = 1e-9 if dtype == "float64" else 2e-7
    assert net.loss(X, T) == pytest.approx(0.298371109, abs=tol)
    net.fit(X, T, loss="half_sse", optimizer=pybp.optim.SGD(0.5),
            train_biases=False)
    np.testing.assert_allclose(
        net.weights[1].ravel(),
        [0.35891648, 0.408666186, 0.511301270, 0.561370121], atol=tol)
    np.testing.assert_allclose(
        net.weights[0].ravel(),
        [0.149780716, 0.19956143, 0.24975114, 0.29950229], atol=tol)
    assert net.loss(X, T) == pytest.approx(0.29102777, abs=max(tol, 5e-9))
    np.testing.assert_array_equal(net.biases[0], np.float32(0.35)
                                  if dtype == "float32" else 0.35)


def test_mazur_ten_thousand_steps():
    ds = datasets.mazur()
    ds.network.fit(ds.X, ds.T, loss="half_sse",
                   optimizer=pybp.optim.SGD(0.5), epochs=10_000,
                   train_biases=False)
    assert ds.network.loss(ds.X, ds.T) == pytest.approx(3.51e-05, rel=0.01)
    np.testing.assert_allclose(ds.network.predict(ds.X[0]), [0.0159, 0.9841],
                               atol=5e-5)


def test_mazur_gives_a_fresh_network_each_call():
    a, b = datasets.mazur(), datasets.mazur()
    a.network.weights[0][0, 0] = 9.0
    a.X[0, 0] = 9.0
    assert b.network.weights[0][0, 0] == 0.15 and b.X[0, 0] == 0.05
    assert "Mazur" in a.description and "0.29102777" in a.description


def test_mazur_bad_arguments():
    with pytest.raises(ValueError, match="dtype"):
        datasets.mazur(dtype="float16")
    with pytest.raises(ValueError, match="backend"):
        datasets.mazur(backend="gpu")


# ---- xor -------------------------------------------------------------------

def test_xor():
    X, T = datasets.xor()
    ds = datasets.xor(dtype="float32")
    assert X.shape == (4, 2) and T.shape == (4, 1) and ds.X.dtype == np.float32
    np.testing.assert_array_equal(T[:, 0], np.logical_xor(X[:, 0], X[:, 1]))
    np.testing.assert_array_equal(ds.y, T[:, 0])
    assert ds.network is None


def test_xor_is_learnable():
    X, T = datasets.xor()
    net = pybp.Network([2, 4, 1], "tanh", "sigmoid", seed=0)
    net.fit(X, T, optimizer=pybp.optim.SGD(0.5, momentum=0.9), epochs=500,
            seed=0)
    np.testing.assert_array_equal(net.predict(X)[:, 0] > 0.5, T[:, 0] > 0.5)


# ---- credit (seed 000) ------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_credit_shapes_and_labels(dtype):
    ds = datasets.credit(n=500, seed=0, dtype=dtype)
    assert ds.X.shape == (500, 10) and ds.T.shape == (500, 4)
    assert ds.X.dtype == np.dtype(dtype) and ds.T.dtype == np.dtype(dtype)
    assert ds.y.shape == (500,) and set(np.unique(ds.y)) <= {0, 1, 2, 3}
    np.testing.assert_array_equal(ds.T.argmax(1), ds.y)
    np.testing.assert_array_equal(ds.T.sum(1), 1)
    assert (np.abs(ds.X) <= 1).all()
    assert len(ds.target_names) == 4 and "synthetic" in ds.description
    # every class occurs: the task is not degenerate
    assert len(np.unique(ds.y)) == 4


def test_credit_is_its_teacher_networks_labels():
    ds = datasets.credit(n=300, seed=4)
    assert ds.network.sizes == (10, 8, 4)
    np.testing.assert_array_equal(ds.network.predict(ds.X).argmax(1), ds.y)
    # independent re-derivation of the definition in the docstring
    rng = np.random.default_rng(4)
    teacher = pybp.Network([10, 8, 4], "tanh", "identity", seed=5)
    X = rng.uniform(-1, 1, (300, 10))
    np.testing.assert_array_equal(ds.X, X)
    np.testing.assert_array_equal(ds.y, teacher.predict(X).argmax(1))


def test_credit_deterministic_by_seed_and_prefix_stable():
    a, b = datasets.credit(200, seed=1), datasets.credit(200, seed=1)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    c = datasets.credit(200, seed=2)
    assert not np.array_equal(a.X, c.X)
    big = datasets.credit(500, seed=1)
    np.testing.assert_array_equal(big.X[:200], a.X)
    np.testing.assert_array_equal(big.y[:200], a.y)


def test_credit_is_learnable_by_the_seeds_network():
    X, T = datasets.credit(3000, seed=0)
    net = pybp.Network([10, 4, 6, 8, 4], "tanh", "softmax", seed=0)
    net.fit(X[:2500], T[:2500], loss="cross_entropy", optimizer="adam",
            epochs=30, batch_size=16, seed=0)
    acc = np.mean(net.classify(X[2500:]) == T[2500:].argmax(1))
    assert acc > 0.75


# ---- teacher (seed 004) -----------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_teacher(dtype):
    ds = datasets.teacher(300, (3, 5, 2), seed=7, dtype=dtype)
    assert ds.X.shape == (300, 3) and ds.T.shape == (300, 2)
    assert ds.X.dtype == np.dtype(dtype) and ds.y is None
    assert ds.network.sizes == (3, 5, 2)
    np.testing.assert_allclose(ds.T, ds.network.predict(ds.X.astype(float)),
                               atol=1e-6 if dtype == "float32" else 0)
    again = datasets.teacher(300, (3, 5, 2), seed=7, dtype=dtype)
    np.testing.assert_array_equal(again.X, ds.X)
    np.testing.assert_array_equal(again.T, ds.T)
    other = datasets.teacher(300, (3, 5, 2), seed=8, dtype=dtype)
    assert not np.array_equal(other.T, ds.T)
    assert ds.T.std() > 0          # the teacher is not constant


def test_teacher_student_learns():
    X, T = datasets.teacher(2000, (4, 6, 1), seed=0)
    student = pybp.Network([4, 12, 12, 1], "tanh", "identity", seed=1)
    start = student.loss(X, T, loss="mse")
    student.fit(X, T, loss="mse", optimizer="adam", epochs=40, batch_size=32,
                seed=0)
    assert student.loss(X, T, loss="mse") < 0.05 * start


@pytest.mark.parametrize("call, exc", [
    (lambda: datasets.credit(0), ValueError),
    (lambda: datasets.credit(10.5), TypeError),
    (lambda: datasets.credit(True), TypeError),
    (lambda: datasets.credit(10, seed=-1), ValueError),
    (lambda: datasets.credit(10, seed="a"), TypeError),
    (lambda: datasets.teacher(10, (3,), 0), ValueError),
    (lambda: datasets.teacher(10, (3, 0, 1), 0), ValueError),
    (lambda: datasets.teacher(-1, (3, 2), 0), ValueError),
])
def test_bad_arguments(call, exc):
    with pytest.raises(exc):
        call()


def test_dataset_unpacks_and_reprs():
    ds = datasets.credit(10)
    X, T = ds
    assert X is ds.X and T is ds.T
    assert "X(10, 10)" in repr(ds) and "T(10, 4)" in repr(ds)
