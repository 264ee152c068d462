"""pybp.train, how a fit stops: every History.stopped reason,
restore_best, and validation hold-outs."""
import math
import os
import signal
import threading
import time

import numpy as np
import pytest

import pybp
from pybp import optim

import helpers_train as H  # tests/ is on sys.path (see conftest.py)

BACKENDS = H.BACKENDS


def _regression(n=24, seed=0, backend="c"):
    rng = np.random.default_rng(seed)
    X, T = H.small_regression(n, rng)
    net = pybp.Network([3, 5, 2], "tanh", "sigmoid", seed=seed,
                       backend=backend)
    return net, X, T


def _expected_stop(monitored, patience, min_delta):
    """Number of epochs run under "stop once the monitored loss has gone
    `patience` epochs without improving on the best by more than
    min_delta", or None if it never stops."""
    best, wait = math.inf, 0
    for i, m in enumerate(monitored):
        if m < best - min_delta:
            best, wait = m, 0
        else:
            wait += 1
            if wait >= patience:
                return i + 1
    return None


# ---- max_epochs ----------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_max_epochs(backend):
    net, X, T = _regression(backend=backend)
    h = net.fit(X, T, optimizer=optim.SGD(0.1), epochs=5, batch_size=4,
                seed=0, patience=100, target_loss=0.0)
    assert h.stopped == "max_epochs"
    assert h.epochs == 5


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_epochs_changes_nothing(backend):
    net, X, T = _regression(backend=backend)
    before = net.params.copy()
    h = net.fit(X, T, epochs=0)
    assert h.epochs == 0 and h.loss == [] and h.stopped == "max_epochs"
    np.testing.assert_array_equal(net.params, before)


# ---- target_loss ----------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_target_loss_stops_at_the_first_epoch_at_or_below(backend):
    net, X, T = _regression(backend=backend, seed=1)
    kwargs = dict(optimizer=optim.SGD(0.5, momentum=0.5), batch_size=4, seed=3)
    ref_net, snaps = net.copy(), H.Snapshots()
    ref = ref_net.fit(X, T, epochs=20, callbacks=snaps, **kwargs)
    assert all(b < a for a, b in zip(ref.loss, ref.loss[1:12]))
    target = ref.loss[9]            # reached exactly at epoch 10: "<=" counts
    h = net.fit(X, T, epochs=20, target_loss=target, **kwargs)
    assert h.stopped == "target_loss"
    assert h.epochs == 10
    assert h.loss == ref.loss[:10]
    np.testing.assert_array_equal(net.params, snaps.params[9])
    # Out of reach: runs to the end.
    h = net.copy().fit(X, T, epochs=5, target_loss=0.0, **kwargs)
    assert h.stopped == "max_epochs"


def test_target_loss_watches_validation_loss():
    """With validation data the target applies to the validation loss: the
    training loss passes the target, a validation loss that rises (its
    targets are the opposite ones) never does, so training runs on."""
    net, X, T = _regression(seed=2)
    kwargs = dict(optimizer=optim.SGD(0.5), batch_size=4, seed=0, epochs=12)
    free = net.copy().fit(X, T, **kwargs)
    target = free.loss[3]
    h = net.copy().fit(X, T, target_loss=target, validation_data=(X, 1.0 - T),
                       **kwargs)
    assert min(h.loss) <= target < min(h.val_loss)
    assert h.stopped == "max_epochs" and h.epochs == 12
    # A validation set that improves with training: stops on it.
    Xv, Tv = X[:10], T[:10]
    h = net.copy().fit(X, T, target_loss=target, validation_data=(Xv, Tv),
                       **kwargs)
    first = next((i for i, v in enumerate(h.val_loss) if v <= target), None)
    assert h.stopped == "target_loss"
    assert first is not None and h.epochs == first + 1


# ---- no_improvement and restore_best --------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_no_improvement_on_training_loss(backend):
    """Without validation data the training loss is watched; its per-epoch
    gains shrink below min_delta after a while."""
    net, X, T = _regression(backend=backend, seed=3)
    kwargs = dict(optimizer=optim.SGD(0.3), batch_size=4, seed=1)
    free = net.copy().fit(X, T, epochs=60, **kwargs)
    for patience, min_delta in [(3, 2e-3), (1, 1e-3), (5, 0.0)]:
        expected = _expected_stop(free.loss, patience, min_delta)
        h = net.copy().fit(X, T, epochs=60, patience=patience,
                           min_delta=min_delta, **kwargs)
        if expected is None:
            assert h.stopped == "max_epochs" and h.epochs == 60
        else:
            assert h.stopped == "no_improvement", (patience, min_delta)
            assert h.epochs == expected
            assert h.loss == free.loss[:expected]
    assert _expected_stop(free.loss, 3, 2e-3) < 60     # the case is real


def test_no_improvement_watches_validation_loss():
    """The validation targets are the opposite of the training targets:
    the validation loss rises from the start, so with validation data the
    fit stops after 1 + patience epochs, while the same fit without it (the
    training loss keeps falling) runs to the end."""
    net, X, T = _regression(seed=4)
    kwargs = dict(optimizer=optim.SGD(0.3), batch_size=4, seed=1, epochs=20,
                  patience=3)
    h = net.copy().fit(X, T, validation_data=(X, 1.0 - T), **kwargs)
    assert _expected_stop(h.val_loss, 3, 0.0) == 4
    assert h.stopped == "no_improvement" and h.epochs == 4
    h = net.copy().fit(X, T, **kwargs)
    assert h.stopped == "max_epochs" and h.epochs == 20


def _overshoot_problem():
    """Validation targets half-way between the initial outputs and the
    training targets: the validation loss falls, then rises as training
    goes past them -- its best epoch is in the middle."""
    net, X, T = _regression(n=30, seed=5)
    Tv = 0.5 * (net.predict(X) + T)
    return net, X, T, (X, Tv)


@pytest.mark.parametrize("backend", BACKENDS)
def test_restore_best_puts_back_the_best_epoch(backend):
    net, X, T, val = _overshoot_problem()
    net.backend = backend
    snaps = H.Snapshots()
    h = net.fit(X, T, optimizer=optim.SGD(0.3), epochs=200, batch_size=5,
                seed=0, validation_data=val, patience=4, restore_best=True,
                callbacks=snaps)
    assert h.stopped == "no_improvement"
    best = int(np.argmin(h.val_loss))
    assert 0 < best < h.epochs - 4
    np.testing.assert_array_equal(net.params, snaps.params[best])
    assert net.loss(*val) == pytest.approx(h.val_loss[best], rel=1e-12)


def test_restore_best_false_keeps_the_last_weights():
    net, X, T, val = _overshoot_problem()
    kwargs = dict(optimizer=optim.SGD(0.3), batch_size=5, seed=0,
                  validation_data=val)
    h = net.copy().fit(X, T, epochs=200, patience=4, **kwargs)
    stopped_at = h.epochs
    last = net.copy()
    h = last.fit(X, T, epochs=200, patience=4, restore_best=False, **kwargs)
    assert h.stopped == "no_improvement" and h.epochs == stopped_at
    replay = net.copy()
    replay.fit(X, T, epochs=stopped_at, restore_best=False, **kwargs)
    np.testing.assert_array_equal(last.params, replay.params)
    assert last.loss(*val) == pytest.approx(h.val_loss[-1], rel=1e-12)
    assert h.val_loss[-1] > min(h.val_loss)


@pytest.mark.parametrize("backend", BACKENDS)
def test_restore_best_without_patience_keeps_the_best_validation_epoch(backend):
    """As Keras' restore_best_weights: with validation data, the best
    epoch's weights are put back even when no patience is set."""
    net, X, T, val = _overshoot_problem()
    net.backend = backend
    snaps = H.Snapshots()
    kwargs = dict(optimizer=optim.SGD(0.3), batch_size=5, seed=0,
                  validation_data=val, epochs=60)
    h = net.copy().fit(X, T, callbacks=snaps, **kwargs)
    assert h.stopped == "max_epochs" and h.epochs == 60
    best = int(np.argmin(h.val_loss))
    assert 0 < best < 59
    kept = net.copy()
    kept.fit(X, T, **kwargs)
    np.testing.assert_array_equal(kept.params, snaps.params[best])
    assert kept.loss(*val) == pytest.approx(h.val_loss[best], rel=1e-12)
    last = net.copy()
    last.fit(X, T, restore_best=False, **kwargs)
    np.testing.assert_array_equal(last.params, snaps.params[-1])
    # Without validation data and without patience nothing is restored.
    plain = net.copy()
    h = plain.fit(X, T, optimizer=optim.SGD(0.3), batch_size=5, seed=0,
                  epochs=5, callbacks=(snaps := H.Snapshots()))
    np.testing.assert_array_equal(plain.params, snaps.params[-1])


@pytest.mark.parametrize("stop", ["max_epochs", "target_loss",
                                  "no_improvement"])
def test_callbacks_run_after_every_epoch(stop):
    """Each callback is called after EVERY epoch -- the one that meets a
    stopping rule included (as a Keras callback's on_epoch_end is)."""
    net, X, T = _regression(seed=6)
    kwargs = dict(optimizer=optim.SGD(0.3), batch_size=4, seed=0, epochs=30)
    free = net.copy().fit(X, T, **kwargs)
    rule = {"max_epochs": {},
            "target_loss": {"target_loss": free.loss[5]},
            "no_improvement": {"patience": 2, "min_delta": 5e-3}}[stop]
    snaps = H.Snapshots()
    h = net.fit(X, T, callbacks=snaps, **rule, **kwargs)
    assert h.stopped == stop
    assert h.epochs < 30 or stop == "max_epochs"
    assert snaps.history_lengths == list(range(1, h.epochs + 1))


# ---- callbacks ---------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_callback_stop_and_up_to_date_history(backend):
    net, X, T = _regression(backend=backend, seed=7)
    seen = []

    def callback(n, history):
        assert n is net
        seen.append((len(history.loss), len(history.lr),
                     len(history.seconds), n.loss(X, T)))
        return len(history.loss) == 3

    calls = []
    h = net.fit(X, T, optimizer=optim.SGD(0.5), epochs=10,
                batch_size=len(X), shuffle=False,
                callbacks=[callback, lambda n, hist: calls.append(1)])
    assert h.stopped == "callback"
    assert h.epochs == 3
    assert [s[:3] for s in seen] == [(1, 1, 1), (2, 2, 2), (3, 3, 3)]
    assert len(calls) == 3
    # The callback saw the network after the epoch's update: with full
    # batches, epoch e+1's recorded loss is the loss of that network.
    assert [s[3] for s in seen[:2]] == pytest.approx(h.loss[1:3], rel=1e-12)
    assert seen[2][3] == pytest.approx(net.loss(X, T), rel=1e-12)


def test_single_callable_callback_and_bad_callbacks():
    net, X, T = _regression(seed=8)
    h = net.fit(X, T, epochs=5, callbacks=lambda n, hist: hist.epochs >= 2)
    assert h.stopped == "callback" and h.epochs == 2
    with pytest.raises(TypeError):
        net.fit(X, T, callbacks=[42])
    with pytest.raises(TypeError):
        net.fit(X, T, callbacks=[lambda n, h: False, "stop"])


# ---- max_seconds -------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_max_seconds_between_epochs(backend):
    net, X, T = _regression(backend=backend, seed=9)
    t0 = time.perf_counter()
    h = net.fit(X, T, epochs=10**9, batch_size=4, max_seconds=0.3)
    elapsed = time.perf_counter() - t0
    assert h.stopped == "max_seconds"
    assert 0.3 <= elapsed < 1.5
    assert h.epochs >= 1
    assert np.isfinite(net.params).all()


def _long_epoch_problem(backend, seconds):
    """A network, data and the sample count whose single SGD epoch takes
    about `seconds` (calibrated here on a short run)."""
    rng = np.random.default_rng(10)
    sizes = [200, 400, 400, 10] if backend == "c" else [20, 40, 10]
    net = pybp.Network(sizes, "tanh", seed=0, backend=backend)
    n0 = 200 if backend == "c" else 100
    X0 = rng.normal(size=(n0, sizes[0]))
    T0 = rng.uniform(size=(n0, sizes[-1]))
    probe = net.copy()
    t0 = time.perf_counter()
    probe.fit(X0, T0, epochs=1, batch_size=1, seed=0)
    per_sample = (time.perf_counter() - t0) / n0
    n = int(math.ceil(seconds / per_sample))
    X = rng.normal(size=(n, sizes[0]))
    T = rng.uniform(size=(n, sizes[-1]))
    return net, X, T


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_seconds_inside_one_long_epoch(backend):
    """One epoch that would take >= 5 s stops within it after 0.3 s."""
    net, X, T = _long_epoch_problem(backend, 6.0)
    before = net.params.copy()
    trainer = pybp.Trainer(optimizer=optim.SGD(0.01), batch_size=1, seed=0,
                           max_seconds=0.3)
    t0 = time.perf_counter()
    h = trainer.fit(net, X, T, epochs=1)
    elapsed = time.perf_counter() - t0
    assert h.stopped == "max_seconds"
    assert elapsed < 1.5
    assert h.epochs == 1 and math.isfinite(h.loss[0])
    assert 0 < trainer.samples_seen < len(X)          # stopped mid-epoch
    assert np.isfinite(net.params).all()
    assert not np.array_equal(net.params, before)     # its batches count


# ---- interrupted (SIGINT) ---------------------------------------------------------

def _fit_with_sigint(fit, delay=0.3):
    """Run fit() on the main thread; SIGINT this process from another
    thread `delay` s after fit starts listening for Ctrl-C.  Returns (result, seconds from signal to
    return)."""
    assert threading.current_thread() is threading.main_thread()
    fired = []
    thread, stop = H.sigint_when_fit_listens(delay, fired)
    handler_before = signal.getsignal(signal.SIGINT)
    late = []
    try:
        result = fit()
        returned = time.perf_counter()
    except KeyboardInterrupt:
        pytest.fail("SIGINT during fit raised KeyboardInterrupt instead of "
                    "stopping the fit")
    finally:
        # A signal sent as fit returned must fail this test, not end the
        # whole session with a KeyboardInterrupt (seen once in a full run).
        restored = signal.getsignal(signal.SIGINT)
        signal.signal(signal.SIGINT, lambda signum, frame: late.append(1))
        stop.set()
        thread.join()
        signal.signal(signal.SIGINT, restored)
    assert fired, "fit returned before the signal was sent"
    assert not late, "the signal came after fit had returned"
    assert restored is handler_before
    return result, returned - fired[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigint_between_short_epochs(backend):
    net, X, T = _regression(backend=backend, seed=11)
    snaps = H.Snapshots()
    h, latency = _fit_with_sigint(lambda: net.fit(
        X, T, optimizer=optim.Adam(0.01), epochs=10**9, batch_size=4,
        max_seconds=20, callbacks=snaps))
    assert h.stopped == "interrupted"
    assert latency < 1.0
    assert len(h.loss) == len(h.lr) == len(h.seconds) == h.epochs >= 1
    assert np.isfinite(net.params).all() and np.isfinite(h.loss).all()
    assert math.isfinite(net.loss(X, T))


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigint_inside_one_long_full_batch_epoch(backend):
    """Rprop over a long epoch: interrupted before its single step, the
    parameters are exactly those from before the epoch (never half
    updated); then training can go on."""
    net, X, T = _long_epoch_problem(backend, 6.0)
    before = net.params.copy()
    h, latency = _fit_with_sigint(lambda: net.fit(
        X, T, optimizer=optim.Rprop(), epochs=1, batch_size=16,
        max_seconds=20))
    assert h.stopped == "interrupted"
    assert latency < 1.0
    np.testing.assert_array_equal(net.params, before)
    h = net.fit(X[:50], T[:50], optimizer=optim.Rprop(), epochs=1,
                batch_size=50)
    assert h.stopped == "max_epochs"
    assert not np.array_equal(net.params, before)


@pytest.mark.parametrize("backend", BACKENDS)
def test_sigint_inside_one_long_sgd_epoch(backend):
    net, X, T = _long_epoch_problem(backend, 6.0)
    trainer = pybp.Trainer(optimizer=optim.SGD(0.01), batch_size=1, seed=0,
                           max_seconds=20)
    h, latency = _fit_with_sigint(lambda: trainer.fit(net, X, T, epochs=3))
    assert h.stopped == "interrupted"
    assert latency < 1.0
    assert h.epochs == 1 and 0 < trainer.samples_seen < len(X)
    assert np.isfinite(net.params).all() and math.isfinite(h.loss[0])


# ---- diverged ----------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch_size", [4, 16])
def test_divergence_is_undone(backend, batch_size):
    """A huge learning rate on sse with an identity output: the loss
    overflows.  The non-finite loss is recorded and the parameters are those
    from before the epoch that diverged (the last callback's snapshot)."""
    rng = np.random.default_rng(12)
    X = rng.uniform(-1, 1, (16, 2))
    T = X[:, :1] - 2 * X[:, 1:]
    net = pybp.Network([2, 8, 1], "tanh", "identity", seed=0, backend=backend)
    snaps = H.Snapshots()
    h = net.fit(X, T, loss="sse", optimizer=optim.SGD(5.0), epochs=500,
                batch_size=batch_size, shuffle=False, callbacks=snaps)
    assert h.stopped == "diverged"
    assert not math.isfinite(h.loss[-1])
    assert all(math.isfinite(v) for v in h.loss[:-1])
    assert h.epochs >= 2 and len(snaps.params) == h.epochs - 1
    np.testing.assert_array_equal(net.params, snaps.params[-1])
    assert np.isfinite(net.params).all()
    assert len(h.lr) == len(h.seconds) == h.epochs


def test_divergence_in_the_first_epoch_restores_the_initial_weights():
    rng = np.random.default_rng(13)
    X = rng.uniform(-1, 1, (40, 2))
    T = 10 * (X[:, :1] - 2 * X[:, 1:])
    net = pybp.Network([2, 8, 1], "identity", seed=0)
    before = net.params.copy()
    h = net.fit(X, T, loss="sse", optimizer=optim.SGD(50.0), epochs=5,
                batch_size=1, shuffle=False)
    assert h.stopped == "diverged" and h.epochs == 1
    assert not math.isfinite(h.loss[0])
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_finite_loss_but_overflowing_update_is_undone(backend, dtype,
                                                      momentum):
    """The loss of the epoch is finite (it is computed before the update),
    but the update overflows a weight to infinity: the end-of-epoch check
    of the parameters catches it, the epoch is undone and its (finite) loss
    recorded.  Per-sample plain SGD (the fused path) and with momentum."""
    big = 1e300 if dtype == "float64" else 1e30
    X = np.array([[big]], dtype=dtype)
    T = np.array([[1.0]], dtype=dtype)
    net = pybp.Network([1, 1], "identity", seed=0, dtype=dtype,
                       backend=backend)
    net.params[...] = 0
    before = net.params.copy()
    h = net.fit(X, T, loss="sse", optimizer=optim.SGD(1e10, momentum=momentum),
                epochs=3, batch_size=1, shuffle=False)
    assert h.stopped == "diverged" and h.epochs == 1
    assert h.loss == [1.0]
    np.testing.assert_array_equal(net.params, before)


# ---- validation hold-outs ----------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_validation_split_holds_out_the_last_rows(backend):
    net, X, T = _regression(n=20, backend=backend, seed=14)
    a, b = net.copy(), net.copy()
    h = a.fit(X, T, optimizer=optim.SGD(0.3), epochs=1, batch_size=3,
              seed=5, validation_split=0.25)
    # Trained on the first 15 rows (shuffled after the split, same stream):
    b.fit(X[:15], T[:15], optimizer=optim.SGD(0.3), epochs=1, batch_size=3,
          seed=5)
    np.testing.assert_array_equal(a.params, b.params)
    # Validated after the epoch on the last 5.
    assert len(h.val_loss) == 1
    assert h.val_loss[0] == pytest.approx(a.loss(X[15:], T[15:]), rel=1e-12)
    assert h.val_loss[0] != pytest.approx(net.loss(X[15:], T[15:]), rel=1e-9)


def test_validation_split_with_classification_metrics():
    rng = np.random.default_rng(15)
    X, T, labels = H.teacher_data(40, rng, n_in=4, n_out=3, hidden=5)
    net = pybp.Network([4, 6, 3], "tanh", "softmax", seed=0)
    h = net.fit(X, T, loss="cross_entropy", optimizer=optim.Adam(0.01),
                epochs=2, batch_size=8, seed=0, validation_split=0.2)
    assert len(h.val_loss) == len(h.metrics["val_accuracy"]) == 2
    assert h.metrics["val_accuracy"][-1] == pytest.approx(
        np.mean(net.classify(X[32:]) == labels[32:]))


@pytest.mark.parametrize("n, kwargs", [
    (20, dict(validation_split=0.2, validation_data="both")),
    (20, dict(validation_split=1.0)),
    (20, dict(validation_split=1.5)),
    (20, dict(validation_split=-0.1)),
    (10, dict(validation_split=0.99)),      # no training sample left
    (1, dict(validation_split=0.5)),        # one sample cannot be split
    (20, dict(validation_split=1e-17)),     # no validation sample left
], ids=["both", "one", "above-one", "negative", "no-train", "single-sample",
        "no-validation"])
def test_bad_validation_arguments(n, kwargs):
    net, X, T = _regression(n=n, seed=16)
    if kwargs.get("validation_data") == "both":
        kwargs["validation_data"] = (X[:3], T[:3])
    before = net.params.copy()
    with pytest.raises(ValueError):
        net.fit(X, T, epochs=1, **kwargs)
    np.testing.assert_array_equal(net.params, before)


def test_bad_validation_data():
    net, X, T = _regression(n=10, seed=17)
    with pytest.raises(ValueError):
        net.fit(X, T, validation_data=(X[:, :2], T))       # wrong width
    with pytest.raises(ValueError):
        net.fit(X, T, validation_data=(X, T[:5]))          # length mismatch
    with pytest.raises((TypeError, ValueError)):
        net.fit(X, T, validation_data=X)
