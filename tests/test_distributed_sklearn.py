"""The scikit-learn estimators on a real LocalCluster (2 worker processes):
dask-ml's ParallelPostFit and Incremental, pybp.distributed.predict on an
estimator, GridSearchCV/RandomizedSearchCV on the joblib Dask backend.
Skipped without the dask extra or pybp.sklearn."""
import numpy as np
import pytest

dd = pytest.importorskip("dask.dataframe")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")
wrappers = pytest.importorskip("dask_ml.wrappers")
joblib = pytest.importorskip("joblib")
model_selection = pytest.importorskip("sklearn.model_selection")
sklearn_utils = pytest.importorskip("sklearn.utils")
pybp_sklearn = pytest.importorskip("pybp.sklearn")

import pybp.distributed as pdist  # noqa: E402
from helpers_distributed import local_client  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning")

MLPClassifier = pybp_sklearn.MLPClassifier
MLPRegressor = pybp_sklearn.MLPRegressor
CLASSES = np.array(["high", "low", "mid"])


@pytest.fixture(scope="module")
def client():
    with local_client() as c:
        yield c


def _data(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    score = X[:, 0] + 0.5 * X[:, 1] - 0.3 * X[:, 2]
    y = CLASSES[np.digitize(score, [-0.5, 0.5])]
    return X, y


def _clf(**kw):
    kw = {"hidden_layer_sizes": (8,), "max_iter": 30, "random_state": 0,
          **kw}
    return MLPClassifier(**kw)


# ---- batch inference ------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_parallel_post_fit(client, dtype):
    X, y = _data()
    model = wrappers.ParallelPostFit(_clf(dtype=dtype)).fit(X, y)
    local = model.estimator
    dX = da.from_array(X, chunks=(100, 5))
    np.testing.assert_array_equal(model.predict(dX).compute(),
                                  local.predict(X))
    np.testing.assert_array_equal(model.predict_proba(dX).compute(),
                                  local.predict_proba(X))
    frame = pd.DataFrame(X, columns=list("abcde"))
    fitted = wrappers.ParallelPostFit(_clf(dtype=dtype)).fit(frame, y)
    got = fitted.predict(dd.from_pandas(frame, npartitions=4)).compute()
    np.testing.assert_array_equal(np.asarray(got),
                                  fitted.estimator.predict(frame))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_predict_helper_on_an_estimator(client, dtype):
    X, y = _data()
    frame = pd.DataFrame(X, columns=list("abcde"))
    clf = _clf(dtype=dtype).fit(frame, y)
    dframe = dd.from_pandas(frame, npartitions=4)
    proba = pdist.predict(clf, dframe, method="predict_proba")
    assert list(proba.columns) == list(clf.classes_)         # meta, lazily
    got = proba.compute()
    assert list(got.dtypes) == [clf.predict_proba(frame[:1]).dtype] * 3
    np.testing.assert_array_equal(got.to_numpy(), clf.predict_proba(frame))
    lazy = pdist.predict(clf, dframe)
    labels = lazy.compute()
    # String labels become pandas' own string dtype in a Series, in the
    # meta as in every partition.
    assert labels.dtype == lazy.dtype == pd.Series(clf.predict(frame)).dtype
    np.testing.assert_array_equal(labels.to_numpy(), clf.predict(frame))
    reg = MLPRegressor(hidden_layer_sizes=(6,), max_iter=20, random_state=0,
                       dtype=dtype).fit(X, X[:, 0])
    out = pdist.predict(reg, da.from_array(X, chunks=(100, 5)))
    assert out.ndim == 1
    np.testing.assert_array_equal(out.compute(), reg.predict(X))


# ---- out-of-core training -------------------------------------------------

@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("shuffle", [False, True])
def test_incremental_equals_partial_fit_by_hand(client, solver, shuffle):
    X, y = _data(n=400)
    dX, dy = da.from_array(X, chunks=(100, 5)), da.from_array(y, chunks=100)
    inc = wrappers.Incremental(_clf(solver=solver, shuffle=shuffle),
                               shuffle_blocks=False)
    inc.fit(dX, dy, classes=CLASSES)
    by_hand = _clf(solver=solver, shuffle=shuffle)
    for i in range(0, 400, 100):
        by_hand.partial_fit(X[i:i + 100], y[i:i + 100], classes=CLASSES)
    for a, b in zip(inc.estimator_.coefs_ + inc.estimator_.intercepts_,
                    by_hand.coefs_ + by_hand.intercepts_):
        np.testing.assert_array_equal(a, b)
    # A second pass goes on from the first, optimizer state included.
    inc.partial_fit(dX, dy, classes=CLASSES)
    for i in range(0, 400, 100):
        by_hand.partial_fit(X[i:i + 100], y[i:i + 100])
    np.testing.assert_array_equal(inc.estimator_.coefs_[0],
                                  by_hand.coefs_[0])
    np.testing.assert_array_equal(inc.predict(dX).compute(),
                                  by_hand.predict(X))


def test_incremental_block_shuffle_is_a_block_permutation(client):
    X, y = _data(n=400)
    dX, dy = da.from_array(X, chunks=(100, 5)), da.from_array(y, chunks=100)
    inc = wrappers.Incremental(_clf(), shuffle_blocks=True, random_state=7)
    inc.fit(dX, dy, classes=CLASSES)
    order = list(range(4))
    sklearn_utils.check_random_state(7).shuffle(order)
    by_hand = _clf()
    for b in order:
        sl = slice(100 * b, 100 * (b + 1))
        by_hand.partial_fit(X[sl], y[sl], classes=CLASSES)
    np.testing.assert_array_equal(inc.estimator_.coefs_[0],
                                  by_hand.coefs_[0])


# ---- sweeps on the joblib Dask backend ------------------------------------

def _cv_table(search):
    r = search.cv_results_
    return [(str(p), s) for p, s in zip(r["params"], r["mean_test_score"])]


def test_grid_search_on_dask_equals_local(client):
    X, y = _data(n=300)
    grid = {"alpha": [1e-4, 1e-1], "hidden_layer_sizes": [(4,), (8,)]}
    local = model_selection.GridSearchCV(_clf(), grid, cv=3).fit(X, y)
    with distributed.get_task_stream(client) as stream, \
            joblib.parallel_backend("dask"):
        remote = model_selection.GridSearchCV(_clf(), grid, cv=3,
                                              n_jobs=-1).fit(X, y)
    # The 4 candidates x 3 folds ran as tasks on the workers.
    workers = {t["worker"] for t in stream.data}
    assert stream.data and workers <= set(client.scheduler_info()["workers"])
    assert _cv_table(remote) == _cv_table(local)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_array_equal(remote.predict(X), local.predict(X))


def test_randomized_search_on_dask_equals_local(client):
    X, y = _data(n=300)
    space = {"alpha": [1e-5, 1e-4, 1e-3, 1e-2, 1e-1],
             "learning_rate_init": [1e-3, 3e-3, 1e-2]}
    kw = dict(n_iter=4, cv=2, random_state=0)
    local = model_selection.RandomizedSearchCV(_clf(), space, **kw).fit(X, y)
    with joblib.parallel_backend("dask"):
        remote = model_selection.RandomizedSearchCV(_clf(), space, n_jobs=-1,
                                                    **kw).fit(X, y)
    assert _cv_table(remote) == _cv_table(local)
    assert remote.best_params_ == local.best_params_
