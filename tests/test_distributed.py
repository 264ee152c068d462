"""pybp.distributed without a cluster: optional imports, the thread budget,
argument checks.  The Dask and Ray recipes are tested on real local clusters
in test_distributed_dask.py and test_distributed_ray.py."""
import os
import subprocess
import sys

import numpy as np
import pytest

import pybp
import pybp.distributed as pdist


def test_importing_pybp_imports_no_engine():
    # Nor does asking for the thread budget outside an engine.
    code = ("import sys, pybp, pybp.distributed as d; d.thread_share(); "
            "d.set_thread_budget(1); "
            "print(sorted(m for m in ('dask', 'distributed', 'ray', "
            "'dask_ml', 'pandas') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True, cwd="/")
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("blocked, extra, call", [
    ("dask", "dask", lambda: pdist.predict(pybp.Network([2, 1]), None)),
    ("dask.array", "dask", lambda: pdist.predict(
        pybp.Network([2, 1]), None)),
    ("distributed", "dask", lambda: pdist.ThreadBudget()),
    ("ray", "ray", lambda: pdist.tune_report()),
])
def test_missing_engine_names_the_extra(monkeypatch, blocked, extra, call):
    # A None entry in sys.modules makes `import name` raise ImportError, as
    # if the package were not installed.
    for name in list(sys.modules):
        if name == blocked or name.startswith(blocked + "."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, blocked, None)
    with pytest.raises(ImportError) as info:
        call()
    msg = str(info.value)
    assert f'pip install "pybp[{extra}]"' in msg and f"'{blocked}" in msg


@pytest.mark.parametrize("concurrent, cores, expected", [
    (1, 1, 1), (1, 16, 16), (4, 16, 4), (3, 16, 5), (16, 16, 1), (32, 16, 1),
])
def test_thread_share_divides_the_cores(monkeypatch, concurrent, cores,
                                        expected):
    monkeypatch.delenv(pdist.THREADS_ENV, raising=False)
    monkeypatch.delattr(pybp, "get_num_threads", raising=False)
    assert pdist.thread_share(concurrent, cores) == expected


def test_thread_share_defaults_outside_an_engine(monkeypatch):
    monkeypatch.delenv(pdist.THREADS_ENV, raising=False)
    monkeypatch.delattr(pybp, "get_num_threads", raising=False)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count()
    assert pdist.thread_share() == cores


def test_thread_share_keeps_a_lower_limit(monkeypatch):
    monkeypatch.delattr(pybp, "get_num_threads", raising=False)
    monkeypatch.setenv(pdist.THREADS_ENV, "3")
    assert pdist.thread_share(1, 16) == 3
    assert pdist.thread_share(8, 16) == 2       # the share is lower still
    monkeypatch.setenv(pdist.THREADS_ENV, "not a number")
    assert pdist.thread_share(1, 16) == 16      # ignored, not an error
    monkeypatch.setenv(pdist.THREADS_ENV, "0")
    assert pdist.thread_share(1, 16) == 16
    # A pool that threadpoolctl (or the user) has already shrunk stays so.
    monkeypatch.delenv(pdist.THREADS_ENV)
    monkeypatch.setattr(pybp, "get_num_threads", lambda: 2, raising=False)
    assert pdist.thread_share(1, 16) == 2


@pytest.mark.parametrize("bad, exc", [
    (0, ValueError), (-2, ValueError), (1.5, TypeError), ("2", TypeError),
    (True, TypeError), (None, None),
])
def test_thread_share_refuses_bad_counts(bad, exc):
    if exc is None:         # None means "from the engine": not an error
        assert pdist.thread_share(bad, 4) >= 1
        return
    with pytest.raises(exc, match="positive int"):
        pdist.thread_share(bad, 4)
    with pytest.raises(exc, match="positive int"):
        pdist.thread_share(1, bad)
    with pytest.raises(exc, match="positive int"):
        pdist.set_thread_budget(bad)


def test_set_thread_budget_sets_the_pool_and_the_environment(monkeypatch):
    monkeypatch.delenv(pdist.THREADS_ENV, raising=False)
    calls = []
    monkeypatch.setattr(pybp, "set_num_threads", calls.append, raising=False)
    assert pdist.set_thread_budget(3) == 3
    assert calls == [3] and os.environ[pdist.THREADS_ENV] == "3"


def test_set_thread_budget_works_without_a_pool(monkeypatch):
    # Today's pybp is single-threaded per call: the budget is recorded for
    # child processes and for a pool that reads the variable.
    monkeypatch.delenv(pdist.THREADS_ENV, raising=False)
    monkeypatch.delattr(pybp, "set_num_threads", raising=False)
    monkeypatch.delattr(pybp, "get_num_threads", raising=False)
    assert pdist.set_thread_budget() == pdist.thread_share()
    assert os.environ[pdist.THREADS_ENV] == str(pdist.thread_share())


def test_predict_refuses_a_model_without_the_method():
    with pytest.raises(TypeError, match="predict_proba"):
        pdist.predict(pybp.Network([2, 1]), None, method="predict_proba")
    with pytest.raises(ValueError, match="method must be one of"):
        pdist.predict(pybp.Network([2, 1]), None, method="fit")


def test_fit_blocks_refuses_wrong_objects():
    net = pybp.Network([2, 1])
    with pytest.raises(TypeError, match="pybp.Trainer"):
        pdist.fit_blocks(object(), net, None, None)
    with pytest.raises(TypeError, match="pybp.Network"):
        pdist.fit_blocks(pybp.Trainer(), object(), None, None)
    with pytest.raises(ValueError, match="epochs"):
        pdist.fit_blocks(pybp.Trainer(), net, None, None, epochs=0)


def test_gil_is_released_during_predict():
    # What lets a threaded Dask worker use its cores: while one thread runs
    # a long predict in C, another thread keeps running Python.
    import threading
    import time
    net = pybp.Network([256, 256, 256, 10], "relu", "softmax", seed=0)
    X = np.random.default_rng(0).normal(size=(16000, 256))
    net.predict(X[:10])
    start = time.perf_counter()
    net.predict(X)
    alone = time.perf_counter() - start
    ticks, stop = [], threading.Event()

    def count():
        while not stop.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=count)
    t.start()
    time.sleep(0.02)
    begin = time.perf_counter()
    for _ in range(2):
        net.predict(X)
    end = time.perf_counter()
    stop.set()
    t.join()
    during = [x for x in ticks if begin <= x <= end]
    # Held GIL: no tick for a whole predict (>= `alone`).  Released: ticks
    # every few ms (more on a loaded machine, but far less than `alone`).
    assert alone > 0.05, "the predict is too short to tell"
    gaps = np.diff([begin] + during + [end])
    assert gaps.max() < alone / 2, (gaps.max(), alone)


# ---- Dask without a cluster (the local schedulers) -----------------------

def _no_client():
    distributed = pytest.importorskip("distributed")
    try:
        distributed.get_client()
    except ValueError:
        return
    pytest.skip("a dask.distributed Client is active in this process")


def test_predict_without_a_client_uses_one_delayed_key():
    dd = pytest.importorskip("dask.dataframe")
    pd = pytest.importorskip("pandas")
    _no_client()
    df = pd.DataFrame(np.random.default_rng(0).normal(size=(90, 4)))
    ddf = dd.from_pandas(df, npartitions=3)
    net = pybp.Network([4, 5, 2], "tanh", "sigmoid", seed=0)
    out = pdist.predict(net, ddf)
    graph = dict(out.__dask_graph__())
    models = [k for k, v in graph.items()
              if isinstance(getattr(v, "value", v), pybp.Network)]
    assert len(models) == 1, "the model must be one key of the graph"
    for scheduler in ("sync", "threads"):
        got = out.compute(scheduler=scheduler)
        np.testing.assert_array_equal(got.to_numpy(),
                                      net.predict(df.to_numpy()))
    with pytest.raises(ValueError, match="broadcast=True needs"):
        pdist.predict(net, ddf, broadcast=True)


def test_fit_blocks_without_a_client():
    da = pytest.importorskip("dask.array")
    _no_client()
    rng = np.random.default_rng(2)
    X, T = rng.normal(size=(60, 3)), rng.uniform(0.1, 0.9, (60, 2))
    net = pybp.Network([3, 4, 2], "tanh", "sigmoid", seed=0)
    by_hand = net.copy()
    tr, tr2 = (pybp.Trainer(optimizer="adam", batch_size=4, seed=0)
               for _ in range(2))
    hs = pdist.fit_blocks(tr, net, da.from_array(X, chunks=20),
                          da.from_array(T, chunks=20), epochs=3)
    for _ in range(3):
        for i in range(0, 60, 20):
            tr2.partial_fit(by_hand, X[i:i + 20], T[i:i + 20])
    assert len(hs) == 9
    np.testing.assert_array_equal(net.params, by_hand.params)
