"""pybp.train: the Trainer and History -- training learns, repeated and
partial fits continue one run, determinism, sample weights, the History
record and the progress output.  How a fit stops is in
test_train_stopping.py; C against Python in test_backends.py."""
import io
import re

import numpy as np
import pytest

import pybp
from pybp import optim

import helpers_train as H  # tests/ is on sys.path (see conftest.py)

BACKENDS = H.BACKENDS
STATEFUL = ["momentum", "adam", "rmsprop", "adagrad", "rprop", "quickprop"]


# ---- repeated fits continue one run ----------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", STATEFUL)
def test_two_fits_equal_one_longer_fit(name, backend):
    """Same seed: fit(2 epochs) then fit(3 epochs) on one Trainer is the
    5-epoch fit, bit for bit -- the shuffling stream and the optimizer state
    both continue."""
    net, X, T = H.regression_problem(backend=backend, seed=1)
    a, b = net.copy(), net.copy()
    ta = pybp.Trainer(optimizer=H.OPTIMIZERS[name](), batch_size=4, seed=5)
    h1 = ta.fit(a, X, T, epochs=2)
    h2 = ta.fit(a, X, T, epochs=3)
    tb = pybp.Trainer(optimizer=H.OPTIMIZERS[name](), batch_size=4, seed=5)
    h = tb.fit(b, X, T, epochs=5)
    np.testing.assert_array_equal(a.params, b.params)
    assert h1.loss + h2.loss == h.loss
    assert (h1.epochs, h2.epochs) == (2, 3)


@pytest.mark.parametrize("name", ["momentum", "adam", "rprop", "quickprop"])
def test_fresh_trainers_lose_the_state(name):
    """The counter-test: the optimizer state is what made the two fits
    above continue -- two fresh Trainers (no shuffling, so the order is the
    same) do not reproduce the longer fit."""
    net, X, T = H.regression_problem(seed=2)
    a, b = net.copy(), net.copy()
    for epochs in (2, 3):
        pybp.Trainer(optimizer=H.OPTIMIZERS[name](), batch_size=4,
                     shuffle=False).fit(a, X, T, epochs=epochs)
    one = pybp.Trainer(optimizer=H.OPTIMIZERS[name](), batch_size=4,
                       shuffle=False)
    one.fit(b, X, T, epochs=2)
    one.fit(b, X, T, epochs=3)
    assert not np.allclose(a.params, b.params, rtol=0, atol=1e-8)


def test_trainer_rng_continues_across_fits():
    """A second fit does not replay the first fit's sample order."""
    net, X, T = H.regression_problem(seed=3)
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
    net, X, T = H.regression_problem(n=32, backend=backend, seed=4)
    a, b = net.copy(), net.copy()
    trainer = pybp.Trainer(optimizer=H.OPTIMIZERS[name](), batch_size=4,
                           shuffle=False)
    start, losses = 0, []
    for size in (8, 12, 4, 8):
        h = trainer.partial_fit(a, X[start:start + size], T[start:start + size])
        assert h.epochs == 1
        losses.append(h.loss[0] * size)
        start += size
    h = b.fit(X, T, optimizer=H.OPTIMIZERS[name](), epochs=1, batch_size=4,
              shuffle=False)
    np.testing.assert_array_equal(a.params, b.params)
    assert sum(losses) / 32 == pytest.approx(h.loss[0], rel=1e-12)


def test_partial_fit_from_memmap(tmp_path):
    """Out-of-core training: chunks sliced from read-only numpy memmaps give
    exactly what the same chunks give from memory; float32 files feed a
    float64 network."""
    net, X, T = H.regression_problem(n=40, seed=5)
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
    """A Trainer's optimizer state belongs to one network: another size or
    dtype is refused, with both counts in the message, and left untouched."""
    net, X, T = H.regression_problem(seed=6)
    trainer = pybp.Trainer(optimizer=optim.Adam(0.01), batch_size=4)
    trainer.fit(net, X, T, epochs=1)
    other = pybp.Network([3, 6, 2], "tanh", "sigmoid", seed=0)
    assert other.n_params != net.n_params
    before = other.params.copy()
    counts = rf"(?s)\b{net.n_params} float64\b.*\b{other.n_params} float64\b"
    with pytest.raises(ValueError, match=counts):
        trainer.fit(other, X, T, epochs=1)
    with pytest.raises(ValueError, match=counts):
        trainer.partial_fit(other, X, T)
    np.testing.assert_array_equal(other.params, before)
    single32 = pybp.Network([3, 5, 2], "tanh", "sigmoid", dtype="float32")
    with pytest.raises(ValueError, match=rf"{net.n_params} float32"):
        trainer.fit(single32, X, T, epochs=1)
    # The network it was made for still trains with it.
    trainer.fit(net, X, T, epochs=1)


# ---- determinism ----------------------------------------------------------

def trained(seed, backend="c", init_seed=0, dtype="float64", **fit):
    sizes = [3, 6, 2]
    net = pybp.Network(sizes, "tanh", "sigmoid", seed=init_seed,
                       backend=backend, dtype=dtype)
    rng = np.random.default_rng(42)
    X = rng.normal(size=(30, 3))
    T = rng.uniform(0.1, 0.9, (30, 2))
    opts = dict(optimizer=optim.SGD(0.3, momentum=0.5), epochs=4, batch_size=3)
    opts.update(fit)
    net.fit(X, T, seed=seed, **opts)
    return net.params.copy()


def test_no_shuffle_needs_no_seed():
    a = trained(None, shuffle=False)
    b = trained(None, shuffle=False)
    assert np.array_equal(a, b)
    # ...and the order then matters: shuffling gives something else.
    assert not np.array_equal(a, trained(1, shuffle=True))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_same_seed_is_bit_identical_and_the_seed_matters(backend, dtype):
    """One seed, three runs: the same bits; another seed: other weights."""
    first = trained(7, backend, dtype=dtype)
    for _ in range(2):
        assert np.array_equal(trained(7, backend, dtype=dtype), first)
    assert not np.array_equal(trained(8, backend, dtype=dtype), first)



def test_numpy_generator_seed():
    net, X, T = H.regression_problem(seed=8)
    a, b = net.copy(), net.copy()
    a.fit(X, T, epochs=2, seed=np.random.default_rng(3))
    b.fit(X, T, epochs=2, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(a.params, b.params)


@pytest.mark.parametrize("backend", BACKENDS)
def test_seed_none_draws_fresh_orders(backend):
    net, X, T = H.regression_problem(backend=backend, seed=9)
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


# ---- History.loss is the loss over the batches as seen ------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bs", [1, 4])
def test_epoch_loss_is_mean_over_batches_as_seen(bs, backend):
    """SGD in order, batches of 1 or 4 out of 12: the epoch's loss is the
    mean of each batch's loss before its update (replayed here with the
    reference optimizer)."""
    net, X, T = H.regression_problem(n=12, backend=backend, seed=12)
    ref, mask = H.RefSGD(0.5, momentum=0.5), H.weight_mask(net)
    work, w = net.copy(), net.params.copy()
    expected_losses = []
    for _ in range(2):
        batch_losses = []
        for s in range(0, 12, bs):
            work.params[...] = w
            batch_losses.append(work.loss(X[s:s + bs], T[s:s + bs]))
            w = ref.step(w, work.gradients(X[s:s + bs], T[s:s + bs]).params.copy(),
                         mask)
        expected_losses.append(np.mean(batch_losses))
    h = net.fit(X, T, optimizer=optim.SGD(0.5, momentum=0.5), epochs=2,
                batch_size=bs, shuffle=False)
    assert h.loss == pytest.approx(expected_losses, rel=1e-12)
    np.testing.assert_allclose(net.params, w, rtol=0, atol=1e-12)


# ---- sample weights ------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["momentum", "adam", "rprop"])
def test_integer_weights_equal_duplicated_samples(name, backend):
    net, X, T = H.regression_problem(n=10, backend=backend, seed=13)
    w = np.array([1, 3, 2, 1, 1, 4, 2, 1, 3, 1])
    Xd, Td = np.repeat(X, w, axis=0), np.repeat(T, w, axis=0)
    a, b = net.copy(), net.copy()
    ha = a.fit(X, T, sample_weight=w, optimizer=H.OPTIMIZERS[name](), epochs=4,
               batch_size=len(X), shuffle=False)
    hb = b.fit(Xd, Td, optimizer=H.OPTIMIZERS[name](), epochs=4,
               batch_size=len(Xd), shuffle=False)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-11, atol=1e-13)
    assert ha.loss == pytest.approx(hb.loss, rel=1e-12)
    # The weights mattered (an unweighted fit differs).
    c = net.copy()
    c.fit(X, T, optimizer=H.OPTIMIZERS[name](), epochs=4, batch_size=len(X),
          shuffle=False)
    assert not np.allclose(c.params, a.params, rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["momentum", "adam"])
def test_zero_weight_removes_a_sample(name, backend):
    """Full batch, no shuffling: samples weighted 0 drop out of the mean,
    of the loss and of every update (the optimizer state included)."""
    net, X, T = H.regression_problem(n=10, backend=backend, seed=14)
    w = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    keep = w > 0
    a, b = net.copy(), net.copy()
    ha = a.fit(X, T, sample_weight=w, optimizer=H.OPTIMIZERS[name](),
               epochs=3, batch_size=len(X), shuffle=False)
    hb = b.fit(X[keep], T[keep], optimizer=H.OPTIMIZERS[name](),
               epochs=3, batch_size=int(keep.sum()), shuffle=False)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-11, atol=1e-13)
    assert ha.loss == pytest.approx(hb.loss, rel=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_loss_evaluate_and_gradients_honour_weights(backend):
    net, X, T, labels = H.classification_problem(n=20, seed=15, backend=backend)
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


# ---- History --------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_history_lengths_and_classification_metrics(backend):
    net, X, T, labels = H.classification_problem(n=30, seed=17, backend=backend)
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
    net, X, T, labels = H.classification_problem(n=40, seed=18)
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
    net, X, T, labels = H.classification_problem(n=30, seed=20)
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
    net, X, T = H.regression_problem(seed=21)
    h = net.fit(X, T, optimizer=optim.SGD(0.3), epochs=3, batch_size=4,
                seed=0, verbose=True)
    out, err = capsys.readouterr()
    assert out == ""
    assert "loss" in err
    values = _numbers_after_loss(err)
    assert values, err
    assert any(v == pytest.approx(h.loss[-1], rel=1e-3) for v in values), err


def test_silent_by_default(capsys):
    net, X, T = H.regression_problem(seed=22)
    net.fit(X, T, optimizer=optim.SGD(0.3), epochs=3, batch_size=4, seed=0)
    pybp.Trainer(batch_size=4).partial_fit(net, X, T)
    net.evaluate(X, T)
    out, err = capsys.readouterr()
    assert out == "" and err == ""


# ---- training learns ---------------------------------------------------------

XOR_X = [[0, 0], [0, 1], [1, 0], [1, 1]]


XOR_T = [0, 1, 1, 0]


@pytest.mark.parametrize("hidden,optimizer", [
    ("tanh", optim.SGD(0.5)),
    ("sigmoid", optim.SGD(0.5, momentum=0.9)),
])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_learns_xor(hidden, optimizer, seed, backend):
    net = pybp.Network([2, 4, 1], hidden, "sigmoid", seed=seed,
                       backend=backend)
    history = net.fit(XOR_X, XOR_T, optimizer=optimizer, epochs=2000,
                      seed=seed)
    assert history.loss[-1] < 0.01 < history.loss[0]
    assert net.loss(XOR_X, XOR_T) < 0.01
    out = net.predict(XOR_X)
    assert out.shape == (4, 1)
    np.testing.assert_array_equal(out[:, 0] > 0.5, np.array(XOR_T, bool))


def test_xor_with_softmax_and_cross_entropy(backend):
    T = np.eye(2)[XOR_T]
    net = pybp.Network([2, 5, 2], "tanh", "softmax", seed=0, backend=backend)
    net.fit(XOR_X, T, loss="cross_entropy", optimizer=optim.SGD(0.1),
            epochs=1000, seed=0)
    np.testing.assert_array_equal(net.classify(XOR_X), XOR_T)
    assert net.loss(XOR_X, T, loss="cross_entropy") < 0.05
    np.testing.assert_allclose(net.predict(XOR_X).sum(axis=1), 1.0,
                               rtol=1e-12)


CREDIT = [10, 4, 6, 8, 4]


@pytest.fixture(scope="module")
def teacher_task():
    """Random inputs labelled by a fixed random teacher network; targets
    0.9 for the class (the largest teacher output) and 0.1 elsewhere."""
    teacher = pybp.Network([10, 6, 4], "tanh", "identity", init="he",
                           seed=123)
    rng = np.random.default_rng(0)
    X = rng.uniform(-1.0, 1.0, (1500, 10))
    y = teacher.classify(X)
    T = np.full((len(X), 4), 0.1)
    T[np.arange(len(X)), y] = 0.9
    return X[:1000], T[:1000], X[1000:], y[1000:]


def accuracy(net, X, y):
    return float(np.mean(net.classify(X) == y))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_credit_network_learns_teacher_per_sample(teacher_task, seed):
    Xtr, Ttr, Xte, yte = teacher_task
    chance = np.bincount(yte).max() / len(yte)
    net = pybp.Network(CREDIT, seed=seed)
    before = net.loss(Xtr, Ttr)
    history = net.fit(Xtr, Ttr, optimizer=optim.SGD(0.5), epochs=40, batch_size=1,
                      seed=seed)
    assert history.loss[-1] < 0.3 * history.loss[0]
    assert net.loss(Xtr, Ttr) < 0.3 * before
    assert accuracy(net, Xte, yte) >= max(0.8, chance + 0.3)


@pytest.mark.parametrize("batch_size,optimizer,epochs", [
    (16, optim.SGD(0.5, momentum=0.9), 60),
    (1000, optim.SGD(2.0, momentum=0.9), 100),
], ids=["minibatch", "fullbatch"])
def test_batches_reduce_loss(teacher_task, batch_size, optimizer, epochs,
                             backend):
    Xtr, Ttr, Xte, yte = teacher_task
    if backend == "python":  # keep the pure-Python run short
        Xtr, Ttr, epochs = Xtr[:200], Ttr[:200], 10
        batch_size = min(batch_size, 200)
    net = pybp.Network(CREDIT, seed=0, backend=backend)
    before = net.loss(Xtr, Ttr)
    history = net.fit(Xtr, Ttr, optimizer=optimizer, epochs=epochs,
                      batch_size=batch_size, seed=0)
    assert len(history.loss) == epochs
    assert net.loss(Xtr, Ttr) < 0.8 * before
    assert history.loss[-1] < history.loss[0]


def test_minibatch_reaches_good_accuracy(teacher_task):
    Xtr, Ttr, Xte, yte = teacher_task
    net = pybp.Network(CREDIT, seed=1)
    net.fit(Xtr, Ttr, optimizer=optim.SGD(0.5, momentum=0.9), epochs=100,
            batch_size=16, seed=1)
    assert accuracy(net, Xte, yte) >= 0.8


def test_history_records_every_epoch(backend):
    net = pybp.Network([2, 3, 1], seed=0, backend=backend)
    history = net.fit(XOR_X, XOR_T, optimizer=optim.SGD(0.1), epochs=7, seed=0)
    assert isinstance(history, pybp.History)
    assert len(history.loss) == len(history.lr) == len(history.seconds) == 7
    assert history.lr == [0.1] * 7
    assert all(s >= 0 for s in history.seconds)
    assert history.stopped == "max_epochs"
    assert all(np.isfinite(history.loss))


def test_float32_training_works(backend, make_targets):
    sizes = [4, 6, 2]
    net = pybp.Network(sizes, "tanh", "sigmoid", seed=1, dtype="float32",
                       backend=backend)
    rng = np.random.default_rng(1)
    X = rng.normal(0.0, 1.0, (40, 4))
    T = make_targets("sigmoid", "half_sse", 40, 2, rng)
    before = net.loss(X, T)
    hist = net.fit(X, T, optimizer=optim.SGD(0.5, momentum=0.5), epochs=30,
                   batch_size=4, seed=0)
    assert net.loss(X, T) < 0.7 * before
    assert hist.loss[-1] < hist.loss[0]
    assert net.params.dtype == np.float32
    assert net.dtype == np.float32
    assert all(w.dtype == np.float32 for w in net.weights)
    assert all(b.dtype == np.float32 for b in net.biases)
    assert all(np.shares_memory(w, net.params) for w in net.weights)
    assert np.all(np.isfinite(net.params))


def test_threads_train_separate_networks_concurrently():
    """The C loops run with the GIL released: two threads, two networks,
    the same results as one after the other."""
    import threading
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 16))
    T = np.eye(3)[rng.integers(0, 3, 2000)]

    def train(seed, out):
        net = pybp.Network([16, 32, 3], "relu", "softmax", seed=seed)
        net.fit(X, T, loss="cross_entropy", optimizer="adam", epochs=3,
                batch_size=4, seed=seed)
        out[seed] = net.params.copy()

    sequential, concurrent = {}, {}
    for seed in (1, 2):
        train(seed, sequential)
    threads = [threading.Thread(target=train, args=(s, concurrent))
               for s in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for seed in (1, 2):
        assert np.array_equal(sequential[seed], concurrent[seed])



class _Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self._tty = tty

    def isatty(self):
        return self._tty


@pytest.mark.parametrize("tty", [False, True])
def test_progress_bar_redraws_only_on_a_terminal(tty):
    """Into a log or a pipe the built-in bar writes one line per epoch; on a
    terminal it redraws one line in place."""
    from pybp._progress import ProgressBar
    stream = _Stream(tty)
    bar = ProgressBar(3, 100, file=stream)
    bar._bar = None                       # the built-in bar, not tqdm
    h = pybp.History()
    for e in range(3):
        bar.update_samples(50)
        h.loss.append(1.0 / (e + 1))
        bar.end_epoch(h, 1000.0)
    bar.close("max_epochs")
    text = stream.getvalue()
    if tty:
        assert "\r" in text and text.count("\n") == 1
    else:
        assert "\r" not in text
        assert text.splitlines() == [
            f"epoch {e}/3 loss {1.0 / e:.4g} samples/s 1,000"
            for e in (1, 2, 3)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_classification_metric_kinds(dtype):
    from pybp.train import classification_metric
    a = lambda rows: np.array(rows, dtype=dtype)  # noqa: E731
    assert classification_metric(a([[0, 1], [1, 0]])) == ("argmax", 0.0)
    assert classification_metric(a([[0, 1], [1, 1]])) == ("threshold", 0.5)
    assert classification_metric(a([[0], [1], [1]])) == ("threshold", 0.5)
    assert classification_metric(a([[-1], [1]])) == ("threshold", 0.0)
    assert classification_metric(a([[-1, 1], [1, -1]])) == ("threshold", 0.0)
    assert classification_metric(a([[0.01, 0.99]])) == (None, 0.0)
    assert classification_metric(a([[0, np.nan]])) == (None, 0.0)
    assert classification_metric(a([[-1, 0]])) == (None, 0.0)
    assert classification_metric(np.empty((0, 2), dtype=dtype)) == (None, 0.0)
