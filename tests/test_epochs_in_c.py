"""Epochs in C (pybp_train_epochs), the sample-order generator shared by
both backends (csrc/shuffle.h, pybp._pycore.shuffle) and the fused
per-sample SGD path.

The chunked path must give the per-epoch loop's results bit for bit: the
same History (but seconds), parameters, optimizer state, counters and random
stream, whatever the chunk length.
"""
import math
import pickle
import signal
import threading

import numpy as np
import pytest

import pybp
from pybp import _core, _pycore, train
from pybp.optim import (SGD, Adagrad, Adam, ExponentialDecay, InverseScaling,
                        Quickprop, RMSprop, Rprop, StepDecay)

import helpers_train as H  # tests/ is on sys.path (see conftest.py)

DTYPES = ["float64", "float32"]


# ---- the generator -------------------------------------------------------

def test_splitmix64_reference_outputs():
    """The first outputs of SplitMix64 from state 1234567, as in Vigna's
    reference splitmix64.c."""
    state, outs = 1234567, []
    for _ in range(3):
        state, x = _pycore.rng_next(state)
        outs.append(x)
    assert outs == [6457827717110365317, 3203168211198807973,
                    9817491932198370423]


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 100, 1000])
@pytest.mark.parametrize("seed", [0, 1, 2 ** 63, 2 ** 64 - 1, 987654321])
def test_c_and_python_shuffles_agree(n, seed):
    order = np.empty(n, dtype=np.int64)
    c_state = _core.shuffle(seed, order)
    py_state, py_order = _pycore.shuffle(seed, n)
    assert c_state == py_state
    assert order.tolist() == py_order
    assert sorted(py_order) == list(range(n))


def test_backends_shuffle_alike():
    from pybp import _backend
    for seed in (3, 2 ** 64 - 2):
        sc, oc = _backend.CBackend.shuffle(seed, 50)
        sp, op = _backend.PyBackend.shuffle(seed, 50)
        assert sc == sp and np.array_equal(oc, op) and oc.dtype == np.int64


def test_bounded_draw_is_unbiased_and_in_range():
    # A bound just above 2**63 rejects almost half the draws: the loop runs.
    bound = 2 ** 63 + 12345
    state = 5
    for _ in range(200):
        state, j = _pycore.rng_below(state, bound)
        assert 0 <= j < bound
    # All 6 orders of 3 samples, about equally often.
    counts = {}
    for seed in range(6000):
        _, order = _pycore.shuffle(seed, 3)
        counts[tuple(order)] = counts.get(tuple(order), 0) + 1
    assert len(counts) == 6
    assert all(850 < c < 1150 for c in counts.values()), counts


def test_shuffle_rejects_bad_state():
    with pytest.raises(OverflowError):
        _core.shuffle(-1, np.empty(3, dtype=np.int64))
    with pytest.raises(OverflowError):
        _core.shuffle(2 ** 64, np.empty(3, dtype=np.int64))


# ---- chunked == per-epoch ---------------------------------------------------

def _data(dtype, n=13, n_in=3, n_out=2, kind="regression"):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(n, n_in)).astype(dtype)
    if kind == "onehot":
        T = np.eye(n_out, dtype=dtype)[rng.integers(0, n_out, n)]
    else:
        T = rng.uniform(0.1, 0.9, (n, n_out)).astype(dtype)
    return X, T


def _fit_both(make_net, X, T, epochs, chunk=3, trainer_kw=None,
              fit_kw=None, fits=2):
    """Fit twice on one Trainer (fits times), per-epoch and chunked; returns
    both (net, trainer, histories)."""
    results = []
    for chunked in (False, True):
        old = train.CHUNKED, train.EPOCH_CHUNK
        train.CHUNKED, train.EPOCH_CHUNK = chunked, chunk
        try:
            net = make_net()
            trainer = pybp.Trainer(**(trainer_kw or {}))
            hs = [trainer.fit(net, X, T, epochs=epochs, **(fit_kw or {}))
                  for _ in range(fits)]
        finally:
            train.CHUNKED, train.EPOCH_CHUNK = old
        results.append((net, trainer, hs))
    return results


def _same(a, b):
    (na, ta, ha), (nb, tb, hb) = a, b
    assert na.params.tobytes() == nb.params.tobytes()
    if ta._state is not None:
        assert ta._state.tobytes() == tb._state.tobytes()
    assert (ta._step, ta.epochs_done, ta.samples_seen) == \
        (tb._step, tb.epochs_done, tb.samples_seen)
    assert ta._rng.bit_generator.state == tb._rng.bit_generator.state
    for x, y in zip(ha, hb):
        assert x.stopped == y.stopped
        np.testing.assert_array_equal(x.loss, y.loss)   # NaN == NaN here
        assert x.lr == y.lr
        assert x.metrics.keys() == y.metrics.keys()
        for k in x.metrics:
            np.testing.assert_array_equal(x.metrics[k], y.metrics[k])
        assert len(x.seconds) == len(y.seconds) == x.epochs
        assert x.val_loss == y.val_loss == []


OPTIMIZERS = [
    lambda: SGD(0.3),
    lambda: SGD(0.2, momentum=0.6),
    lambda: SGD(0.2, momentum=0.6, nesterov=True, weight_decay=1e-3),
    lambda: SGD(0.3, weight_decay=1e-2),
    lambda: Adam(0.01),
    lambda: RMSprop(0.01),
    lambda: Adagrad(0.1),
    lambda: Rprop(),
    lambda: Quickprop(0.1),
    lambda: SGD(StepDecay(0.5, step_size=2, gamma=0.5)),
    lambda: SGD(ExponentialDecay(0.5, gamma=0.9)),
    lambda: SGD(InverseScaling(0.5, power_t=0.3)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("make_opt", OPTIMIZERS)
@pytest.mark.parametrize("batch", [1, 4, 13])
@pytest.mark.parametrize("shuffle", [True, False])
def test_chunked_equals_per_epoch(dtype, make_opt, batch, shuffle):
    X, T = _data(dtype)
    a, b = _fit_both(lambda: pybp.Network([3, 4, 2], seed=1, dtype=dtype),
                     X, T, epochs=7,
                     trainer_kw=dict(optimizer=make_opt(), batch_size=batch,
                                     shuffle=shuffle, seed=11))
    _same(a, b)
    assert b[2][0].stopped == "max_epochs" and b[2][0].epochs == 7


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act,out,loss", [
    ("sigmoid", "sigmoid", "half_sse"), ("tanh", "identity", "sse"),
    ("relu", "softmax", "cross_entropy"), ("leaky_relu", "tanh", "mse"),
    ("sigmoid", "sigmoid", "binary_cross_entropy"),
    ("identity", "softmax", "half_sse")])
@pytest.mark.parametrize("train_biases", [True, False])
@pytest.mark.parametrize("chunk", [3, 4096])
def test_chunked_equals_per_epoch_losses(dtype, act, out, loss, train_biases,
                                         chunk):
    X, T = _data(dtype, kind="onehot" if out == "softmax" else "regression")
    w = np.linspace(0, 2, len(X)).astype(dtype)  # one weight is zero
    a, b = _fit_both(
        lambda: pybp.Network([3, 5, 2], act, out, seed=2, dtype=dtype),
        X, T, epochs=5 if chunk == 3 else 40, chunk=chunk,
        trainer_kw=dict(loss=loss, optimizer=SGD(0.2), seed=3,
                        train_biases=train_biases),
        fit_kw=dict(sample_weight=w))
    _same(a, b)


@pytest.mark.parametrize("dtype", DTYPES)
def test_chunked_target_loss(dtype):
    X, T = _data(dtype)
    free = pybp.Network([3, 4, 2], seed=1, dtype=dtype).fit(
        X, T, optimizer=SGD(0.5), seed=4, epochs=40)
    target = min(free.loss[:20])
    a, b = _fit_both(lambda: pybp.Network([3, 4, 2], seed=1, dtype=dtype),
                     X, T, epochs=200,
                     trainer_kw=dict(optimizer=SGD(0.5), seed=4,
                                     target_loss=target), fits=1)
    _same(a, b)
    h = b[2][0]
    assert h.stopped == "target_loss" and 1 < h.epochs <= 20
    assert h.loss == free.loss[:h.epochs]
    assert h.loss[-1] <= target < min(h.loss[:-1])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("restore_best", [True, False])
def test_chunked_patience(dtype, restore_best):
    X, T = _data(dtype)
    # Noisy Adam with a large rate stops improving quickly.
    a, b = _fit_both(lambda: pybp.Network([3, 4, 2], seed=1, dtype=dtype),
                     X, T, epochs=300,
                     trainer_kw=dict(optimizer=Adam(0.3), seed=5, patience=4,
                                     min_delta=1e-3,
                                     restore_best=restore_best), fits=1)
    _same(a, b)
    h = b[2][0]
    assert h.stopped == "no_improvement" and h.epochs < 300
    # The rule, replayed: stop when 4 epochs in a row missed best - min_delta.
    best, wait, best_epoch = math.inf, 0, None
    for e, loss in enumerate(h.loss):
        if loss < best - 1e-3:
            best, wait, best_epoch = loss, 0, e
        else:
            wait += 1
        if wait >= 4:
            break
    assert e == h.epochs - 1
    # restore_best: the parameters after the best epoch are back (the same
    # fit stopped there); otherwise those after the last epoch.
    upto = best_epoch + 1 if restore_best else h.epochs
    ref = pybp.Network([3, 4, 2], seed=1, dtype=dtype)
    pybp.Trainer(optimizer=Adam(0.3), seed=5).fit(ref, X, T, epochs=upto)
    assert ref.params.tobytes() == b[0].params.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("chunk", [3, 4096])
def test_chunked_divergence_undone(dtype, chunk):
    X, T = _data(dtype)
    T = T * 1e3
    a, b = _fit_both(
        lambda: pybp.Network([3, 8, 2], "relu", "identity", seed=1,
                             dtype=dtype),
        X, T, epochs=500, chunk=chunk,
        trainer_kw=dict(optimizer=SGD(5.0), loss="sse", seed=6), fits=1)
    _same(a, b)
    h = b[2][0]
    assert h.stopped == "diverged"
    assert np.isfinite(b[0].params).all()
    # The diverged epoch is recorded but not counted as done.
    assert b[1].epochs_done == h.epochs - 1


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("rule", ["target", "patience", "restore_best",
                                  "diverged"])
@pytest.mark.parametrize("chunk", [3, 4096])
def test_tiny_net_chunked_stopping_rules(dtype, rule, chunk):
    """Per-sample plain SGD of a tiny net of 32 weights or more runs, in the
    fast set's AVX variants, on a packed copy of the parameters
    (docs/kernels.md): the backup and undo of a diverged epoch, the best
    epoch's parameters kept for restore_best and the parameters left at
    every stop are the same as epoch by epoch, bit for bit."""
    X, T = _data(dtype, n=11, n_in=3, n_out=4)
    sizes = [3, 8, 4]                 # 56 weights
    kw = dict(optimizer=SGD(0.5), seed=4)
    acts = ("sigmoid", "sigmoid")
    if rule == "target":
        free = pybp.Network(sizes, *acts, seed=1, dtype=dtype).fit(
            X, T, seed=4, optimizer=SGD(0.5), epochs=40)
        kw.update(target_loss=min(free.loss[:20]))
    elif rule in ("patience", "restore_best"):
        kw.update(optimizer=SGD(2.0), patience=3, min_delta=1e-2,
                  restore_best=rule == "restore_best")
    else:
        T = T * 1e3
        acts = ("relu", "identity")
        kw.update(optimizer=SGD(5.0), loss="sse")
    a, b = _fit_both(lambda: pybp.Network(sizes, *acts, seed=1, dtype=dtype),
                     X, T, epochs=400, chunk=chunk, trainer_kw=kw, fits=1)
    _same(a, b)
    h = b[2][0]
    assert h.stopped == {"target": "target_loss", "patience": "no_improvement",
                         "restore_best": "no_improvement",
                         "diverged": "diverged"}[rule]
    assert np.isfinite(b[0].params).all()
    if rule == "restore_best":
        # the rule's best: the last epoch that beat the best by min_delta
        best_loss, best = math.inf, None
        for e, loss in enumerate(h.loss):
            if loss < best_loss - 1e-2:
                best_loss, best = loss, e
        assert best < h.epochs - 1     # the best epoch is not the last
        ref = pybp.Network(sizes, *acts, seed=1, dtype=dtype)
        pybp.Trainer(optimizer=SGD(2.0), seed=4).fit(ref, X, T,
                                                     epochs=best + 1)
        assert ref.params.tobytes() == b[0].params.tobytes()


def test_worked_example_chunked_matches_design():
    """DESIGN.md's worked example: one step of SGD(0.5) on seed 002's net."""
    net = pybp.Network.from_params(
        [2, 2, 2], ["sigmoid", "sigmoid"],
        np.array([0.15, 0.20, 0.25, 0.30, 0.35, 0.35,
                  0.40, 0.45, 0.50, 0.55, 0.60, 0.60]))
    X, T = np.array([[0.05, 0.10]]), np.array([[0.01, 0.99]])
    long = net.copy()
    h = net.fit(X, T, optimizer=SGD(0.5), epochs=1, train_biases=False)
    assert round(h.loss[0], 9) == 0.298371109
    np.testing.assert_allclose(net.weights[1].ravel(),
                               [0.35891648, 0.408666186, 0.511301270,
                                0.561370121], rtol=0, atol=5e-10)
    np.testing.assert_allclose(net.weights[0].ravel(),
                               [0.149780716, 0.19956143, 0.24975114,
                                0.29950229], rtol=0, atol=5e-9)
    assert round(net.loss(X, T), 8) == 0.29102777
    # 10,000 steps in three C calls: error about 3.51e-05.
    h = long.fit(X, T, optimizer=SGD(0.5), epochs=10000, train_biases=False)
    assert h.epochs == 10000 and round(long.loss(X, T), 7) == 3.51e-05
    np.testing.assert_allclose(long.predict(X[0]), [0.0159, 0.9841],
                               atol=5e-5)


def test_chunked_rate_refused_midway():
    """A schedule whose rate underflows to 0 at epoch 6: the first six
    epochs run and are kept, then ValueError, on both paths alike."""
    X, T = _data("float64")
    for chunked in (False, True):
        train.CHUNKED = chunked
        try:
            sched = StepDecay(0.5, step_size=3, gamma=1e-200)
            net = pybp.Network([3, 4, 2], seed=1)
            trainer = pybp.Trainer(optimizer=SGD(sched), seed=2)
            with pytest.raises(ValueError, match="schedule"):
                trainer.fit(net, X, T, epochs=10)
            assert trainer.epochs_done == 6
        finally:
            train.CHUNKED = True


def test_chunked_max_seconds():
    X, T = _data("float64", n=4)
    net = pybp.Network([3, 4, 2], seed=1)
    h = net.fit(X, T, epochs=10 ** 9, max_seconds=0.2, seed=1)
    assert h.stopped == "max_seconds"
    assert 10 < h.epochs < 10 ** 9
    assert len(h.loss) == len(h.lr) == len(h.seconds) == h.epochs
    assert np.isfinite(net.params).all()


@pytest.mark.skipif(not hasattr(signal, "raise_signal"),
                    reason="needs signal.raise_signal")
def test_chunked_ctrl_c():
    X, T = _data("float64", n=4)
    net = pybp.Network([3, 4, 2], seed=1)
    fired = []
    thread, stop = H.sigint_when_fit_listens(0.2, fired)
    try:
        h = net.fit(X, T, epochs=10 ** 7, seed=1)
    finally:
        stop.set()
        thread.join()
    assert fired, "fit ended before the signal was sent"
    assert h.stopped == "interrupted"
    assert 10 < h.epochs < 10 ** 7
    assert np.isfinite(net.params).all()


@pytest.mark.skipif(not hasattr(signal, "raise_signal"),
                    reason="needs signal.raise_signal")
def test_chunked_foreign_sigint_handler():
    """A SIGINT handler of the user's that raises KeyboardInterrupt: inside
    an epoch, that epoch is undone and recorded with a NaN loss, as by the
    per-epoch loop; between epochs it propagates out of fit."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    X, T = _data("float64", n=4)
    net = pybp.Network([3, 4, 2], seed=1)
    trainer = pybp.Trainer(seed=1)
    previous = signal.signal(signal.SIGINT, handler)
    timer = threading.Timer(0.2, signal.raise_signal, (signal.SIGINT,))
    timer.start()
    try:
        h = trainer.fit(net, X, T, epochs=10 ** 7)
    except KeyboardInterrupt:
        h = None
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)
    assert np.isfinite(net.params).all()
    if h is not None:
        assert h.stopped == "interrupted" and math.isnan(h.loss[-1])
        assert trainer.epochs_done == h.epochs
        assert len(h.loss) == len(h.lr) == len(h.seconds) == h.epochs
    else:
        assert trainer.epochs_done > 0


def test_chunked_path_is_taken_and_callbacks_still_run():
    """The chunked path is taken without callbacks (it records the same
    seconds for every epoch of one call); with a callback the per-epoch loop
    runs it after every epoch, with the same numbers."""
    X, T = _data("float64")
    net = pybp.Network([3, 4, 2], seed=1)
    other = net.copy()
    h = net.fit(X, T, epochs=6, seed=1)
    assert len(set(h.seconds)) == 1
    seen = []
    h2 = other.fit(X, T, epochs=6, seed=1,
                        callbacks=lambda n, hist: seen.append(hist.epochs))
    assert seen == [1, 2, 3, 4, 5, 6]
    # Same numbers on both paths.
    assert h.loss == h2.loss


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [1, 5])
def test_c_chunked_equals_python_backend(dtype, batch):
    """Same seed, same orders, on both backends: float64 bit for bit on the
    exact kernels, float32 to float32 rounding."""
    X, T = _data(dtype)
    kernels = getattr(pybp, "get_kernels", lambda: None)()
    if kernels is not None:
        pybp.set_kernels("exact")
    try:
        c = pybp.Network([3, 4, 2], seed=1, dtype=dtype)
        p = c.copy(backend="python")
        hc = c.fit(X, T, optimizer=SGD(0.3), epochs=4, batch_size=batch,
                   seed=9)
        hp = p.fit(X, T, optimizer=SGD(0.3), epochs=4, batch_size=batch,
                   seed=9)
    finally:
        if kernels is not None:
            pybp.set_kernels(kernels)
    if dtype == "float64":
        assert c.params.tobytes() == p.params.tobytes()
        assert hc.loss == hp.loss
    else:
        np.testing.assert_allclose(c.params, p.params, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(hc.loss, hp.loss, rtol=1e-4)


# ---- fused per-sample SGD -------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("act,out,loss", [
    ("sigmoid", "sigmoid", "half_sse"), ("tanh", "softmax", "cross_entropy"),
    ("relu", "identity", "mse")])
@pytest.mark.parametrize("decay", [0.0, 1e-2])
def test_fused_sgd_equals_unfused_steps(dtype, act, out, loss, decay):
    """Per-sample plain SGD (the fused path) equals, bit for bit, stepping
    sample by sample with the unfused gradient kernel:
    w -= lr * (g + decay * w) (no decay on biases)."""
    X, T = _data(dtype, kind="onehot" if out == "softmax" else "regression")
    lr = 0.2
    net = pybp.Network([3, 6, 4, 2], act, out, seed=3, dtype=dtype)
    ref = net.copy()
    net.fit(X, T, loss=loss, optimizer=SGD(lr, weight_decay=decay),
            epochs=2, shuffle=False)
    dt = np.dtype(dtype).type
    for _ in range(2):
        for k in range(len(X)):
            g = ref.gradients(X[k:k + 1], T[k:k + 1], loss=loss)
            for w, gw in zip(ref.weights, g.weights):
                w[...] = w - dt(lr) * (gw + dt(decay) * w)
            for b, gb in zip(ref.biases, g.biases):
                b[...] = b - dt(lr) * (gb + dt(0) * b)
    assert net.params.tobytes() == ref.params.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sizes,act,out,loss", [
    # the fast set's whole-step kernel (fast_kernels.h: sgd_sample) takes
    # the squared-error losses on a non-softmax output ...
    ([2, 2, 2], "sigmoid", "sigmoid", "half_sse"),
    ([2, 2, 1], "tanh", "sigmoid", "sse"),  # its sizes compiled in, too
    ([10, 4, 6, 8, 4], "sigmoid", "sigmoid", "half_sse"),
    ([5, 9, 3], "tanh", "identity", "sse"),
    ([4, 7, 1], "leaky_relu", "tanh", "mse"),
    ([3, 1, 5, 2], "relu", "leaky_relu", "sse"),
    ([40, 17, 9], "tanh", "sigmoid", "mse"),  # rows longer than a vector
    # ... and the shared driver the rest
    ([4, 6, 3], "sigmoid", "sigmoid", "binary_cross_entropy"),
    ([4, 6, 3], "relu", "softmax", "half_sse")])
@pytest.mark.parametrize("bias,train_biases,weighted", [
    (True, True, False), (True, True, True), (True, False, False),
    (False, True, True)])
def test_fused_sgd_every_shape_and_loss(dtype, sizes, act, out, loss, bias,
                                        train_biases, weighted):
    """The fused per-sample path, on nets of one to three hidden layers,
    every activation, both sides of the whole-step kernel's cases, with and
    without biases, frozen biases and sample weights, equals bit for bit
    stepping sample by sample with the unfused gradient kernel."""
    rng = np.random.default_rng(11)
    n = 9
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    if out == "softmax" or loss == "binary_cross_entropy":
        T = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], n)]
    else:
        T = rng.uniform(0.1, 0.9, (n, sizes[-1])).astype(dtype)
    sw = rng.uniform(0.2, 3.0, n).astype(dtype) if weighted else None
    lr, decay = 0.1, 1e-3
    net = pybp.Network(sizes, act, out, bias=bias, seed=5, dtype=dtype)
    ref = net.copy()
    h = net.fit(X, T, loss=loss, optimizer=SGD(lr, weight_decay=decay),
                epochs=2, shuffle=False, train_biases=train_biases,
                sample_weight=sw)
    dt = np.dtype(dtype).type
    losses = []
    for _ in range(2):
        total = 0.0
        for k in range(n):
            g = ref.gradients(X[k:k + 1], T[k:k + 1], loss=loss,
                              sample_weight=None if sw is None
                              else sw[k:k + 1])
            total += ref.loss(X[k:k + 1], T[k:k + 1], loss=loss) * (
                1.0 if sw is None else float(sw[k]))
            for w, gw in zip(ref.weights, g.weights):
                w[...] = w - dt(lr) * (gw + dt(decay) * w)
            if train_biases:
                for b, gb in zip(ref.biases, g.biases):
                    b[...] = b - dt(lr) * (gb + dt(0) * b)
        losses.append(total / (n if sw is None else float(sw.sum())))
    big = any(a * b >= 512 for a, b in zip(sizes[:-1], sizes[1:]))
    if weighted and big and pybp.get_kernels() == "fast":
        # gradients() of a layer of 512 weights or more is the fast set's
        # packed product, which scales by the sample weight in another
        # order than the fused step's exact loops (docs/kernels.md)
        np.testing.assert_allclose(net.params, ref.params, rtol=1e-5,
                                   atol=1e-6)
    else:
        assert net.params.tobytes() == ref.params.tobytes()
    np.testing.assert_allclose(h.loss, losses, rtol=1e-5 if dtype == "float32"
                               else 1e-12)


@pytest.mark.parametrize("dtype", DTYPES)
def test_history_from_array_chunks_and_short_chunks_in_order(dtype):
    """Chunks of 20 epochs reach History as arrays (made lists when first
    read), the last of 5 as lists: the lists are in epoch order and equal
    the per-epoch loop's, metrics included."""
    X, T = _data(dtype, kind="onehot")
    a, b = _fit_both(lambda: pybp.Network([3, 4, 2], "tanh", "softmax",
                                          seed=6, dtype=dtype),
                     X, T, epochs=45, chunk=20,
                     trainer_kw=dict(loss="cross_entropy",
                                     optimizer=SGD(StepDecay(0.4, 10, 0.5)),
                                     seed=8))
    _same(a, b)
    h = b[2][0]
    assert h.epochs == 45 and len(h.metrics["accuracy"]) == 45
    assert h.lr[:11] == [0.4] * 10 + [0.2]


def test_history_counts_pickles_and_assigns_before_being_read():
    X, T = _data("float64")
    net = pybp.Network([3, 4, 2], seed=1)
    h = net.fit(X, T, epochs=300, seed=2)
    assert h.epochs == 300                      # without making the lists
    clone = pickle.loads(pickle.dumps(h))
    assert clone.loss == h.loss and len(clone.loss) == 300
    assert clone.lr == h.lr and clone.seconds == h.seconds
    assert all(type(v) is float for v in h.loss)
    h2 = net.fit(X, T, epochs=50, seed=2)
    h2.loss = [1.0]                             # assigning replaces it all
    assert h2.loss == [1.0] and h2.epochs == 1
    assert len(h2.lr) == 50
    assert repr(h).startswith("History(300 epochs, loss ")


@pytest.mark.parametrize("dtype", DTYPES)
def test_history_arrays_outlive_the_reused_record(dtype):
    """The C loop writes every fit's record into one buffer kept per thread
    (pybp.train._records): a History's arrays, still unread, do not change
    when later fits, of another length and on other data, reuse it."""
    X, T = _data(dtype, kind="onehot")
    make = lambda: pybp.Network([3, 4, 2], "tanh", "softmax", seed=6,
                                dtype=dtype)
    kw = dict(loss="cross_entropy", optimizer=SGD(0.3), seed=5)
    old = train.CHUNKED
    train.CHUNKED = False
    try:
        ref = make().fit(X, T, epochs=60, **kw)
    finally:
        train.CHUNKED = old
    h = make().fit(X, T, epochs=60, **kw)
    assert h._pending                   # not yet made lists
    for epochs in (60, 25, 200):        # the same buffer, rewritten
        make().fit(X[::-1].copy(), T[::-1].copy(), epochs=epochs, **kw)
    assert h.loss == ref.loss
    assert h.metrics["accuracy"] == ref.metrics["accuracy"]


def test_record_buffer_is_per_thread_and_bounded():
    buffers = train._RecordBuffers()
    a = buffers.take(8)
    assert a.shape == (8,) and buffers.take(8) is not a   # a is held
    buffers.give(a)
    assert buffers.take(4) is a                  # kept, large enough
    assert buffers.take(4) is not a              # taken: a fresh one
    buffers.give(a)
    seen = []
    t = threading.Thread(target=lambda: seen.append(buffers.take(4)))
    t.start()
    t.join()
    assert seen[0] is not a                      # another thread's own
    big = np.empty(buffers.KEEP + 1)
    buffers.give(big)
    assert buffers.take(1) is a                  # too large to keep
    buffers.give(np.empty(2))                    # the smaller is not kept
    assert buffers.take(8) is not a and buffers.take(1).shape == (2,)
