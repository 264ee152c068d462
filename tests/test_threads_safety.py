"""Thread-safety rules of a Network (see docs/hardening.md, "Threads").

1. One thread at a time trains or assigns a network's parameters: a second
   thread's fit / partial_fit / Trainer.fit / params or layer assignment is
   refused with a RuntimeError, and changes nothing.
2. The training thread itself may re-enter (callbacks assign, fit, copy).
3. The slot is released however a fit ends (exception, KeyboardInterrupt,
   bad input) and when its thread dies.
4. Copies and pickles have their own guard; pickling never touches a lock.
5. net.snapshot() is a consistent copy from any thread (never torn).
6. predict takes no lock: it runs during a fit and in parallel.
7. Different networks train independently in several threads.

Rules that need two threads to overlap are made deterministic with a
callback that holds the training thread at an epoch end until the other
thread has acted.
"""
import copy
import pickle
import threading
import time

import numpy as np
import pytest

import pybp
from pybp import optim

BACKENDS = ["c", "python"]
DTYPES = ["float64", "float32"]
WAIT = 30  # seconds: generous bounds, only reached if something hangs


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    T = (X[:, :1] > 0).astype(float)
    return X, T


def _net(backend, dtype, seed=0):
    return pybp.Network([3, 5, 1], seed=seed, backend=backend, dtype=dtype)


class _Held:
    """Runs a fit in a thread, holding it inside a callback after the first
    epoch until release(); `inside` is set while it is held."""

    def __init__(self, net, epochs=3, fit=None):
        self.net, self.inside, self.go = net, threading.Event(), threading.Event()
        self.error, self.history = None, None
        X, T = _data()

        def callback(n, history):
            if history.epochs == 1:
                self.inside.set()
                assert self.go.wait(WAIT)

        def target():
            try:
                if fit is None:
                    self.history = net.fit(X, T, optimizer=optim.SGD(0.5),
                                           epochs=epochs, batch_size=8,
                                           seed=1, callbacks=[callback])
                else:
                    self.history = fit(net, X, T, callback)
            except BaseException as exc:  # reported by join()
                self.error = exc

        self.thread = threading.Thread(target=target, name="trainer")

    def __enter__(self):
        self.thread.start()
        assert self.inside.wait(WAIT)
        return self

    def __exit__(self, *exc):
        self.go.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()
        if exc[0] is None:
            assert self.error is None, self.error
        return False


def _serial_params(backend, dtype, epochs=3):
    net = _net(backend, dtype)
    X, T = _data()
    net.fit(X, T, optimizer=optim.SGD(0.5), epochs=epochs, batch_size=8,
            seed=1)
    return net.params.copy()


# ---- rule 1: a second writer is refused ------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_second_fit_from_another_thread_is_refused(backend, dtype):
    net = _net(backend, dtype)
    X, T = _data()
    with _Held(net) as held:
        with pytest.raises(RuntimeError, match="being trained by another "
                           "thread.*net.copy()"):
            net.fit(X, T, epochs=1)
        with pytest.raises(RuntimeError, match="partial_fit"):
            pybp.Trainer().partial_fit(net, X, T)
        with pytest.raises(RuntimeError, match="refused"):
            pybp.Trainer().fit(net, X, T, epochs=1)
    assert held.error is None and held.history.epochs == 3
    # The refused calls changed nothing: the result is the serial one.
    assert np.array_equal(net.params, _serial_params(backend, dtype))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_assignment_from_another_thread_is_refused(backend, dtype):
    net = _net(backend, dtype)
    with _Held(net):
        with pytest.raises(RuntimeError, match="assigning params"):
            net.params = np.zeros(net.n_params)
        with pytest.raises(RuntimeError, match="assigning a layer"):
            net.weights[0] = np.zeros(net.weights[0].shape)
        with pytest.raises(RuntimeError, match="assigning a layer"):
            net.biases[1] = np.zeros(net.biases[1].shape)
    assert np.array_equal(net.params, _serial_params(backend, dtype))


def test_assignment_on_an_idle_network_from_any_thread_works():
    net = _net("c", "float64")
    done = []

    def assign():
        net.params = np.arange(net.n_params, dtype=float)
        net.weights[0] = np.ones(net.weights[0].shape)
        done.append(True)

    t = threading.Thread(target=assign)
    t.start()
    t.join(WAIT)
    assert done and np.array_equal(net.weights[0], np.ones((5, 3)))
    assert net.params[-1] == net.n_params - 1


def test_gradient_views_are_not_guarded():
    """Gradients' per-layer lists are plain views of a fresh buffer: they
    are assignable from any thread, also while the network trains."""
    net = _net("c", "float64")
    X, T = _data()
    grad = net.gradients(X, T)
    with _Held(net):
        grad.weights[0] = np.zeros(grad.weights[0].shape)
    assert not grad.weights[0].any()


# ---- rule 2: the training thread may re-enter ------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_callback_may_assign_fit_copy_and_snapshot(backend):
    net = _net(backend, "float64")
    X, T = _data()
    seen = {}

    def callback(n, history):
        if history.epochs == 1:
            n.weights[0] = np.full(n.weights[0].shape, 0.25)
            n.biases[0] = np.zeros(n.biases[0].shape)
            seen["inner"] = n.fit(X, T, epochs=1).epochs
            seen["copy"] = n.copy().params
            seen["snapshot"] = n.snapshot(timeout=1).params
            n.params = seen["snapshot"]

    history = net.fit(X, T, epochs=2, callbacks=[callback])
    assert history.epochs == 2 and seen["inner"] == 1
    assert np.array_equal(seen["copy"], seen["snapshot"])


# ---- rule 3: released however it ends ---------------------------------------

@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt])
@pytest.mark.parametrize("backend", BACKENDS)
def test_guard_released_after_exception_in_fit(error, backend):
    net = _net(backend, "float64")
    X, T = _data()

    def callback(n, history):
        raise error("from a callback")

    with pytest.raises(error):
        net.fit(X, T, epochs=2, callbacks=[callback])
    _fit_in_thread(net, X, T)   # would be refused if the slot stayed held


@pytest.mark.parametrize("backend", BACKENDS)
def test_guard_released_after_bad_input_and_bad_assignment(backend):
    net = _net(backend, "float64")
    X, T = _data()
    with pytest.raises(ValueError):
        net.fit(X, T[:5], epochs=1)
    with pytest.raises(ValueError):
        net.params = np.zeros(3)
    with pytest.raises(ValueError):
        net.params = np.full(net.n_params, np.nan)
    _fit_in_thread(net, X, T)


def test_slot_of_a_dead_thread_is_taken_over():
    """A thread that died while holding the slot (it cannot release it)
    does not lock the network forever."""
    net = _net("c", "float64")
    t = threading.Thread(target=net._guard._enter, args=("test",))
    t.start()
    t.join(WAIT)
    assert net._guard.busy
    X, T = _data()
    assert net.fit(X, T, epochs=1).epochs == 1
    assert not net._guard.busy


def test_writers_delayed_by_a_copy_get_one_owner():
    """Two writers that arrive while a snapshot is being copied wait for
    it; then exactly one becomes the writer and the other is refused."""
    net = _net("c", "float64")
    guard = net._guard
    with guard._mutex:
        guard._copying = 1          # as snapshot() does around its copy
    outcomes, done = [], threading.Event()

    def writer():
        try:
            guard._enter("test")
        except RuntimeError:
            outcomes.append("refused")
            return
        outcomes.append("owner")
        done.wait(WAIT)             # stays alive, holding the slot
        guard._exit()

    threads = [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    assert outcomes == []           # both wait for the copy
    with guard._mutex:
        guard._copying = 0
        guard._mutex.notify_all()
    deadline = time.monotonic() + WAIT
    while len(outcomes) < 2 and time.monotonic() < deadline:
        time.sleep(0.001)
    assert sorted(outcomes) == ["owner", "refused"]
    done.set()
    for t in threads:
        t.join(WAIT)
    assert not guard.busy


def _fit_in_thread(net, X, T):
    result = []
    t = threading.Thread(target=lambda: result.append(net.fit(X, T, epochs=1)))
    t.start()
    t.join(WAIT)
    assert result and result[0].epochs == 1


# ---- rule 4: copies and pickles --------------------------------------------

@pytest.mark.parametrize("make", [
    lambda n: n.copy(), lambda n: n.copy(backend="python"), copy.copy,
    copy.deepcopy, lambda n: pickle.loads(pickle.dumps(n))],
    ids=["copy", "copy_backend", "copy.copy", "deepcopy", "pickle"])
def test_copies_of_a_training_network_train_in_parallel(make):
    net = _net("c", "float64")
    X, T = _data()
    with _Held(net):
        # Made while the original is being trained: copied and pickled
        # without touching its lock, and free to train at once.
        other = make(net)
        assert other._guard is not net._guard
        assert other.fit(X, T, epochs=1).epochs == 1
        other.params = np.zeros(other.n_params)
        assert not other.params.any()


# ---- rule 5: snapshots are consistent ----------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_snapshots_during_training_are_never_torn(backend, dtype):
    net = _net(backend, dtype)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200 if backend == "python" else 400, 3))
    T = (X[:, :1] > 0).astype(float)
    states = [net.params.copy()]
    snapshots = []

    def record(n, history):
        states.append(n.params.copy())   # in the training thread: exact
        if history.epochs == 10:
            # Go on only once the main thread is waiting for a snapshot, so
            # that at least one is served while the fit runs.
            deadline = time.monotonic() + WAIT
            while not n._guard._requests and time.monotonic() < deadline:
                time.sleep(0.001)

    def train():
        # Full batches: every state the fit passes through is an epoch end
        # (a snapshot taken inside an epoch sees its start), so each
        # snapshot can be checked against the recorded states.
        net.fit(X, T, optimizer=optim.SGD(0.1),
                epochs=300 if backend == "c" else 60,
                batch_size=len(X), callbacks=[record])

    t = threading.Thread(target=train)
    t.start()
    while t.is_alive():
        snapshots.append(net.snapshot(timeout=WAIT).params)
    t.join()
    snapshots.append(net.snapshot(timeout=WAIT).params)
    known = {s.tobytes() for s in states}
    assert len(snapshots) >= 2 and len(states) == len(known) > 10
    assert all(s.tobytes() in known for s in snapshots)
    assert np.array_equal(snapshots[-1], net.params)


@pytest.mark.parametrize("backend", BACKENDS)
def test_snapshot_inside_one_long_epoch_comes_between_batches(backend):
    """The training thread serves snapshots at its progress checks (about
    every millisecond), not only at epoch ends: a snapshot asked for during
    a single long epoch arrives while that epoch still runs."""
    net = pybp.Network([20, 64, 4] if backend == "c" else [4, 8, 2], seed=0,
                       backend=backend)
    rng = np.random.default_rng(0)
    n = 200_000 if backend == "c" else 20_000
    X = rng.normal(size=(n, net.n_inputs))
    T = rng.uniform(size=(n, net.n_outputs))
    started = threading.Event()
    result = []

    def train():
        started.set()
        result.append(net.fit(X, T, epochs=1, batch_size=1, shuffle=False))

    t = threading.Thread(target=train)
    t.start()
    started.wait(WAIT)
    time.sleep(0.05)
    snap = net.snapshot(timeout=WAIT)
    still_training = t.is_alive()
    t.join(WAIT)
    assert result and result[0].epochs == 1
    assert still_training, "the epoch ended before the snapshot: make it longer"
    assert np.isfinite(snap.params).all()


@pytest.mark.parametrize("dtype", DTYPES)
def test_snapshot_of_a_tiny_net_inside_one_epoch_is_its_current_state(dtype):
    """Per-sample SGD of a tiny net runs, in the fast set's AVX variants, on
    a packed copy of the parameters (docs/kernels.md, tiny nets); the copy
    is written back before each progress check, so a snapshot served inside
    the one long epoch is the training's current state, neither the state
    it started from nor the one it ends in."""
    net = pybp.Network([3, 8, 4], seed=0, dtype=dtype)  # 56 weights
    start = net.copy()
    rng = np.random.default_rng(0)
    n = 400_000
    X = rng.normal(size=(n, 3)).astype(dtype)
    T = rng.uniform(size=(n, 4)).astype(dtype)
    started = threading.Event()
    result = []

    def train():
        started.set()
        result.append(net.fit(X, T, epochs=1, batch_size=1, shuffle=False,
                              optimizer=optim.SGD(0.01)))

    t = threading.Thread(target=train)
    t.start()
    started.wait(WAIT)
    time.sleep(0.02)
    snap = net.snapshot(timeout=WAIT).params
    still_training = t.is_alive()
    t.join(WAIT)
    assert result and result[0].epochs == 1
    assert still_training, "the epoch ended before the snapshot: make it longer"
    assert not np.array_equal(snap, start.params)
    assert not np.array_equal(snap, net.params)
    assert np.isfinite(snap).all()


def test_snapshot_times_out_while_training_reaches_no_epoch_end():
    net = _net("c", "float64")
    with _Held(net, epochs=2) as held:
        t0 = time.perf_counter()
        with pytest.raises(TimeoutError, match="batch or epoch end"):
            net.snapshot(timeout=0.05)
        assert time.perf_counter() - t0 < WAIT
        assert not net._guard._requests   # the request was withdrawn
    assert held.error is None and held.history.epochs == 2
    assert np.array_equal(net.snapshot(timeout=0).params, net.params)


def test_waiting_snapshot_is_served_when_the_fit_returns():
    """A request made during the last epoch gets the parameters the fit
    leaves (after restore_best), from the end of the fit."""
    net = _net("c", "float64")
    X, T = _data()
    got = []

    def fit(n, X, T, callback):
        return n.fit(X, T, epochs=1, callbacks=[callback],
                     validation_data=(X, T))

    with _Held(net, fit=fit):
        taker = threading.Thread(target=lambda: got.append(
            net.snapshot(timeout=WAIT)))
        taker.start()
        deadline = time.monotonic() + WAIT
        while not net._guard._requests and time.monotonic() < deadline:
            time.sleep(0.001)
        assert net._guard._requests and not got   # waiting, not served yet
    taker.join(WAIT)
    assert got and np.array_equal(got[0].params, net.params)
    assert got[0]._guard is not net._guard


def test_many_snapshot_takers_each_get_their_own_copy():
    net = _net("python", "float32")
    got = []
    with _Held(net, epochs=1):   # served when the fit returns
        takers = [threading.Thread(target=lambda: got.append(
            net.snapshot(timeout=WAIT))) for _ in range(4)]
        for t in takers:
            t.start()
        deadline = time.monotonic() + WAIT
        while len(net._guard._requests) < 4 and time.monotonic() < deadline:
            time.sleep(0.001)
    for t in takers:
        t.join(WAIT)
    assert len(got) == 4 and len({id(s.params) for s in got}) == 4
    assert all(np.array_equal(s.params, net.params) for s in got)


# ---- rule 6: predict takes no lock ---------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_predict_runs_during_a_fit(backend):
    net = _net(backend, "float64")
    X, _ = _data()
    with _Held(net):
        out = net.predict(X)   # not refused, not blocked
        assert out.shape == (len(X), 1) and np.isfinite(out).all()
        # (the trainer is held at an epoch end, so the buffer is still)
        assert np.array_equal(net.copy().predict(X), out)


def test_predicts_in_parallel_threads_agree_with_serial():
    net = pybp.Network([8, 32, 4], seed=2)
    rng = np.random.default_rng(5)
    Xs = [rng.normal(size=(3000, 8)) for _ in range(4)]
    serial = [net.predict(X) for X in Xs]
    results = [None] * 4

    def work(i):
        for _ in range(5):
            results[i] = net.predict(Xs[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert all(np.array_equal(r, s) for r, s in zip(results, serial))


# ---- rule 7: different networks train in parallel ---------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_networks_in_several_threads_train_independently(dtype):
    """Four threads, four networks (both backends): no refusal, and each
    result equals the same fit alone.  (That the C loops overlap in time is
    measured in docs/hardening.md, and tests/test_config.py checks two C
    fits in threads against serial ones.)"""
    X, T = _data(200)
    configs = [("c", 1), ("c", 2), ("python", 3), ("c", 4)]

    def train(backend, seed):
        net = pybp.Network([3, 8, 1], seed=seed, backend=backend, dtype=dtype)
        net.fit(X, T, optimizer="adam", epochs=4, batch_size=4, seed=seed)
        return net.params

    serial = [train(*c) for c in configs]
    results = [None] * len(configs)

    def work(i):
        results[i] = train(*configs[i])

    threads = [threading.Thread(target=work, args=(i,))
               for i in range(len(configs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    assert all(np.array_equal(r, s) for r, s in zip(results, serial))


@pytest.mark.parametrize("backend", BACKENDS)
def test_other_threads_run_while_a_short_epoch_fit_trains(backend):
    """A fit of many short epochs (the per-epoch loop: a callback) lets
    another Python thread run.  Releasing the GIL for a few microseconds
    once per epoch (the stall check's comparison did) starved it instead:
    each release restarted the waiting thread's switch-interval wait, and
    the pure-Python backend's fit held the GIL the rest of the time, so the
    thread below counted 0 in a 3 s fit."""
    if backend == "python" and int(np.__version__.split(".")[0]) < 2:
        # Seen with NumPy 1.23.5: its small copies (ndarray.copy, arange)
        # release the GIL for microseconds, and the per-epoch loop makes
        # them every epoch -- the same starvation, inside NumPy; NumPy 2
        # keeps the GIL there (0 turns counted under 1.23.5, even with the
        # stall check removed).
        pytest.skip("NumPy < 2 releases the GIL briefly in the small copies "
                    "that the per-epoch loop makes every epoch")
    X, T = _data()
    net = pybp.Network([3, 8, 1], "tanh", "identity", seed=0,
                       backend=backend)
    turns, done = [0], threading.Event()

    def count():
        while not done.is_set():
            turns[0] += 1
            time.sleep(0.001)

    thread = threading.Thread(target=count, daemon=True)
    thread.start()
    try:
        time.sleep(0.05)
        before = turns[0]
        net.fit(X, T, optimizer=optim.Adam(0.01), epochs=10 ** 9,
                batch_size=4, max_seconds=1.0, callbacks=lambda n, h: None)
        during = turns[0] - before
    finally:
        done.set()
        thread.join(WAIT)
    # Given the GIL every switch interval (5 ms) it counts about 100 in 1 s
    # (sleeping 1 ms between turns); starved it counted 0.
    assert during >= 10
