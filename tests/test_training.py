"""The Trainer: repeated and partial fits, determinism, backends agreeing,
sample weights, the History record and the progress output."""
import re

import numpy as np
import pytest

import pybp
from pybp import optim

import helpers_train as H  # tests/ is on sys.path (see conftest.py)

BACKENDS = H.BACKENDS

OPTIMIZERS = {
    "sgd": lambda: optim.SGD(0.2),
    "momentum": lambda: optim.SGD(0.1, momentum=0.9, weight_decay=0.01),
    "nesterov": lambda: optim.SGD(0.1, momentum=0.9, nesterov=True),
    "adam": lambda: optim.Adam(0.02, weight_decay=0.01),
    "rmsprop": lambda: optim.RMSprop(0.01),
    "adagrad": lambda: optim.Adagrad(0.1),
    "rprop": lambda: optim.Rprop(weight_decay=0.01),
    "quickprop": lambda: optim.Quickprop(),
}
STATEFUL = ["momentum", "adam", "rmsprop", "adagrad", "rprop", "quickprop"]


def _regression(n=24, seed=0, backend="c", sizes=(3, 5, 2), dtype="float64"):
    rng = np.random.default_rng(seed)
    X, T = H.small_regression(n, rng, n_in=sizes[0], n_out=sizes[-1])
    net = pybp.Network(list(sizes), "tanh", "sigmoid", seed=seed,
                       backend=backend, dtype=dtype)
    H.randomize_biases(net, rng, 0.2)
    return net, X, T


def _classification(n=30, seed=0, backend="c"):
    rng = np.random.default_rng(seed)
    X, T, labels = H.teacher_data(n, rng, n_in=4, n_out=3, hidden=5)
    net = pybp.Network([4, 6, 3], "tanh", "softmax", seed=seed,
                       backend=backend)
    return net, X, T, labels


# ---- repeated fits continue one run ----------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", STATEFUL)
def test_two_fits_equal_one_longer_fit(name, backend):
    """Same seed: fit(2 epochs) then fit(3 epochs) on one Trainer is the
    5-epoch fit, bit for bit -- the shuffling stream and the optimizer state
    both continue."""
    net, X, T = _regression(backend=backend, seed=1)
    a, b = net.copy(), net.copy()
    ta = pybp.Trainer(optimizer=OPTIMIZERS[name](), batch_size=4, seed=5)
    h1 = ta.fit(a, X, T, epochs=2)
    h2 = ta.fit(a, X, T, epochs=3)
    tb = pybp.Trainer(optimizer=OPTIMIZERS[name](), batch_size=4, seed=5)
    h = tb.fit(b, X, T, epochs=5)
    np.testing.assert_array_equal(a.params, b.params)
    assert h1.loss + h2.loss == h.loss
    assert (h1.epochs, h2.epochs) == (2, 3)


@pytest.mark.parametrize("name", ["momentum", "adam", "rprop", "quickprop"])
def test_fresh_trainers_lose_the_state(name):
    """The counter-test: the optimizer state is what made the two fits
    above continue -- two fresh Trainers (no shuffling, so the order is the
    same) do not reproduce the longer fit."""
    net, X, T = _regression(seed=2)
    a, b = net.copy(), net.copy()
    for epochs in (2, 3):
        pybp.Trainer(optimizer=OPTIMIZERS[name](), batch_size=4,
                     shuffle=False).fit(a, X, T, epochs=epochs)
    one = pybp.Trainer(optimizer=OPTIMIZERS[name](), batch_size=4,
                       shuffle=False)
    one.fit(b, X, T, epochs=2)
    one.fit(b, X, T, epochs=3)
    assert not np.allclose(a.params, b.params, rtol=0, atol=1e-8)


def test_trainer_rng_continues_across_fits():
    """A second fit does not replay the first fit's sample order."""
    net, X, T = _regression(seed=3)
    a, b = net.copy(), net.copy()
    trainer = pybp.Trainer(optimizer=optim.SGD(0.2), batch_size=1, seed=7)
    trainer.fit(a, X, T, epochs=1)
    after_first = a.params.copy()
    trainer.fit(a, X, T, epochs=1)
    # Replaying the first epoch's order from after_first:
    b.params[...] = after_first
    pybp.Trainer(optimizer=optim.SGD(0.2), batch_size=1, seed=7).fit(
        b, X, T, epochs=1)
    assert not np.allclose(a.params, b.params, rtol=0, atol=1e-10)


# ---- partial_fit ------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "adagrad"])
def test_partial_fit_chunks_equal_one_epoch(name, backend):
    """Chunks of 8, 12, 4 and 8 rows (multiples of batch_size 4) through
    partial_fit, shuffle=False, equal one epoch over the concatenation."""
    net, X, T = _regression(n=32, backend=backend, seed=4)
    a, b = net.copy(), net.copy()
    trainer = pybp.Trainer(optimizer=OPTIMIZERS[name](), batch_size=4,
                           shuffle=False)
    start, losses = 0, []
    for size in (8, 12, 4, 8):
        h = trainer.partial_fit(a, X[start:start + size], T[start:start + size])
        assert h.epochs == 1
        losses.append(h.loss[0] * size)
        start += size
    h = b.fit(X, T, optimizer=OPTIMIZERS[name](), epochs=1, batch_size=4,
              shuffle=False)
    np.testing.assert_array_equal(a.params, b.params)
    assert sum(losses) / 32 == pytest.approx(h.loss[0], rel=1e-12)


def test_partial_fit_from_memmap(tmp_path):
    """Out-of-core training: chunks sliced from read-only numpy memmaps give
    exactly what the same chunks give from memory; float32 files feed a
    float64 network."""
    net, X, T = _regression(n=40, seed=5)
    for dtype in (np.float64, np.float32):
        xf, tf = tmp_path / f"X_{dtype.__name__}.dat", tmp_path / f"T_{dtype.__name__}.dat"
        mx = np.memmap(xf, dtype=dtype, mode="w+", shape=X.shape)
        mt = np.memmap(tf, dtype=dtype, mode="w+", shape=T.shape)
        mx[:], mt[:] = X, T
        mx.flush()
        mt.flush()
        del mx, mt
        mx = np.memmap(xf, dtype=dtype, mode="r", shape=X.shape)
        mt = np.memmap(tf, dtype=dtype, mode="r", shape=T.shape)
        a, b = net.copy(), net.copy()
        ta = pybp.Trainer(optimizer=optim.Adam(0.01), batch_size=5,
                          shuffle=True, seed=0)
        tb = pybp.Trainer(optimizer=optim.Adam(0.01), batch_size=5,
                          shuffle=True, seed=0)
        Xm, Tm = X.astype(dtype), T.astype(dtype)
        for start in range(0, 40, 10):
            ta.partial_fit(a, mx[start:start + 10], mt[start:start + 10])
            tb.partial_fit(b, Xm[start:start + 10], Tm[start:start + 10])
        np.testing.assert_array_equal(a.params, b.params)
        assert not np.array_equal(a.params, net.params)
        np.testing.assert_array_equal(np.asarray(mx), Xm)   # left untouched


def test_trainer_refuses_another_network():
    net, X, T = _regression(seed=6)
    trainer = pybp.Trainer(optimizer=optim.Adam(0.01), batch_size=4)
    trainer.fit(net, X, T, epochs=1)
    other = pybp.Network([3, 6, 2], "tanh", "sigmoid", seed=0)
    assert other.n_params != net.n_params
    with pytest.raises(ValueError):
        trainer.fit(other, X, T, epochs=1)
    with pytest.raises(ValueError):
        trainer.partial_fit(other, X, T)
    single32 = pybp.Network([3, 5, 2], "tanh", "sigmoid", dtype="float32")
    with pytest.raises(ValueError):
        trainer.fit(single32, X, T, epochs=1)
    # The network it was made for still trains with it.
    trainer.fit(net, X, T, epochs=1)


# ---- determinism and the two backends ----------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_same_seed_same_weights(backend):
    net, X, T = _regression(backend=backend, seed=7)
    runs = []
    for _ in range(2):
        n = pybp.Network([3, 5, 2], "tanh", "sigmoid", seed=7, backend=backend)
        n.fit(X, T, optimizer=optim.SGD(0.1, momentum=0.5), epochs=3,
              batch_size=3, seed=11)
        runs.append(n.params.copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    other = pybp.Network([3, 5, 2], "tanh", "sigmoid", seed=7, backend=backend)
    other.fit(X, T, optimizer=optim.SGD(0.1, momentum=0.5), epochs=3,
              batch_size=3, seed=12)
    assert not np.array_equal(other.params, runs[0])


def test_numpy_generator_seed():
    net, X, T = _regression(seed=8)
    a, b = net.copy(), net.copy()
    a.fit(X, T, epochs=2, seed=np.random.default_rng(3))
    b.fit(X, T, epochs=2, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(a.params, b.params)


@pytest.mark.parametrize("backend", BACKENDS)
def test_seed_none_draws_fresh_orders(backend):
    net, X, T = _regression(backend=backend, seed=9)
    results = []
    for _ in range(2):
        n = net.copy()
        n.fit(X, T, optimizer=optim.SGD(0.3), epochs=1, batch_size=1)
        results.append(n.params.copy())
    # 24! orders: two equal draws would be a broken random stream.
    assert not np.array_equal(results[0], results[1])
    a, b = net.copy(), net.copy()
    pybp.Trainer(batch_size=1).fit(a, X, T)
    pybp.Trainer(batch_size=1).fit(b, X, T)
    assert not np.array_equal(a.params, b.params)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_c_and_python_backends_agree(name):
    """Same seed, same numbers: the C and pure-Python backends follow the
    same sample order and arithmetic (float64, rel <= 1e-9)."""
    net, X, T = _regression(n=20, seed=10)
    c, py = net.copy(backend="c"), net.copy(backend="python")
    hc = c.fit(X, T, optimizer=OPTIMIZERS[name](), epochs=3, batch_size=3,
               seed=4)
    hp = py.fit(X, T, optimizer=OPTIMIZERS[name](), epochs=3, batch_size=3,
                seed=4)
    scale = np.max(np.abs(c.params))
    np.testing.assert_allclose(py.params, c.params, rtol=0, atol=1e-9 * scale)
    np.testing.assert_allclose(hp.loss, hc.loss, rtol=1e-9)
    assert not np.allclose(c.params, net.params)


@pytest.mark.parametrize("name", ["momentum", "adam", "rprop"])
def test_backends_agree_on_classification_with_weights_and_validation(name):
    net, X, T, _ = _classification(n=24, seed=11)
    w = np.random.default_rng(0).uniform(0.2, 2.0, len(X))
    c, py = net.copy(backend="c"), net.copy(backend="python")
    kwargs = dict(loss="cross_entropy", optimizer=OPTIMIZERS[name](), epochs=3,
                  batch_size=5, seed=2, sample_weight=w, validation_split=0.25,
                  train_biases=False)
    hc, hp = c.fit(X, T, **kwargs), py.fit(X, T, **kwargs)
    np.testing.assert_allclose(py.params, c.params, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(hp.loss, hc.loss, rtol=1e-9)
    np.testing.assert_allclose(hp.val_loss, hc.val_loss, rtol=1e-9)
    assert hp.accuracy == pytest.approx(hc.accuracy, rel=1e-12)
    assert hp.val_accuracy == pytest.approx(hc.val_accuracy, rel=1e-12)
    # train_biases=False: the biases stayed at their initial zeros.
    for b in c.biases:
        assert not b.any()


# ---- History.loss is the loss over the batches as seen ------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_epoch_loss_is_mean_over_batches_as_seen(backend):
    """Mini-batch SGD in order, batches of 4 out of 12: the epoch's loss is
    the mean of each batch's loss before its update (replayed here with the
    reference optimizer)."""
    net, X, T = _regression(n=12, backend=backend, seed=12)
    ref, mask = H.RefSGD(0.5, momentum=0.5), H.weight_mask(net)
    work, w = net.copy(), net.params.copy()
    expected_losses = []
    for _ in range(2):
        batch_losses = []
        for s in range(0, 12, 4):
            work.params[...] = w
            batch_losses.append(work.loss(X[s:s + 4], T[s:s + 4]))
            w = ref.step(w, work.gradients(X[s:s + 4], T[s:s + 4]).params.copy(),
                         mask)
        expected_losses.append(np.mean(batch_losses))
    h = net.fit(X, T, optimizer=optim.SGD(0.5, momentum=0.5), epochs=2,
                batch_size=4, shuffle=False)
    assert h.loss == pytest.approx(expected_losses, rel=1e-12)
    np.testing.assert_allclose(net.params, w, rtol=0, atol=1e-12)


# ---- sample weights ------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["momentum", "adam", "rprop"])
def test_integer_weights_equal_duplicated_samples(name, backend):
    net, X, T = _regression(n=10, backend=backend, seed=13)
    w = np.array([1, 3, 2, 1, 1, 4, 2, 1, 3, 1])
    Xd, Td = np.repeat(X, w, axis=0), np.repeat(T, w, axis=0)
    a, b = net.copy(), net.copy()
    ha = a.fit(X, T, sample_weight=w, optimizer=OPTIMIZERS[name](), epochs=4,
               batch_size=len(X), shuffle=False)
    hb = b.fit(Xd, Td, optimizer=OPTIMIZERS[name](), epochs=4,
               batch_size=len(Xd), shuffle=False)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-11, atol=1e-13)
    assert ha.loss == pytest.approx(hb.loss, rel=1e-12)
    # The weights mattered (an unweighted fit differs).
    c = net.copy()
    c.fit(X, T, optimizer=OPTIMIZERS[name](), epochs=4, batch_size=len(X),
          shuffle=False)
    assert not np.allclose(c.params, a.params, rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_weight_removes_a_sample(backend):
    net, X, T = _regression(n=10, backend=backend, seed=14)
    w = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    keep = w > 0
    a, b = net.copy(), net.copy()
    ha = a.fit(X, T, sample_weight=w, optimizer=optim.Adam(0.05), epochs=3,
               batch_size=len(X), shuffle=False)
    hb = b.fit(X[keep], T[keep], optimizer=optim.Adam(0.05), epochs=3,
               batch_size=int(keep.sum()), shuffle=False)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-11, atol=1e-13)
    assert ha.loss == pytest.approx(hb.loss, rel=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_loss_evaluate_and_gradients_honour_weights(backend):
    net, X, T, labels = _classification(n=20, seed=15, backend=backend)
    w = np.random.default_rng(1).uniform(0.0, 3.0, len(X))
    O = net.predict(X)
    per_sample = -np.sum(T * np.log(O), axis=1)
    expected = np.sum(w * per_sample) / np.sum(w)
    assert net.loss(X, T, loss="cross_entropy", sample_weight=w) == \
        pytest.approx(expected, rel=1e-10)
    assert net.loss(X, T, loss="cross_entropy") == \
        pytest.approx(per_sample.mean(), rel=1e-10)
    right = np.argmax(O, axis=1) == labels
    assert 0 < right.sum() < len(X)      # else accuracy weighting is untested
    ev = net.evaluate(X, T, loss="cross_entropy", sample_weight=w)
    assert ev["accuracy"] == pytest.approx(np.sum(w * right) / np.sum(w))
    assert ev["loss"] == pytest.approx(expected, rel=1e-10)
    # Half-sse with weights 2 and 1 is the loss over a duplicated row.
    half = 0.5 * np.sum((O - T) ** 2, axis=1)
    w2 = np.where(np.arange(len(X)) % 2 == 0, 2.0, 1.0)
    assert net.loss(X, T, sample_weight=w2) == \
        pytest.approx(np.sum(w2 * half) / np.sum(w2), rel=1e-10)
    Xd = np.repeat(X, w2.astype(int), axis=0)
    Td = np.repeat(T, w2.astype(int), axis=0)
    np.testing.assert_allclose(net.gradients(X, T, sample_weight=w2).params,
                               net.gradients(Xd, Td).params, rtol=1e-10,
                               atol=1e-14)


@pytest.mark.parametrize("bad", [
    np.array([1.0, -1.0] + [1.0] * 8),          # negative
    np.ones(9),                                  # too short
    np.ones(11),                                 # too long
    np.zeros(10),                                # all zero
    np.array([1.0, np.nan] + [1.0] * 8),        # NaN
    np.array([1.0, np.inf] + [1.0] * 8),        # infinite
    np.ones((10, 1)),                            # not 1-D
], ids=["negative", "short", "long", "all-zero", "nan", "inf", "2d"])
def test_bad_sample_weight_raises(bad):
    net, X, T = _regression(n=10, seed=16)
    before = net.params.copy()
    with pytest.raises(ValueError):
        net.fit(X, T, sample_weight=bad)
    with pytest.raises(ValueError):
        pybp.Trainer().partial_fit(net, X, T, sample_weight=bad)
    with pytest.raises(ValueError):
        net.loss(X, T, sample_weight=bad)
    with pytest.raises(ValueError):
        net.evaluate(X, T, sample_weight=bad)
    np.testing.assert_array_equal(net.params, before)


# ---- History --------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_history_lengths_and_classification_metrics(backend):
    net, X, T, labels = _classification(n=30, seed=17, backend=backend)
    acc0 = np.mean(net.classify(X) == labels)
    loss0 = net.loss(X, T, loss="cross_entropy")
    h = net.fit(X, T, loss="cross_entropy", optimizer=optim.Rprop(), epochs=4,
                batch_size=7)
    assert len(h.loss) == len(h.lr) == len(h.seconds) == h.epochs == 4
    assert all(s >= 0 for s in h.seconds)
    assert h.val_loss == []
    assert "accuracy" in h.metrics and "val_accuracy" not in h.metrics
    assert len(h.metrics["accuracy"]) == 4
    # Full batch (Rprop): the first epoch sees the initial network.
    assert h.metrics["accuracy"][0] == pytest.approx(acc0)
    assert h.loss[0] == pytest.approx(loss0, rel=1e-12)
    assert all(0.0 <= a <= 1.0 for a in h.metrics["accuracy"])


def test_history_with_validation_data():
    net, X, T, labels = _classification(n=40, seed=18)
    Xv, Tv, lv = H.teacher_data(15, np.random.default_rng(99), n_in=4,
                                n_out=3, hidden=5)
    h = net.fit(X, T, loss="cross_entropy", optimizer=optim.Adam(0.01),
                epochs=3, batch_size=8, seed=0, validation_data=(Xv, Tv))
    assert len(h.val_loss) == 3
    assert len(h.metrics["val_accuracy"]) == 3
    # After the last epoch, val_* describe the final network.
    assert h.val_loss[-1] == pytest.approx(
        net.loss(Xv, Tv, loss="cross_entropy"), rel=1e-12)
    assert h.metrics["val_accuracy"][-1] == pytest.approx(
        np.mean(net.classify(Xv) == lv))


@pytest.mark.parametrize("targets, net_args, metric", [
    (lambda X: (X[:, :1] * X[:, 1:2] > 0).astype(float), ("tanh", "sigmoid"),
     "threshold-0.5"),
    (lambda X: np.where(X[:, :1] > 0, 1.0, -1.0), ("tanh", "tanh"),
     "threshold-0"),
    (lambda X: 0.5 + 0.3 * np.sin(X[:, :1]), ("tanh", "sigmoid"), None),
], ids=["zero-one", "minus-one-one", "regression"])
def test_accuracy_only_for_classification_targets(targets, net_args, metric):
    rng = np.random.default_rng(19)
    X = rng.normal(size=(25, 2))
    T = targets(X)
    net = pybp.Network([2, 4, 1], *net_args, seed=1)
    O0 = net.predict(X)
    h = net.fit(X, T, optimizer=optim.Rprop(), epochs=2, batch_size=25)
    ev = net.evaluate(X, T)
    assert set(ev) == {"loss", "accuracy"}
    if metric is None:
        assert "accuracy" not in h.metrics and h.accuracy == []
        assert ev["accuracy"] is None
        return
    thr = 0.5 if metric == "threshold-0.5" else 0.0
    assert h.metrics["accuracy"][0] == pytest.approx(
        np.mean((O0 >= thr) == (T >= thr)))
    assert ev["accuracy"] == pytest.approx(
        np.mean((net.predict(X) >= thr) == (T >= thr)))


def test_evaluate_matches_loss_and_own_accuracy():
    net, X, T, labels = _classification(n=30, seed=20)
    net.fit(X, T, loss="cross_entropy", optimizer=optim.Adam(0.02), epochs=5,
            batch_size=5, seed=0)
    ev = net.evaluate(X, T, loss="cross_entropy")
    assert set(ev) == {"loss", "accuracy"}
    assert ev["loss"] == pytest.approx(net.loss(X, T, loss="cross_entropy"),
                                       rel=1e-12)
    assert ev["accuracy"] == pytest.approx(np.mean(net.classify(X) == labels))
    assert isinstance(ev["loss"], float)


# ---- progress output --------------------------------------------------------

def _numbers_after_loss(text):
    """The numbers printed after the word "loss" (not "val_loss")."""
    return [float(m) for m in re.findall(
        r"(?<![a-z_])loss\W{0,3}([-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?)", text)]


def test_verbose_writes_progress_with_the_loss(capsys):
    net, X, T = _regression(seed=21)
    h = net.fit(X, T, optimizer=optim.SGD(0.3), epochs=3, batch_size=4,
                seed=0, verbose=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "loss" in err
    values = _numbers_after_loss(err)
    assert values, err
    assert any(v == pytest.approx(h.loss[-1], rel=1e-3) for v in values), err


def test_silent_by_default(capsys):
    net, X, T = _regression(seed=22)
    net.fit(X, T, optimizer=optim.SGD(0.3), epochs=3, batch_size=4, seed=0)
    pybp.Trainer(batch_size=4).partial_fit(net, X, T)
    net.evaluate(X, T)
    out, err = capsys.readouterr()
    assert out == "" and err == ""
