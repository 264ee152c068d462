"""The fast kernels' threads: pybp.set_num_threads / get_num_threads,
PYBP_NUM_THREADS, bit-identical results whatever the count, concurrent fits
from several Python threads, fork safety, and threadpoolctl."""
import multiprocessing
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import pybp
from pybp import _core

DTYPES = (np.float64, np.float32)


@pytest.fixture
def threads():
    """Yields set_num_threads; restores the count afterwards."""
    before = pybp.get_num_threads()
    yield pybp.set_num_threads
    pybp.set_num_threads(before)


@pytest.fixture
def fast():
    before = pybp.get_kernels()
    pybp.set_kernels("fast")
    yield
    pybp.set_kernels(before)


def test_set_and_get(threads):
    assert threads(3) == 3 and pybp.get_num_threads() == 3
    assert threads(np.int64(1)) == 1
    assert pybp.config()["num_threads"] == 1
    assert threads(10 ** 6) == _core.MAX_THREADS


def test_none_restores_the_default(threads):
    threads(5)
    default = threads(None)
    env = os.environ.get("PYBP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        assert default == min(int(env), _core.MAX_THREADS)
    else:
        assert default == _core.available_cores()
    assert 1 <= _core.available_cores() <= (os.cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        assert _core.available_cores() == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("bad", [0, -2])
def test_count_below_one_is_a_value_error(threads, bad):
    before = pybp.get_num_threads()
    with pytest.raises(ValueError, match="expected a positive int or None, "
                                         f"got {bad}"):
        threads(bad)
    assert pybp.get_num_threads() == before


@pytest.mark.parametrize("bad", [2.0, "2", True, [2]])
def test_count_of_another_type_is_a_type_error(threads, bad):
    with pytest.raises(TypeError, match="expected a positive int or None"):
        threads(bad)


def _run(code, **env):
    full = dict(os.environ, **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True, env=full, check=True)


def test_environment_variable_sets_the_default():
    out = _run("import pybp; print(pybp.get_num_threads())",
               PYBP_NUM_THREADS="3")
    assert out.stdout.strip() == "3"


def test_bad_environment_variable_warns():
    out = _run("import warnings; warnings.simplefilter('always');"
               "import pybp, os; print(pybp.get_num_threads(),"
               " len(os.sched_getaffinity(0)) if hasattr(os, "
               "'sched_getaffinity') else pybp.get_num_threads())",
               PYBP_NUM_THREADS="many")
    got, cores = out.stdout.split()
    assert got == cores
    assert "PYBP_NUM_THREADS='many' ignored" in out.stderr


def _problem(dtype, n=512):
    rng = np.random.default_rng(9)
    X = rng.normal(size=(n, 200)).astype(dtype)
    T = np.eye(10)[rng.integers(0, 10, n)].astype(dtype)
    return X, T


def _train(dtype, X, T, optimizer="adam"):
    # 200-256-128-10, batch 128: every product is worth several threads
    # (pybp_pool_workers_for: one per MFLOP).
    net = pybp.Network([200, 256, 128, 10], "relu", "softmax", seed=3,
                       dtype=dtype)
    hist = net.fit(X, T, loss="cross_entropy", optimizer=optimizer,
                   batch_size=128, epochs=2, seed=4)
    return net.params.copy(), list(hist.loss), net.predict(X[:300])


@pytest.mark.parametrize("dtype", DTYPES)
def test_bit_identical_whatever_the_thread_count(threads, fast, dtype):
    X, T = _problem(dtype)
    results = {}
    for n in (1, 2, 3, 4):
        threads(n)
        results[n] = _train(dtype, X, T)
    for n in (2, 3, 4):
        np.testing.assert_array_equal(results[n][0], results[1][0])
        assert results[n][1] == results[1][1]
        np.testing.assert_array_equal(results[n][2], results[1][2])


@pytest.mark.parametrize("dtype", DTYPES)
def test_full_batch_bit_identical_whatever_the_thread_count(threads, fast,
                                                            dtype):
    X, T = _problem(dtype, n=700)
    ref = None
    for n in (1, 3, 4):
        threads(n)
        net = pybp.Network([200, 256, 10], "tanh", "softmax", seed=1,
                           dtype=dtype)
        net.fit(X, T, loss="cross_entropy", optimizer="rprop", epochs=3,
                batch_size=len(X))
        if ref is None:
            ref = net.params.copy()
        np.testing.assert_array_equal(net.params, ref)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("optimizer", ["momentum", "rmsprop"])
def test_threaded_gather_and_update_bit_identical(threads, fast, dtype,
                                                  optimizer):
    """Batches of 128 x 600 inputs (gathered over the pool: >= 65,536
    values) and a 600 x 64 layer (its update split into blocks over the
    pool: >= 16,384 weights): the same bits for 1 to 4 threads."""
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 600)).astype(dtype)
    T = np.eye(10)[rng.integers(0, 10, 300)].astype(dtype)
    opt = (pybp.optim.SGD(0.05, momentum=0.9) if optimizer == "momentum"
           else pybp.optim.RMSprop(0.001))
    ref = None
    for n in (1, 2, 4):
        threads(n)
        net = pybp.Network([600, 64, 10], "relu", "softmax", seed=2,
                           dtype=dtype)
        hist = net.fit(X, T, loss="cross_entropy", optimizer=opt,
                       batch_size=128, epochs=2, seed=5)
        got = (net.params.copy(), list(hist.loss))
        if ref is None:
            ref = got
        np.testing.assert_array_equal(got[0], ref[0])
        assert got[1] == ref[1]


def test_concurrent_fits_in_python_threads_match_sequential(threads, fast):
    """Several fits at once (GIL released): the pool admits one, the others
    run their products on their own threads; results are unchanged."""
    threads(2)
    data = [_problem(dt) for dt in (np.float64, np.float32, np.float64)]
    expected = [_train(X.dtype.type, X, T) for X, T in data]
    got = [None] * len(data)
    errors = []

    def work(i):
        try:
            X, T = data[i]
            got[i] = _train(X.dtype.type, X, T)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,))
               for i in range(len(data))]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors
    for e, g in zip(expected, got):
        np.testing.assert_array_equal(g[0], e[0])


def _child(conn):
    X, T = _problem(np.float32)
    pybp.set_num_threads(2)
    conn.send(_train(np.float32, X, T)[0])
    conn.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this OS")
def test_fork_after_threads_have_run(threads, fast):
    threads(2)
    X, T = _problem(np.float32)
    expected = _train(np.float32, X, T)[0]   # the pool's workers now exist
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(child,))
    proc.start()
    assert parent.poll(120), "forked child did not answer (hung pool?)"
    got = parent.recv()
    proc.join(30)
    assert proc.exitcode == 0
    np.testing.assert_array_equal(got, expected)


def test_threadpoolctl_sees_and_limits_pybp(threads):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    threads(2)
    info = [i for i in threadpoolctl.threadpool_info()
            if i["internal_api"] == "pybp"]
    assert len(info) == 1 and info[0]["num_threads"] == 2
    assert info[0]["user_api"] == "pybp"
    assert info[0]["version"] == pybp.__version__
    with threadpoolctl.threadpool_limits(limits=1, user_api="pybp"):
        assert pybp.get_num_threads() == 1
    assert pybp.get_num_threads() == 2
