"""X's finiteness check inside the epochs in C.

fit() hands a plain X (a C-contiguous, aligned array of the network's dtype)
to the epochs in C unread: the first epoch checks its values as it gathers
each batch (csrc/kernels_impl.h, gather_rows_serial), which saves a pass over
a large X.  A value that is not finite must still give the error an
up-front check gives, with the network, the optimizer state, the counters
and the random stream as before the call; every other path still checks
before training.
"""
import math

import numpy as np
import pytest

import pybp
from pybp import optim, train
from pybp.optim import SGD, Adam, Rprop

DTYPES = ["float64", "float32"]
MESSAGE = r"^X contains 1 NaN or infinite value\(s\); all values must be finite$"


def _problem(dtype, sizes, n, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0])).astype(dtype)
    T = rng.uniform(0.1, 0.9, (n, sizes[-1])).astype(dtype)
    return X, T


# (sizes, optimizer, batch, n): every way an epoch reads X --
#   the per-sample fused SGD loop (X checked whole before it), also on the
#   tiny-net packing (>= 32 weights); the batched loop with batch 1
#   (momentum), mini-batches, the full batch (Rprop), and a gather large
#   enough to run over the thread pool (n * width >= 65536, n >= 32).
PATHS = {
    "sample": ([3, 4, 2], lambda: SGD(0.3), 1, 23),
    "sample-tiny": ([10, 4, 6, 8, 4], lambda: SGD(0.3), 1, 23),
    "batch1-momentum": ([3, 4, 2], lambda: SGD(0.2, momentum=0.5), 1, 23),
    "minibatch": ([3, 4, 2], lambda: Adam(0.01), 4, 23),
    "full-batch": ([3, 4, 2], lambda: Rprop(), 10 ** 6, 23),
    "pool-gather": ([300, 8, 3], lambda: SGD(0.01, momentum=0.9), 256, 300),
}


def _state(trainer, net):
    return (net.params.tobytes(),
            None if trainer._state is None else trainer._state.tobytes(),
            trainer._step, trainer.epochs_done, trainer.samples_seen,
            trainer._rng.bit_generator.state)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_bad_x_found_in_training_undoes_everything(dtype, path, where, value):
    sizes, make_opt, batch, n = PATHS[path]
    X, T = _problem(dtype, sizes, n)
    row = {"first": 0, "middle": n // 2, "last": n - 1}[where]
    bad = X.copy()
    bad[row, sizes[0] // 2] = value

    net = pybp.Network(sizes, seed=1, dtype=dtype)
    trainer = pybp.Trainer(optimizer=make_opt(), batch_size=batch, seed=5)
    # A fit before the bad one: the optimizer state and counters are not
    # at their start, so that putting them back is seen.
    trainer.fit(net, X, T, epochs=2)
    before = _state(trainer, net)
    with pytest.raises(ValueError, match=MESSAGE):
        trainer.fit(net, bad, T, epochs=3)
    assert _state(trainer, net) == before

    # The next fit goes on as if the bad one had never been asked for.
    h = trainer.fit(net, X, T, epochs=2)
    ref_net = pybp.Network(sizes, seed=1, dtype=dtype)
    ref = pybp.Trainer(optimizer=make_opt(), batch_size=batch, seed=5)
    ref.fit(ref_net, X, T, epochs=2)
    h_ref = ref.fit(ref_net, X, T, epochs=2)
    assert net.params.tobytes() == ref_net.params.tobytes()
    assert h.loss == h_ref.loss


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("path", sorted(PATHS))
def test_partial_fit_bad_x(dtype, path):
    sizes, make_opt, batch, n = PATHS[path]
    X, T = _problem(dtype, sizes, n)
    bad = X.copy()
    bad[n - 1, 0] = np.nan
    net = pybp.Network(sizes, seed=1, dtype=dtype)
    trainer = pybp.Trainer(optimizer=make_opt(), batch_size=batch, seed=5)
    trainer.partial_fit(net, X, T)
    before = _state(trainer, net)
    with pytest.raises(ValueError, match=MESSAGE):
        trainer.partial_fit(net, bad, T)
    assert _state(trainer, net) == before


def test_bad_x_on_a_zero_weight_sample_is_still_refused():
    """Sample weights do not excuse a value that is not finite."""
    X, T = _problem("float64", [3, 4, 2], 12)
    X[5, 1] = np.nan
    sw = np.ones(12)
    sw[5] = 0.0
    net = pybp.Network([3, 4, 2], seed=1)
    before = net.params.copy()
    for batch in (1, 4):
        with pytest.raises(ValueError, match=MESSAGE):
            net.fit(X, T, epochs=2, batch_size=batch, sample_weight=sw,
                    optimizer=SGD(0.1, momentum=0.5))
    np.testing.assert_array_equal(net.params, before)


def test_count_in_the_message_is_every_bad_value():
    X, T = _problem("float32", [3, 4, 2], 40)
    X[3, 0], X[30, 2], X[39, 1] = np.nan, np.inf, -np.inf
    net = pybp.Network([3, 4, 2], seed=1, dtype="float32")
    with pytest.raises(ValueError, match=r"^X contains 3 NaN or infinite"):
        net.fit(X, T, epochs=1, batch_size=8)


@pytest.mark.parametrize("trainer_kw,fit_kw", [
    ({}, dict(epochs=0)),
    (dict(max_seconds=0.0), {}),
    ({}, dict(validation_split=0.25)),
    (dict(callbacks=lambda net, history: pytest.fail("called")), {}),
    (dict(verbose=True), {}),
], ids=["no-epochs", "no-time", "validation", "callback", "verbose"])
def test_paths_without_epochs_in_c_check_first(trainer_kw, fit_kw, capsys):
    """Where no epoch runs in C, X is checked before anything: the same
    error, nothing changed, no callback called."""
    X, T = _problem("float64", [3, 4, 2], 12)
    net = pybp.Network([3, 4, 2], seed=1)
    trainer = pybp.Trainer(optimizer=SGD(0.1, momentum=0.5), seed=5,
                           **trainer_kw)
    if "callbacks" not in trainer_kw:
        trainer.fit(net, X, T, epochs=2)    # the state is not the start's
    X[11, 2] = np.inf
    before = _state(trainer, net)
    with pytest.raises(ValueError, match=MESSAGE):
        trainer.fit(net, X, T, **{"epochs": 3, **fit_kw})
    assert _state(trainer, net) == before


def test_converted_x_is_checked_as_it_is_converted():
    """An X that is not already a plain array of the network's dtype is
    converted and checked up front, with the conversion's own message."""
    X, T = _problem("float64", [3, 4, 2], 12)
    X[4, 0] = 1e39                      # finite in float64, not in float32
    net = pybp.Network([3, 4, 2], seed=1, dtype="float32")
    with pytest.raises(ValueError, match="too large for float32"):
        net.fit(X, T, epochs=2)
    X[4, 0] = np.nan
    with pytest.raises(ValueError, match=MESSAGE):
        net.fit(X[:, ::1].tolist(), T, epochs=2)       # a list
    with pytest.raises(ValueError, match=MESSAGE):
        net.fit(np.asfortranarray(X), T, epochs=2)     # not C-contiguous


# ---- the C call itself ---------------------------------------------------------

def _epochs_args(net, X, T, batch, opt, epochs=2):
    core, dt = net.core, net.dtype
    state = pybp.Trainer(optimizer=opt).optimizer_state(net)
    slots = state.size // net.n_params
    return dict(
        spec=opt.spec(), step=0, params=net.params, state=state, X=X, T=T,
        sw=np.empty(0, dt), batch=batch, loss="half_sse", train_biases=True,
        metric=None, threshold=0.0,
        work=np.empty(core.epoch_workspace_size(batch), dt),
        order=np.empty(len(X), np.int64),
        backup=np.empty((1 + slots) * net.n_params, dt),
        best_params=np.empty(0, dt), record=np.empty((4, epochs)),
        lrs=np.empty(0), seeds=np.empty(0, np.uint64), target_loss=None,
        watch=False, patience=0, min_delta=0.0, best=math.inf, wait=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("batch", [1, 10])
def test_train_epochs_check_x(dtype, batch):
    """check_x: "bad_input", nothing recorded, params and state as before;
    without it the same call trains on (and diverges on the NaN)."""
    X, T = _problem(dtype, [3, 4, 2], 40)
    X[37, 1] = np.nan
    net = pybp.Network([3, 4, 2], seed=1, dtype=dtype)
    before = net.params.copy()
    args = _epochs_args(net, X, T, batch, SGD(0.1, momentum=0.5))
    recorded, stop, step, *_ = net.core.train_epochs(**args, check_x=True)
    assert (recorded, stop, step) == (0, "bad_input", 0)
    np.testing.assert_array_equal(net.params, before)
    assert not args["state"].any()
    recorded, stop, *_ = net.core.train_epochs(**args)
    assert stop == "diverged"
    X[37, 1] = 0.5
    recorded, stop, step, *_ = net.core.train_epochs(**args, check_x=True)
    assert (recorded, stop, step) == (2, "max_epochs", 2 * 40 // batch)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", ["asked", "diverged"])
def test_train_epochs_check_x_after_an_early_stop(dtype, how):
    """A first epoch that stops before reading every row (progress asked
    it to, or a batch diverged) has the rest of X checked after it: a bad
    value in a row it never reached still gives "bad_input", the epoch
    undone; none gives the stop as before."""
    sizes, n, batch = [100, 100, 10], 2000, 10
    X, T = _problem(dtype, sizes, n)
    lr = 1e10 if how == "diverged" else 0.01
    calls = []

    def progress(done):
        calls.append(done)
        return how == "asked"

    for bad in (True, False):
        X[n - 1, 7] = np.nan if bad else 0.25
        net = pybp.Network(sizes, "relu", "identity", seed=1, dtype=dtype)
        before = net.params.copy()
        args = _epochs_args(net, X, T, batch, SGD(lr, momentum=0.5))
        calls.clear()
        recorded, stop, step, *_ = net.core.train_epochs(
            **args, progress=progress, check_x=True)
        if how == "asked":
            assert calls and 0 < calls[0] < n   # stopped inside the epoch
        if bad:
            assert (recorded, stop, step) == (0, "bad_input", 0)
            np.testing.assert_array_equal(net.params, before)
            assert not args["state"].any()
        else:
            assert stop == ("asked_inside" if how == "asked" else "diverged")
            assert recorded == 1


def test_chunked_path_takes_the_check():
    """fit's plain X reaches the C call unchecked (check_x), and the error
    comes from there: the up-front check is not called for it."""
    X, T = _problem("float64", [3, 4, 2], 12)
    X[6, 0] = np.nan
    net = pybp.Network([3, 4, 2], seed=1)
    seen = []
    original = pybp._validate.require_finite

    def spy(name, a):
        seen.append(name)
        return original(name, a)

    pybp._validate.require_finite = spy
    old = train.CHUNKED
    try:
        with pytest.raises(ValueError, match=MESSAGE):
            net.fit(X, T, epochs=2)
        # once, after C stopped on it (for the count in the message)
        assert seen == ["X"]
        seen.clear()
        train.CHUNKED = False               # the per-epoch loop: up front
        with pytest.raises(ValueError, match=MESSAGE):
            net.fit(X, T, epochs=2)
        assert seen == ["X"]
    finally:
        pybp._validate.require_finite = original
        train.CHUNKED = old


def test_schedule_rates_unchanged_by_a_refused_fit():
    X, T = _problem("float64", [3, 4, 2], 12)
    bad = X.copy()
    bad[0, 0] = np.nan
    sched = optim.StepDecay(0.5, step_size=2, gamma=0.5)
    net = pybp.Network([3, 4, 2], seed=1)
    trainer = pybp.Trainer(optimizer=SGD(sched), seed=2)
    with pytest.raises(ValueError, match=MESSAGE):
        trainer.fit(net, bad, T, epochs=5)
    h = trainer.fit(net, X, T, epochs=3)
    assert h.lr == [0.5, 0.5, 0.25]
