"""pybp.sklearn: MLPClassifier and MLPRegressor as scikit-learn users use
them (scikit-learn's own estimator checks are in test_sklearn_checks.py)."""
import io
import pickle
import subprocess
import sys
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest

pytest.importorskip("sklearn")

import joblib  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import (load_breast_cancer, load_digits,  # noqa: E402
                              load_iris, make_moons, make_regression)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import (GridSearchCV, cross_val_score,  # noqa: E402
                                     train_test_split)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402
from sklearn.utils.class_weight import compute_sample_weight  # noqa: E402

import pybp  # noqa: E402
from pybp.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

DTYPES = ("float64", "float32")
SOLVERS = ("sgd", "adam", "rprop", "quickprop", "rmsprop", "adagrad")


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(300, noise=0.15, random_state=0)
    return train_test_split(X, y, random_state=0)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    return X, y


# ---- optional dependency ------------------------------------------------------

def test_importing_pybp_does_not_import_sklearn():
    code = "import sys, pybp, pybp.datasets; print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True, cwd="/")
    assert out.stdout.strip() == "False"


def test_import_without_sklearn_says_how_to_install():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "try:\n    import pybp.sklearn\n"
            "except ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True, cwd="/")
    assert 'pip install "pybp[sklearn]"' in out.stdout


# ---- accuracy against scikit-learn's own MLP -----------------------------------

def _sklearn_mlp(kind):
    from sklearn import neural_network
    return getattr(neural_network, kind)


def _one_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:                                     # pragma: no cover
        from contextlib import nullcontext
        return nullcontext()
    return threadpool_limits(1)


def _scaled_regression(return_X_y=True):
    X, y = make_regression(600, 8, noise=5.0, random_state=0)
    return X, y / y.std()


@pytest.mark.parametrize("estimator, load, hidden, max_iter, floor", [
    (MLPClassifier, load_digits, 64, 100, 0.93),
    (MLPClassifier, load_breast_cancer, 64, 100, 0.93),
    (MLPRegressor, _scaled_regression, 32, 300, 0.9),
], ids=["digits", "breast_cancer", "regression"])
def test_score_matches_sklearns_mlp(estimator, load, hidden, max_iter, floor):
    """Accuracy (classifiers) or R^2 (regressor) on a held-out quarter: above
    a floor, and no more than 0.03 below scikit-learn's own MLP."""
    X, y = load(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)
    scores = {}
    with _one_thread():
        for name, cls in (("pybp", estimator),
                          ("sklearn", _sklearn_mlp(estimator.__name__))):
            model = make_pipeline(StandardScaler(),
                                  cls(hidden_layer_sizes=(hidden,),
                                      max_iter=max_iter, random_state=0))
            scores[name] = model.fit(Xtr, ytr).score(Xte, yte)
    assert scores["pybp"] > floor
    assert scores["pybp"] >= scores["sklearn"] - 0.03, scores


# ---- labels of every kind -----------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("labels", [
    np.array(["no", "yes"]), np.array([3, 7]), np.array([False, True]),
    np.array(["setosa", "versicolor", "virginica"]), np.array([-1, 0, 5])],
    ids=["str2", "int2", "bool", "str3", "int3"])
def test_labels_of_any_kind(iris, labels, dtype):
    X, y = iris
    k = len(labels)
    X, y = X[y < k], y[y < k]
    yl = labels[y]
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=150, dtype=dtype,
                        random_state=0, learning_rate_init=0.01).fit(X, yl)
    assert list(clf.classes_) == sorted(labels.tolist())
    pred = clf.predict(X)
    assert pred.dtype == yl.dtype and set(pred) <= set(labels)
    assert np.mean(pred == yl) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (len(X), k)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(1)], pred)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba))
    assert clf.network_.dtype == np.dtype(dtype)
    if k == 2:
        assert clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
        assert clf.network_.activations[-1] == "sigmoid"
    else:
        assert clf.n_outputs_ == k and clf.out_activation_ == "softmax"


def test_binary_with_softmax_output_has_two_outputs(moons):
    Xtr, Xte, ytr, yte = moons
    clf = MLPClassifier((16,), output_activation="softmax", random_state=0,
                        learning_rate_init=0.01).fit(Xtr, ytr)
    assert clf.n_outputs_ == 2 and clf.network_.loss(
        Xtr, np.eye(2)[ytr], loss="cross_entropy") < 0.5
    assert clf.score(Xte, yte) > 0.9
    clf.partial_fit(Xtr, ytr)                  # continues with two outputs
    assert clf.n_outputs_ == 2


@pytest.mark.parametrize("dtype", DTYPES)
def test_multilabel_indicator(dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0,
                         X[:, 3] < 0.5]).astype(int)
    clf = MLPClassifier((16,), max_iter=300, learning_rate_init=0.01,
                        dtype=dtype, random_state=0).fit(X, Y)
    assert clf.n_outputs_ == 3 and clf.out_activation_ == "logistic"
    pred = clf.predict(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    assert np.mean(pred == Y) > 0.9
    proba = clf.predict_proba(X)
    assert proba.shape == (300, 3) and ((0 <= proba) & (proba <= 1)).all()
    assert clf.score(X, Y) > 0.7                  # subset accuracy
    inc = MLPClassifier((16,), random_state=0)
    for _ in range(3):
        inc.partial_fit(X[:150], Y[:150], classes=[0, 1, 2])
        inc.partial_fit(X[150:], Y[150:])
    assert inc.n_outputs_ == 3 and inc.predict(X).shape == Y.shape
    assert inc.out_activation_ == "logistic"
    with pytest.raises(ValueError, match="indicator"):
        inc.partial_fit(X, Y[:, :2])
    with pytest.raises(ValueError, match="multilabel"):
        MLPClassifier(output_activation="softmax").fit(X, Y)
    with pytest.raises(ValueError, match="multilabel"):
        MLPClassifier(class_weight="balanced").fit(X, Y)


def test_one_class_is_refused(iris):
    X, _ = iris
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPClassifier().fit(X, np.zeros(len(X)))


# ---- fitted attributes ----------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_fitted_attributes(iris, dtype):
    X, y = iris
    clf = MLPClassifier((5, 7), max_iter=20, dtype=dtype,
                        random_state=0).fit(X, y)
    net = clf.network_
    assert isinstance(net, pybp.Network) and net.sizes == (4, 5, 7, 3)
    assert clf.n_features_in_ == 4 and clf.n_layers_ == 4
    assert clf.n_outputs_ == 3 and clf.n_iter_ == 20
    assert clf.t_ == 20 * len(X)
    assert len(clf.loss_curve_) == 20
    assert clf.best_loss_ == min(clf.loss_curve_)
    assert clf.validation_scores_ is None
    assert [W.shape for W in clf.coefs_] == [(4, 5), (5, 7), (7, 3)]
    assert [b.shape for b in clf.intercepts_] == [(5,), (7,), (3,)]
    for W, Wnet, b, bnet in zip(clf.coefs_, net.weights, clf.intercepts_,
                                net.biases):
        np.testing.assert_array_equal(W, Wnet.T)
        np.testing.assert_array_equal(b, bnet)
        assert not W.flags.writeable and not b.flags.writeable
        with pytest.raises(ValueError):
            W[0, 0] = 1.0
    # sklearn-style forward pass from coefs_/intercepts_ gives predict_proba
    h = X
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1]):
        h = np.maximum(h @ W + b, 0)
    z = h @ clf.coefs_[-1] + clf.intercepts_[-1]
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    tol = 1e-10 if dtype == "float64" else 1e-4
    np.testing.assert_allclose(clf.predict_proba(X), p, rtol=tol, atol=tol)


def test_feature_names_from_dataframe(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = MLPClassifier((4,), max_iter=5, random_state=0).fit(df, y)
    assert list(clf.feature_names_in_) == ["a", "b", "c", "d"]
    with pytest.warns(UserWarning, match="feature names"):
        clf.predict(X)
    reg = MLPRegressor((4,), max_iter=5, random_state=0).fit(df, X[:, 0])
    assert list(reg.feature_names_in_) == ["a", "b", "c", "d"]


def test_unfitted_attributes_raise():
    from sklearn.exceptions import NotFittedError
    clf = MLPClassifier()
    for what in (lambda: clf.coefs_, lambda: clf.intercepts_,
                 lambda: clf.predict([[0.0]])):
        with pytest.raises(NotFittedError):
            what()


# ---- the training: mapping onto pybp, schedules, stopping ----------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("learning_rate", ["constant", "invscaling"])
def test_fit_is_the_documented_pybp_training(iris, dtype, learning_rate):
    """The estimator's fit equals a pybp Trainer run by hand with the
    documented mapping: weight_decay = alpha * n_batches / n, Nesterov SGD,
    InverseScaling for invscaling, seeds drawn from random_state."""
    X, y = iris
    alpha, batch = 0.01, 32
    clf = MLPClassifier((6,), "tanh", solver="sgd", alpha=alpha,
                        batch_size=batch, learning_rate=learning_rate,
                        learning_rate_init=0.05, power_t=0.25, max_iter=7,
                        tol=0.0, n_iter_no_change=1000, dtype=dtype,
                        random_state=3).fit(X, y)
    rs = check_random_state(3)
    net = pybp.Network([4, 6, 3], "tanh", "softmax", dtype=dtype,
                       seed=int(rs.randint(np.iinfo(np.int32).max)))
    n_batches = -(-len(X) // batch)
    lr = (0.05 if learning_rate == "constant"
          else pybp.optim.InverseScaling(0.05, 0.25))
    opt = pybp.optim.SGD(lr, momentum=0.9, nesterov=True,
                         weight_decay=alpha * n_batches / len(X))
    trainer = pybp.Trainer(loss="cross_entropy", optimizer=opt,
                           batch_size=batch,
                           seed=int(rs.randint(np.iinfo(np.int32).max)))
    hist = trainer.fit(net, X, np.eye(3)[y], epochs=7)
    np.testing.assert_array_equal(clf.network_.params, net.params)
    penalty = 0.5 * opt.weight_decay * sum((W ** 2).sum()
                                           for W in net.weights)
    np.testing.assert_allclose(clf.loss_curve_[-1], hist.loss[-1] + penalty,
                               rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_learns(moons, solver, dtype):
    Xtr, Xte, ytr, yte = moons
    lr = {"sgd": 0.1, "adam": 0.01, "rmsprop": 0.01, "adagrad": 0.1,
          "quickprop": 0.5, "rprop": 0.01}[solver]
    clf = MLPClassifier((16,), solver=solver, learning_rate_init=lr,
                        max_iter=300, dtype=dtype, random_state=0)
    clf.fit(Xtr, ytr)
    assert clf.score(Xte, yte) > 0.85, clf.loss_curve_[-5:]
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_alpha_shrinks_weights(moons):
    Xtr, _, ytr, _ = moons
    norms = []
    for alpha in (0.0, 1.0, 10.0):
        clf = MLPClassifier((16,), alpha=alpha, max_iter=100,
                            learning_rate_init=0.01, random_state=0)
        clf.fit(Xtr, ytr)
        norms.append(sum((W ** 2).sum() for W in clf.coefs_))
    assert norms[0] > norms[1] > norms[2]


def test_convergence_warning_and_stopping_rule(iris):
    X, y = iris
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    # tol so large that no epoch counts as an improvement: the first epoch
    # sets best_loss_, the next n_iter_no_change + 1 do not improve.
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = MLPClassifier((4,), tol=1e9, n_iter_no_change=4, max_iter=100,
                            random_state=0).fit(X, y)
    assert clf.n_iter_ == 6


def test_adaptive_learning_rate_divides_by_five_instead_of_stopping(iris):
    X, y = iris
    kw = dict(hidden_layer_sizes=(4,), solver="sgd", tol=1e9,
              n_iter_no_change=2, max_iter=200, random_state=0,
              learning_rate_init=0.01)
    const = MLPClassifier(learning_rate="constant", **kw).fit(X, y)
    adaptive = MLPClassifier(learning_rate="adaptive", **kw).fit(X, y)
    assert const.n_iter_ == 4
    # 0.01 / 5**k > 1e-6 for k = 0..5: six divisions, each after 3 epochs,
    # then 3 more epochs and stop; the first epoch is the baseline.
    assert adaptive.n_iter_ == 1 + 3 * 7


def test_early_stopping(moons):
    Xtr, Xte, ytr, yte = moons
    clf = MLPClassifier((16,), early_stopping=True, validation_fraction=0.2,
                        batch_size=16, n_iter_no_change=5, learning_rate_init=0.01,
                        max_iter=500, random_state=0).fit(Xtr, ytr)
    assert clf.n_iter_ < 500
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    assert clf.score(Xte, yte) > 0.85
    reg = MLPRegressor((16,), early_stopping=True, random_state=0,
                       max_iter=200).fit(Xtr, Xtr[:, 0] * 2)
    assert -1 <= reg.best_validation_score_ <= 1


def test_warm_start_continues(iris):
    X, y = iris
    clf = MLPClassifier((6,), max_iter=5, warm_start=True, random_state=0)
    clf.fit(X, y)
    net, first = clf.network_, clf.network_.params.copy()
    clf.fit(X, y)
    assert clf.network_ is net and clf.n_iter_ == 10
    assert len(clf.loss_curve_) == 10
    assert not np.array_equal(first, net.params)
    cold = MLPClassifier((6,), max_iter=5, random_state=0).fit(X, y)
    np.testing.assert_array_equal(cold.network_.params, first)
    with pytest.raises(ValueError, match="not among classes_"):
        clf.fit(X, np.where(y == 0, 9, y))


def test_callback_stops_and_sees_the_epoch(iris):
    X, y = iris
    seen = []

    def callback(est):
        seen.append((est.n_iter_, len(est.loss_curve_)))
        return est.n_iter_ >= 4

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = MLPClassifier((4,), callback=callback, random_state=0).fit(X, y)
    assert clf.n_iter_ == 4 and seen == [(1, 1), (2, 2), (3, 3), (4, 4)]


def test_verbose_prints_progress(iris):
    X, y = iris
    out = io.StringIO()
    with redirect_stdout(out):
        MLPClassifier((4,), max_iter=2, verbose=True, random_state=0).fit(X, y)
    assert "Iteration 1, loss = " in out.getvalue()
    assert "Iteration 2, loss = " in out.getvalue()


def test_divergence_is_reported_and_weights_stay_finite():
    X, y = make_regression(100, 3, random_state=0)
    reg = MLPRegressor((8,), solver="sgd", learning_rate_init=1e6,
                       momentum=0.0, max_iter=50, random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        reg.fit(X, y * 1e6)
    assert np.isfinite(reg.network_.params).all()
    assert np.isfinite(reg.predict(X)).all()


# ---- class and sample weights --------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_class_weight_is_sample_weight(iris, dtype):
    X, y = iris
    kw = dict(hidden_layer_sizes=(5,), max_iter=10, dtype=dtype,
              random_state=0)
    for cw in ("balanced", {0: 1.0, 1: 3.0, 2: 0.5}):
        sub = np.r_[0:50, 50:70, 100:150]
        a = MLPClassifier(class_weight=cw, **kw).fit(X[sub], y[sub])
        b = MLPClassifier(**kw).fit(
            X[sub], y[sub], sample_weight=compute_sample_weight(cw, y[sub]))
        np.testing.assert_array_equal(a.network_.params, b.network_.params)
    with pytest.raises(ValueError, match="balanced"):
        MLPClassifier(class_weight="balanced").partial_fit(
            X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="class_weight"):
        MLPClassifier(class_weight="heavy").fit(X, y)


def test_zero_sample_weight_is_removal(iris):
    X, y = iris
    sw = np.ones(len(X))
    sw[::3] = 0
    kw = dict(hidden_layer_sizes=(5,), batch_size=len(X), max_iter=10,
              random_state=0, shuffle=False)
    a = MLPClassifier(**kw).fit(X, y, sample_weight=sw)
    b = MLPClassifier(**kw).fit(X[sw > 0], y[sw > 0])
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X),
                               rtol=1e-9)


@pytest.mark.parametrize("bad, match", [
    (-np.ones(150), "non-negative"), (np.zeros(150), "all zero"),
    (np.ones(3), "shape"), (np.full(150, np.nan), "finite")])
def test_bad_sample_weight(iris, bad, match):
    X, y = iris
    for est in (MLPClassifier(max_iter=1), MLPRegressor(max_iter=1)):
        with pytest.raises(ValueError, match=match):
            est.fit(X, y, sample_weight=bad)
        assert not hasattr(est, "network_")


# ---- partial_fit -------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_partial_fit_deterministic_block_by_block(iris, dtype):
    X, y = iris
    order = np.random.default_rng(0).permutation(len(X))
    X, y = X[order], y[order]
    blocks = [slice(0, 60), slice(60, 100), slice(100, 150)]

    def run():
        clf = MLPClassifier((8,), random_state=5, dtype=dtype,
                            learning_rate_init=0.01)
        for epoch in range(20):
            for s in blocks:
                clf.partial_fit(X[s], y[s], classes=[0, 1, 2])
        return clf

    a, b = run(), run()
    np.testing.assert_array_equal(a.network_.params, b.network_.params)
    assert a.n_iter_ == 60 and a.t_ == 20 * len(X)
    assert a.score(X, y) > 0.9
    # The optimizer state carries over: one block at a time equals the same
    # Trainer run by hand on the same blocks.
    rs = check_random_state(5)
    net = pybp.Network([4, 8, 3], "relu", "softmax", dtype=dtype,
                       seed=int(rs.randint(np.iinfo(np.int32).max)))
    trainer = pybp.Trainer(loss="cross_entropy",
                           optimizer=pybp.optim.Adam(0.01),
                           batch_size=200,
                           seed=int(rs.randint(np.iinfo(np.int32).max)))
    T = np.eye(3)[y]
    for epoch in range(20):
        for s in blocks:
            n = s.stop - s.start
            trainer.optimizer = pybp.optim.Adam(0.01, weight_decay=1e-4 / n)
            trainer.partial_fit(net, X[s], T[s])
    np.testing.assert_array_equal(a.network_.params, net.params)


def test_partial_fit_rules(iris):
    X, y = iris
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)
    clf = MLPClassifier((4,), random_state=0)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert list(clf.classes_) == [0, 1, 2] and clf.n_outputs_ == 3
    clf.partial_fit(X, y)                          # classes may be omitted
    with pytest.raises(ValueError, match="differ"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="not among classes_"):
        clf.partial_fit(X, y + 1)
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :3], y)
    with pytest.raises(ValueError, match="not in classes"):
        MLPClassifier().partial_fit(X, y, classes=[0, 1])
    reg = MLPRegressor((4,), random_state=0)
    reg.partial_fit(X, X[:, :2])
    assert reg.n_outputs_ == 2 and reg.n_iter_ == 1
    with pytest.raises(ValueError, match="target"):
        reg.partial_fit(X, X[:, 0])
    # fit, then partial_fit goes on from the fitted network
    clf = MLPClassifier((4,), max_iter=3, random_state=0).fit(X, y)
    net = clf.network_
    clf.partial_fit(X, y)
    assert clf.network_ is net and clf.n_iter_ == 4


# ---- regression --------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_regressor_single_and_multi_output(dtype):
    X, Y = make_regression(400, 5, n_targets=2, noise=1.0, random_state=0)
    Y = Y / Y.std(0)
    reg = MLPRegressor((32,), max_iter=400, learning_rate_init=0.01,
                       dtype=dtype, random_state=0).fit(X, Y)
    assert reg.n_outputs_ == 2 and reg.out_activation_ == "identity"
    assert reg.predict(X).shape == (400, 2) and reg.score(X, Y) > 0.95
    one = MLPRegressor((32,), max_iter=400, learning_rate_init=0.01,
                       dtype=dtype, random_state=0).fit(X, Y[:, 0])
    assert one.predict(X).shape == (400,) and one.score(X, Y[:, 0]) > 0.95
    assert one.predict(X.astype(np.float32)).dtype == np.float32
    assert one.predict(X).dtype == np.float64


def test_regressor_loss_and_output_options():
    X, y = make_regression(200, 3, random_state=0)
    y = 1 / (1 + np.exp(-y / y.std()))
    reg = MLPRegressor((8,), output_activation="logistic", loss="mse",
                       max_iter=50, random_state=0).fit(X, y)
    assert reg.network_.activations[-1] == "sigmoid"
    assert ((0 < reg.predict(X)) & (reg.predict(X) < 1)).all()
    with pytest.raises(ValueError, match="softmax"):
        MLPRegressor(output_activation="softmax").fit(X, y)
    with pytest.raises(ValueError, match="loss"):
        MLPRegressor(loss="cross_entropy").fit(X, y)


def test_sparse_input_equals_dense(iris):
    sparse = pytest.importorskip("scipy.sparse")
    X, y = iris
    a = MLPClassifier((4,), max_iter=5, random_state=0).fit(X, y)
    b = MLPClassifier((4,), max_iter=5, random_state=0).fit(
        sparse.csr_matrix(X), y)
    np.testing.assert_array_equal(a.network_.params, b.network_.params)
    np.testing.assert_array_equal(a.predict_proba(X),
                                  b.predict_proba(sparse.csr_matrix(X)))


# ---- bad parameters ----------------------------------------------------------

@pytest.mark.parametrize("params, exc, match", [
    ({"solver": "lbfgs"}, ValueError, "rprop"),
    ({"solver": "newton"}, ValueError, "solver must be one of"),
    ({"activation": "softplus"}, ValueError, "activation must be one of"),
    ({"hidden_layer_sizes": (0,)}, ValueError, "positive ints"),
    ({"hidden_layer_sizes": "ten"}, ValueError, "positive ints"),
    ({"hidden_layer_sizes": None}, TypeError, "hidden_layer_sizes"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"batch_size": "big"}, ValueError, "batch_size"),
    ({"batch_size": 2.5}, TypeError, "batch_size"),
    ({"alpha": -1.0}, ValueError, "alpha"),
    ({"learning_rate_init": 0.0}, ValueError, "learning_rate_init"),
    ({"learning_rate": "cyclic"}, ValueError, "learning_rate"),
    ({"momentum": 1.5}, ValueError, "momentum"),
    ({"max_iter": 0}, ValueError, "max_iter"),
    ({"tol": float("nan")}, TypeError, "tol"),
    ({"validation_fraction": 1.0}, ValueError, "validation_fraction"),
    ({"early_stopping": True, "validation_fraction": 0.0}, ValueError,
     "validation_fraction"),
    ({"beta_1": 1.0}, ValueError, "beta_1"),
    ({"epsilon": 0.0}, ValueError, "epsilon"),
    ({"n_iter_no_change": 0}, ValueError, "n_iter_no_change"),
    ({"shuffle": "yes"}, TypeError, "shuffle"),
    ({"dtype": "float16"}, ValueError, "dtype"),
    ({"loss": 3}, TypeError, "loss"),
    ({"loss": "hinge"}, ValueError, "loss"),
    ({"loss": "cross_entropy"}, ValueError, "cross_entropy"),
    ({"output_activation": "relu"}, ValueError, "output_activation"),
    ({"callback": 5}, TypeError, "callback"),
])
def test_bad_parameters_are_refused_in_fit(iris, params, exc, match):
    X, y = iris
    y = (y > 0).astype(int)             # binary: one sigmoid output
    clf = MLPClassifier(**params)       # __init__ accepts anything
    with pytest.raises(exc, match=match):
        clf.fit(X, y)
    assert not hasattr(clf, "network_") and not hasattr(clf, "classes_")
    assert not hasattr(clf, "n_features_in_")


def test_bad_data(iris):
    X, y = iris
    with pytest.raises(ValueError, match="NaN"):
        MLPClassifier().fit(np.where(X > 2, np.nan, X), y)
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit(X, X[:, 0])
    with pytest.raises(ValueError):
        MLPRegressor().fit(X, np.array(["a"] * len(X)))
    clf = MLPClassifier((4,), max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="4 features"):
        clf.predict(X[:, :2])
    with pytest.raises(ValueError, match="2D array"):
        clf.predict(X[0])


# ---- model selection, pipelines, persistence ----------------------------------

def test_pipeline_grid_search_cross_val_clone(moons):
    Xtr, Xte, ytr, yte = moons
    pipe = make_pipeline(StandardScaler(),
                         MLPClassifier(max_iter=100, random_state=0,
                                       learning_rate_init=0.01))
    grid = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes":
                               [(2,), (16,)],
                               "mlpclassifier__solver": ["adam", "rprop"]},
                        cv=3, n_jobs=2)
    grid.fit(Xtr, ytr)
    assert grid.best_params_["mlpclassifier__hidden_layer_sizes"] == (16,)
    assert grid.score(Xte, yte) > 0.9
    scores = cross_val_score(MLPRegressor((8,), max_iter=50, batch_size=16,
                                          random_state=0),
                             Xtr, Xtr[:, 0] - Xtr[:, 1], cv=3)
    assert scores.shape == (3,) and (scores > 0.5).all()
    fitted = MLPClassifier((4,), max_iter=3, random_state=0).fit(Xtr, ytr)
    twin = clone(fitted)
    assert twin.get_params() == fitted.get_params()
    assert not hasattr(twin, "network_")
    np.testing.assert_array_equal(
        twin.fit(Xtr, ytr).network_.params, fitted.network_.params)


@pytest.mark.parametrize("dtype", DTYPES)
def test_pickle_and_joblib_small_and_exact(tmp_path, iris, dtype):
    X, y = iris
    clf = MLPClassifier((10,), max_iter=20, dtype=dtype, random_state=0,
                        early_stopping=True).fit(X, y)
    blob = pickle.dumps(clf)
    # 83 parameters and their Adam moments: a few kB, not megabytes.
    assert len(blob) < 12_000, len(blob)
    back = pickle.loads(blob)
    np.testing.assert_array_equal(back.predict_proba(X), clf.predict_proba(X))
    path = tmp_path / "clf.joblib"
    joblib.dump(clf, path)
    assert path.stat().st_size < 12_000
    again = joblib.load(path)
    np.testing.assert_array_equal(again.predict(X), clf.predict(X))
    # the copy trains on exactly as the original would
    clf.partial_fit(X, y)
    again.partial_fit(X, y)
    np.testing.assert_array_equal(again.network_.params, clf.network_.params)
