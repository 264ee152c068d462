"""The Dask recipes on a real LocalCluster (2 worker processes): batch
inference, the model shipped once, a worker killed mid-job, the thread
budget, out-of-core training.  Skipped when the dask extra is absent."""
import os
import pickle
import signal
import sys
import time

import numpy as np
import pytest

dd = pytest.importorskip("dask.dataframe")
da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
pd = pytest.importorskip("pandas")
cloudpickle = pytest.importorskip("cloudpickle")

import dask  # noqa: E402

import pybp  # noqa: E402
import pybp.distributed as pdist  # noqa: E402
from helpers_distributed import N_WORKERS, local_client  # noqa: E402

# The helper models below travel to the workers by value: the workers cannot
# import this test module by name.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def client():
    with local_client() as c:
        yield c


class CountingModel:
    """A Network whose every unpickling is logged (pid per line) to a file,
    and whose predict can be made slow."""

    def __init__(self, net, log, delay=0.0):
        self.net, self.log, self.delay = net, str(log), delay

    def __getstate__(self):
        return dict(self.__dict__)

    def __setstate__(self, state):
        self.__dict__.update(state)
        with open(self.log, "a") as f:
            f.write(f"{os.getpid()}\n")

    def predict(self, X):
        time.sleep(self.delay)
        return self.net.predict(np.asarray(X, dtype=self.net.dtype))

    def unpickled_in(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            return [int(line) for line in f]


def _frame(n=600, n_in=4, seed=0, npartitions=6):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, n_in)),
                      columns=[f"f{i}" for i in range(n_in)],
                      index=pd.RangeIndex(1000, 1000 + n))
    return df, dd.from_pandas(df, npartitions=npartitions)


def _net(dtype="float64", backend="c", sizes=(4, 8, 3), out="softmax"):
    return pybp.Network(list(sizes), "tanh", out, seed=1, dtype=dtype,
                        backend=backend)


# ---- batch inference ----------------------------------------------------

@pytest.mark.parametrize("backend", ["c", "python"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_predict_frame_equals_local(client, dtype, backend):
    df, ddf = _frame()
    net = _net(dtype, backend)
    out = pdist.predict(net, ddf, columns=["a", "b", "c"])
    assert list(out.columns) == ["a", "b", "c"]
    assert list(out.dtypes) == [np.dtype(dtype)] * 3        # meta, lazily
    got = out.compute()
    assert isinstance(got, pd.DataFrame)
    assert list(got.dtypes) == [np.dtype(dtype)] * 3
    assert got.index.equals(df.index)
    expected = net.predict(df.to_numpy(dtype=dtype))
    np.testing.assert_array_equal(got.to_numpy(), expected)


def test_predict_frame_default_columns_and_classify(client):
    df, ddf = _frame()
    net = _net()
    got = pdist.predict(net, ddf).compute()
    assert list(got.columns) == [0, 1, 2]
    labels = pdist.predict(net, ddf, method="classify", columns="label")
    assert isinstance(labels, dd.Series) and labels.name == "label"
    labels = labels.compute()
    assert labels.dtype == np.int64 and labels.index.equals(df.index)
    np.testing.assert_array_equal(labels.to_numpy(),
                                  net.classify(df.to_numpy()))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_predict_array_equals_local(client, dtype):
    df, _ = _frame()
    X = df.to_numpy()
    net = _net(dtype)
    # Column chunks are merged: each block must hold whole samples.
    dX = da.from_array(X, chunks=(100, 2))
    out = pdist.predict(net, dX)
    assert out.dtype == np.dtype(dtype) and out.chunks == ((100,) * 6, (3,))
    np.testing.assert_array_equal(out.compute(),
                                  net.predict(X.astype(dtype)))
    labels = pdist.predict(net, dX, method="classify")
    assert labels.ndim == 1 and labels.chunks == ((100,) * 6,)
    np.testing.assert_array_equal(labels.compute(), net.classify(X))


def test_predict_refuses_bad_inputs(client):
    df, ddf = _frame()
    net = _net()
    with pytest.raises(TypeError, match="dask.dataframe.DataFrame"):
        pdist.predict(net, df.to_numpy())
    with pytest.raises(ValueError, match="2-D"):
        pdist.predict(net, da.zeros((10,), chunks=5))
    with pytest.raises(ValueError, match="name the 3 outputs"):
        pdist.predict(net, ddf, columns=["a", "b"])
    with pytest.raises(ValueError, match="Dask DataFrame input"):
        pdist.predict(net, da.zeros((10, 4), chunks=5), columns=["a"])
    with pytest.raises(ValueError, match="4 inputs|shape"):
        pdist.predict(net, dd.from_pandas(df.iloc[:, :3], npartitions=2))


# ---- the model is given to each worker once -----------------------------

@pytest.mark.parametrize("broadcast", [None, False])
def test_model_is_unpickled_once_per_worker(client, tmp_path, broadcast):
    df, ddf = _frame(npartitions=12)
    model = CountingModel(_net(), tmp_path / "unpickled.log")
    got = pdist.predict(model, ddf, broadcast=broadcast).compute()
    np.testing.assert_array_equal(got.to_numpy(),
                                  model.net.predict(df.to_numpy()))
    pids = model.unpickled_in()
    worker_pids = set(client.run(os.getpid).values())
    on_workers = [p for p in pids if p in worker_pids]
    # 12 tasks, yet at most one copy per worker process.  A delayed model
    # is also unpickled once by the scheduler (it deserializes the graph);
    # a scattered one never reaches the scheduler.
    assert 1 <= len(on_workers) == len(set(on_workers)) <= N_WORKERS, pids
    others = [p for p in pids if p not in worker_pids]
    if broadcast is None:
        assert others == []
    else:
        assert others in ([], [client.run_on_scheduler(os.getpid)]), pids


def test_tasks_do_not_carry_the_model(client):
    # A 784-128-64-10 network pickles to ~0.9 MB; each task must stay small.
    net = pybp.Network([784, 128, 64, 10], "relu", "softmax", seed=0)
    model_bytes = len(pickle.dumps(net))
    dX = da.random.default_rng(0).normal(size=(800, 784), chunks=(100, 784))
    out = pdist.predict(net, dX)
    layer = out.name
    tasks = {k: v for k, v in dict(out.__dask_graph__()).items()
             if isinstance(k, tuple) and k[0] == layer}
    assert len(tasks) == 8
    for task in tasks.values():
        assert len(cloudpickle.dumps(task)) < model_bytes / 50
    np.testing.assert_allclose(out.compute(), net.predict(dX.compute()),
                               rtol=0, atol=0)


def test_parallel_post_fit_style_embedding_is_what_we_avoid(client):
    # For contrast: a plain map_partitions with the model as an argument
    # puts the model's bytes into every task.
    net = pybp.Network([784, 128, 64, 10], "relu", "softmax", seed=0)
    dX = da.zeros((800, 784), chunks=(100, 784))
    out = dX.map_blocks(lambda b, m: m.predict(b), net, dtype=float,
                        chunks=(dX.chunks[0], (10,)))
    tasks = [v for k, v in dict(out.__dask_graph__()).items()
             if isinstance(k, tuple) and k[0] == out.name]
    assert all(len(cloudpickle.dumps(t)) > len(pickle.dumps(net)) / 2
               for t in tasks)


# ---- fault tolerance ----------------------------------------------------

def test_worker_killed_mid_job_is_retried(client, tmp_path):
    client.register_plugin(pdist.ThreadBudget())
    df, ddf = _frame(n=1200, npartitions=16)
    model = CountingModel(_net(), tmp_path / "log", delay=0.25)
    future = client.compute(pdist.predict(model, ddf))
    time.sleep(1.0)
    assert not future.done(), "the job finished before the kill"
    victim = next(iter(client.run(os.getpid).values()))
    os.kill(victim, signal.SIGKILL)
    got = future.result(timeout=180)
    np.testing.assert_array_equal(got.to_numpy(),
                                  model.net.predict(df.to_numpy()))
    client.wait_for_workers(N_WORKERS, timeout=120)
    pids = set(client.run(os.getpid).values())
    assert victim not in pids
    # The replacement worker got the thread budget again (plugins persist).
    budgets = client.run(pdist._env_threads)
    assert all(b is not None and b >= 1 for b in budgets.values()), budgets


# ---- thread budget ------------------------------------------------------

def test_thread_budget_on_every_worker(client):
    cores = client.run(pdist._usable_cores)
    nthreads = client.nthreads()
    budgets = pdist.register_thread_budget(client)
    assert budgets.keys() == cores.keys()
    for addr, b in budgets.items():
        assert b == max(1, cores[addr] // nthreads[addr])
    # Inside a task, thread_share() sees the worker's own thread count.
    share = client.submit(pdist.thread_share, pure=False).result()
    assert share == max(1, min(cores.values()) // max(nthreads.values()))
    assert set(pdist.register_thread_budget(client, threads=1).values()) \
        == {1}


# ---- out-of-core training -----------------------------------------------

@pytest.mark.parametrize("backend", ["c", "python"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_fit_blocks_equals_partial_fit_by_hand(client, dtype, backend):
    # The blocks are generated on the workers; training runs here, one
    # block in memory (plus the next, prefetched).
    n, sizes = 400, (4, 6, 3)
    rs = da.random.default_rng(5)
    dX = rs.normal(size=(n, 4), chunks=(100, 4))
    dT = rs.uniform(0.1, 0.9, size=(n, 3), chunks=(100, 3))
    net = _net(dtype, backend, sizes, out="sigmoid")
    by_hand = net.copy()

    def trainer():
        return pybp.Trainer(optimizer=pybp.optim.Adam(0.01), batch_size=8,
                            shuffle=True, seed=3)

    t1 = trainer()
    histories = pdist.fit_blocks(t1, net, dX, dT, epochs=2)
    X, T = dask.compute(dX, dT)
    t2 = trainer()
    expected = []
    for _ in range(2):
        for i in range(0, n, 100):
            expected.append(t2.partial_fit(by_hand, X[i:i + 100],
                                           T[i:i + 100]))
    assert len(histories) == 8
    np.testing.assert_array_equal(net.params, by_hand.params)
    assert [h.loss for h in histories] == [h.loss for h in expected]
    assert t1.epochs_done == t2.epochs_done == 8


def test_fit_blocks_with_frames_and_weights(client):
    df, ddf = _frame(n=200, npartitions=4)
    T = pd.DataFrame(np.random.default_rng(1).uniform(0.1, 0.9, (200, 3)),
                     index=df.index)
    w = pd.Series(np.linspace(0.5, 2.0, 200), index=df.index)
    net = _net(out="sigmoid")
    by_hand = net.copy()
    tr, tr2 = (pybp.Trainer(optimizer="sgd", batch_size=5, seed=0)
               for _ in range(2))
    pdist.fit_blocks(tr, net, ddf, dd.from_pandas(T, npartitions=4),
                     sample_weight=dd.from_pandas(w, npartitions=4))
    for part in range(4):
        sl = slice(part * 50, (part + 1) * 50)
        tr2.partial_fit(by_hand, df.to_numpy()[sl], T.to_numpy()[sl],
                        sample_weight=w.to_numpy()[sl])
    np.testing.assert_array_equal(net.params, by_hand.params)


def test_fit_blocks_refuses_misaligned_blocks(client):
    dX = da.zeros((100, 4), chunks=25)
    dT = da.zeros((100, 3), chunks=50)
    with pytest.raises(ValueError, match="same number of blocks"):
        pdist.fit_blocks(pybp.Trainer(), _net(out="sigmoid"), dX, dT)
    dT = da.zeros((100, 3), chunks=((20, 30, 25, 25), (3,)))
    with pytest.raises(ValueError, match="same row blocks"):
        pdist.fit_blocks(pybp.Trainer(), _net(out="sigmoid"), dX, dT)
