"""The cheap set-up of Network.fit: every fast path gives what the general
path gives, and declines what it cannot take.

- pybp._core.all_finite and pybp._validate.array's fast path (an aligned,
  C-contiguous ndarray of the right dtype returned as it is, after one C
  finiteness pass) against the general conversion;
- the keyword checks' shortcuts for plain int/float/bool;
- Core.same_weights (the stall check) against comparing the weight views;
- Core.train_epochs taking raw buffers: what it refuses;
- the order seeds read as raw PCG64 outputs against integers(2**64);
- the random stream made on first use, and Network.fit drawing nothing for
  one sample (the only order is [0]);
- classification_metric's Python path for small targets against numpy's.
"""
import math

import numpy as np
import pytest

import pybp
from pybp import _core, _validate, datasets, optim, train

DTYPES = ("float64", "float32")
BACKENDS = ("c", "python")


def fit_result(net, X, T, **kw):
    history = net.fit(X, T, **kw)
    return (net.params.copy(), history.loss, history.lr, history.metrics,
            history.val_loss, history.stopped, history.warnings)


def same_result(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1:] == b[1:]


# ---- all_finite and _validate.array ---------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_all_finite_answers(dtype):
    a = np.linspace(-3, 3, 12, dtype=dtype).reshape(3, 4)
    assert _core.all_finite(a) is True
    assert _core.all_finite(np.empty(0, dtype=dtype)) is True
    for bad in (np.nan, np.inf, -np.inf):
        b = a.copy()
        b[2, 3] = bad
        assert _core.all_finite(b) is False
    # Large enough to run without the GIL; the bad value at the very end.
    big = np.zeros(1 << 16 | 3, dtype=dtype)
    assert _core.all_finite(big) is True
    big[-1] = np.nan
    assert _core.all_finite(big) is False


@pytest.mark.parametrize("dtype", DTYPES)
def test_all_finite_sees_a_bad_value_in_every_position(dtype):
    """The pass keeps eight sums (a value's position mod 8 picks one) and
    a tail loop: a NaN or infinity anywhere, in any of them, is seen."""
    for n in range(1, 26):
        a = np.linspace(-1e30, 1e30, n, dtype=dtype)
        assert _core.all_finite(a) is True
        for k in range(n):
            for bad in (np.nan, np.inf, -np.inf):
                b = a.copy()
                b[k] = bad
                assert _core.all_finite(b) is False, (n, k, bad)


def test_all_finite_declines_what_it_cannot_read():
    a = np.ones((4, 6))
    assert _core.all_finite(a[:, ::2]) is None          # not contiguous
    assert _core.all_finite(np.asfortranarray(a)) is None
    assert _core.all_finite(np.ones(3, dtype=np.int64)) is None
    assert _core.all_finite(np.ones(3, dtype=np.float16)) is None
    assert _core.all_finite(np.ones(3, dtype=">f8" if np.little_endian
                                    else "<f8")) is None
    raw = np.zeros(8 * 4 + 1, dtype=np.uint8)
    misaligned = np.frombuffer(raw.data, dtype=np.float64, count=4, offset=1)
    assert _core.all_finite(misaligned) is None
    assert _core.all_finite([1.0, 2.0]) is None          # no buffer
    assert _core.all_finite(b"abcdefgh") is None          # bytes: format B


class _Sub(np.ndarray):
    pass


@pytest.mark.parametrize("dtype", DTYPES)
def test_array_fast_path_returns_the_same_object(dtype):
    a = np.arange(6, dtype=dtype).reshape(2, 3)
    assert _validate.array("X", a, dtype) is a
    assert _validate.array("X", a, np.dtype(dtype)) is a
    # Declined: another dtype, a view with strides, a 0-d array, a
    # subclass; the general path converts them as before.
    other = "float32" if dtype == "float64" else "float64"
    out = _validate.array("X", a, other)
    assert out.dtype == other and out is not a
    np.testing.assert_array_equal(out, a)
    strided = np.arange(12, dtype=dtype).reshape(2, 6)[:, ::2]
    out = _validate.array("X", strided, dtype)
    assert out.flags.c_contiguous
    np.testing.assert_array_equal(out, strided)
    zero_d = np.array(2.5, dtype=dtype)
    assert _validate.array("X", zero_d, dtype).shape == \
        np.ascontiguousarray(zero_d).shape
    sub = np.arange(4, dtype=dtype).view(_Sub)
    out = _validate.array("X", sub, dtype)   # asarray: a plain ndarray
    assert type(out) is np.ndarray
    np.testing.assert_array_equal(out, sub)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_array_fast_path_non_finite_says_the_same(dtype, bad):
    a = np.ones((3, 2), dtype=dtype)
    a[1, 0] = bad
    with pytest.raises(ValueError) as fast:
        _validate.array("X", a, dtype)
    with pytest.raises(ValueError) as general:
        _validate.array("X", a.tolist(), dtype)
    assert str(fast.value) == str(general.value)
    assert "1 NaN or infinite value(s)" in str(fast.value)


@pytest.mark.parametrize("dtype", DTYPES)
def test_parameters_check_fast_and_slow_agree(dtype):
    net = pybp.Network([3, 4, 2], seed=1, dtype=dtype)
    _validate.parameters(net.params, net.weights, net.biases)   # passes
    net.biases[1][...] = 0
    net.params[-1] = np.inf
    with pytest.raises(ValueError, match="layer 1 biases: parameters are "
                       "not finite"):
        _validate.parameters(net.params, net.weights, net.biases)


def test_keyword_shortcuts_say_the_same():
    # Plain int/float/bool take a shortcut; the rest the ABC checks.
    assert _validate.real("lr", 1) == 1.0 and type(
        _validate.real("lr", 1)) is float
    assert _validate.real("lr", np.float32(0.5)) == 0.5
    assert _validate.integer("epochs", 3, minimum=0) == 3
    assert _validate.integer("epochs", np.int64(3), minimum=0) == 3
    assert _validate.flag("shuffle", True) is True
    assert _validate.flag("shuffle", np.bool_(False)) is False
    with pytest.raises(ValueError, match=r"epochs must be >= 0; got -1"):
        _validate.integer("epochs", -1, minimum=0)
    with pytest.raises(TypeError, match="epochs must be an integer; got "
                       "bool True"):
        _validate.integer("epochs", True, minimum=0)
    with pytest.raises(ValueError, match="min_delta must be finite; got inf"):
        _validate.real("min_delta", math.inf, minimum=0.0)
    with pytest.raises(ValueError, match="min_delta must be finite; got nan"):
        _validate.real("min_delta", np.float64("nan"), minimum=0.0)
    with pytest.raises(ValueError, match=r"target_loss must be >= 0.0"):
        _validate.real("target_loss", -1, minimum=0.0)
    with pytest.raises(TypeError, match="shuffle must be True or False; got "
                       "int 1"):
        _validate.flag("shuffle", 1)


# ---- Core.same_weights ----------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", [True, False])
# below and above the size from which the comparison releases the GIL
# (_core's FINITE_NOGIL, 32768 values)
@pytest.mark.parametrize("sizes", [[3, 4, 5, 2], [3, 200, 200, 2]])
def test_same_weights_compares_weights_only(dtype, bias, sizes):
    net = pybp.Network(sizes, seed=2, dtype=dtype, bias=bias)
    core, a = net.core, net.params.copy()
    assert core.same_weights(a, net.params) is True
    if bias:
        net.biases[1][2] += 1
        assert core.same_weights(a, net.params) is True
    for l, W in enumerate(net.weights):
        b = net.params.copy()
        views, _ = pybp._backend.layer_views(b, net.sizes, net.bias)
        views[l][-1, -1] += 1                  # the last weight of layer l
        assert core.same_weights(a, b) is False
        views[l][-1, -1] = W[-1, -1]
        views[l][0, 0] = np.nan
        assert core.same_weights(a, b) is False
    z = np.zeros_like(a)
    assert core.same_weights(z, -z) is True     # 0.0 == -0.0, as numpy
    with pytest.raises(ValueError, match="a: expected"):
        core.same_weights(a[:-1], a)
    other = "float32" if dtype == "float64" else "float64"
    with pytest.raises(ValueError, match="b: expected a C-contiguous"):
        core.same_weights(a, a.astype(other))


def test_stall_warning_still_raised_and_only_for_weights():
    # A learning rate below float32 precision: no weight changes.
    net = pybp.Network([2, 3, 1], seed=3, dtype="float32")
    X = np.array([[0.3, -0.2], [0.1, 0.4]], dtype="float32")
    T = np.array([[0.7], [0.2]], dtype="float32")
    for chunked in (True, False):
        old = train.CHUNKED
        train.CHUNKED = chunked
        try:
            with pytest.warns(RuntimeWarning, match="no weight changed"):
                h = net.fit(X, T, optimizer=optim.SGD(1e-30), epochs=3)
        finally:
            train.CHUNKED = old
        assert len(h.warnings) == 1 and h.warnings[0].startswith("epoch 1:")


# ---- Core.train_epochs' buffer checks -------------------------------------

def _epochs_args(net, X, T):
    core, dt = net.core, net.dtype
    return dict(
        spec=optim.SGD(0.5).spec(), step=0, params=net.params,
        state=np.empty(0, dt), X=X, T=T, sw=np.empty(0, dt), batch=1,
        loss="half_sse", train_biases=True, metric=None, threshold=0.0,
        work=np.empty(core.epoch_workspace_size(1), dt),
        order=np.empty(len(X), np.int64),
        backup=np.empty(net.n_params, dt), best_params=np.empty(0, dt),
        record=np.empty((4, 2)), lrs=np.empty(0), seeds=np.empty(0, np.uint64),
        target_loss=None, watch=False, patience=0, min_delta=0.0,
        best=math.inf, wait=0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_train_epochs_buffers(dtype):
    d = datasets.mazur(dtype=dtype)
    net, X, T = d.network, d.X, d.T
    ref = d.network.copy()
    ref.fit(X, T, optimizer=optim.SGD(0.5), epochs=2, shuffle=False)
    args = _epochs_args(net, X, T)
    recorded, stop, step, *_ = net.core.train_epochs(**args)
    assert (recorded, stop, step) == (2, "max_epochs", 2)
    np.testing.assert_array_equal(net.params, ref.params)
    other = "float32" if dtype == "float64" else "float64"
    bad = {
        "X": (X.astype(other), "X: expected a C-contiguous, aligned 2-D "
              f"array of {dtype}"),
        "T": (np.ones((1, 4), dtype)[:, ::2], None),
        "order": (np.empty(1, np.int32), "order: expected a C-contiguous, "
                  "aligned 1-D array of int64"),
        "seeds": (np.empty(2, np.int64), "seeds: expected a C-contiguous, "
                  "aligned 1-D array of uint64"),
        "record": (np.empty(8), "record: expected a C-contiguous, aligned "
                   "2-D array of float64"),
        "record ": (np.empty((2, 4)), "record rows: expected 4 values, "
                    "got 2"),
        "work": (args["work"][:0].copy(), "workspace: expected"),
        "backup": (np.empty(net.n_params, dtype)[::-1], None),
    }
    before = net.params.copy()
    for name, (value, message) in bad.items():
        with pytest.raises(ValueError, match=message):
            net.core.train_epochs(**{**args, name.strip(): value})
        np.testing.assert_array_equal(net.params, before)
    read_only = net.params.copy()
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="params: expected a writable 1-D"):
        net.core.train_epochs(**{**args, "params": read_only})
    with pytest.raises(ValueError, match="params: expected a C-contiguous, "
                       "aligned 1-D array of float64 or float32"):
        net.core.train_epochs(**{**args,
                                 "params": net.params.astype(np.int64)})
    with pytest.raises(ValueError, match="order: expected a writable 1-D "
                       "array; got list"):
        net.core.train_epochs(**{**args, "order": [0]})


def test_make_optim_messages_unchanged():
    d = datasets.mazur()
    args = _epochs_args(d.network, d.X, d.T)
    spec = optim.SGD(0.5).spec()
    with pytest.raises(ValueError, match=r"needs exactly the keys lr, "
                       r"momentum, nesterov, weight_decay; missing "
                       r"\['momentum'\], unknown \[\]"):
        d.network.core.train_epochs(**{**args, "spec": {
            k: v for k, v in spec.items() if k != "momentum"}})
    with pytest.raises(ValueError, match=r"missing \[\], unknown \['beta1'\]"):
        d.network.core.train_epochs(**{**args, "spec": {**spec, "beta1": 1}})
    with pytest.raises(ValueError, match=r"missing \['lr'\], unknown "
                       r"\['rho'\]"):
        d.network.core.train_epochs(**{**args, "spec": {
            **{k: v for k, v in spec.items() if k != "lr"}, "rho": 0.5}})


# ---- order seeds and the stream ------------------------------------------

def test_raw_seeds_equal_integers():
    for seed in (0, 1, 12345):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        raw = a.bit_generator.random_raw(1000)
        ints = b.integers(2 ** 64, size=1000, dtype=np.uint64)
        np.testing.assert_array_equal(raw, ints)
        assert a.bit_generator.state == b.bit_generator.state
    # Through the Trainer: PCG64 raw, anything else integers().
    for make in (np.random.PCG64, np.random.MT19937, np.random.Philox):
        t1 = train.Trainer(seed=np.random.Generator(make(7)))
        ref = np.random.Generator(make(7))
        np.testing.assert_array_equal(
            t1._draw_seeds(5), ref.integers(2 ** 64, size=5, dtype=np.uint64))
        assert t1._draw_seed() == int(ref.integers(2 ** 64, dtype=np.uint64))
        # The streams continue alike.
        np.testing.assert_array_equal(t1._rng.random(3), ref.random(3))


def test_stream_made_on_first_use():
    t = train.Trainer(seed=5)
    assert t._stream is None
    assert t._rng.bit_generator.state == \
        np.random.default_rng(5).bit_generator.state
    g = np.random.default_rng(9)
    assert train.Trainer(seed=g)._rng is g
    # A checkpoint of an unused Trainer stores the seeded stream.
    assert train.Trainer(seed=5)._checkpoint_config()["rng"] == \
        np.random.default_rng(5).bit_generator.state


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_one_sample_draws_nothing_yet_trains_the_same(backend, dtype):
    d = datasets.mazur(dtype=dtype, backend=backend)
    kw = dict(optimizer=optim.SGD(0.5), train_biases=False, epochs=7)
    a = d.network.copy()
    ha = a.fit(d.X, d.T, seed=3, **kw)
    b = d.network.copy()
    hb = b.fit(d.X, d.T, shuffle=False, **kw)
    np.testing.assert_array_equal(a.params, b.params)
    assert ha.loss == hb.loss
    # A Trainer of one's own keeps drawing: its stream is visible after.
    c = d.network.copy()
    trainer = train.Trainer(optimizer=optim.SGD(0.5), train_biases=False,
                            seed=3)
    hc = trainer.fit(c, d.X, d.T, epochs=7)
    assert hc.loss == ha.loss
    ref = np.random.default_rng(3)
    ref.integers(2 ** 64, size=7, dtype=np.uint64)
    assert trainer._rng.bit_generator.state == ref.bit_generator.state
    # A Generator given as seed is the caller's: it advances as before.
    g = np.random.default_rng(4)
    d.network.copy().fit(d.X, d.T, seed=g, **kw)
    ref = np.random.default_rng(4)
    ref.integers(2 ** 64, size=7, dtype=np.uint64)
    assert g.bit_generator.state == ref.bit_generator.state


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_seeded_orders_unchanged(backend, dtype):
    # The orders a seed gives: one integers(2**64) draw per epoch, shuffled
    # by pybp's generator (re-derived here), on both paths.
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (5, 2)).astype(dtype)
    T = rng.uniform(0.1, 0.9, (5, 2)).astype(dtype)
    net0 = pybp.Network([2, 3, 2], seed=1, dtype=dtype, backend=backend)
    a = net0.copy()
    ha = a.fit(X, T, optimizer=optim.SGD(0.3), epochs=4, seed=11)
    b = net0.copy()
    stream = np.random.default_rng(11)
    losses = []
    for _ in range(4):
        seed = int(stream.integers(2 ** 64, dtype=np.uint64))
        order = np.empty(5, dtype=np.int64)
        _core.shuffle(seed, order)
        losses += b.fit(X[order], T[order], optimizer=optim.SGD(0.3),
                        epochs=1, shuffle=False).loss
    np.testing.assert_array_equal(a.params, b.params)
    assert ha.loss == losses


# ---- fast path taken or declined: the same fit ----------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("extra", [
    {}, {"batch_size": 4}, {"patience": 2}, {"target_loss": 0.2},
    {"validation": True}, {"optimizer": "adam"},
    {"sample_weight": [1.0, 2.0, 0.5, 1.0, 3.0, 1.0]}],
    ids=["plain", "batch4", "patience", "target", "val", "adam", "weights"])
def test_fast_and_general_inputs_fit_the_same(backend, dtype, extra):
    rng = np.random.default_rng(2)
    X = rng.uniform(-1, 1, (6, 3))
    T = (rng.uniform(0, 1, (6, 2)) > 0.5).astype(float)
    net0 = pybp.Network([3, 4, 2], seed=5, dtype=dtype, backend=backend)
    kw = {"epochs": 5, "seed": 8, **extra}
    if kw.pop("validation", False):
        kw["validation_data"] = (X[:3], T[:3])
    fast = dict(kw)
    if "validation_data" in fast:
        fast["validation_data"] = tuple(np.ascontiguousarray(v, dtype=dtype)
                                        for v in kw["validation_data"])
    if "sample_weight" in fast:
        fast["sample_weight"] = np.asarray(kw["sample_weight"], dtype=dtype)
    Xf, Tf = X.astype(dtype), T.astype(dtype)
    assert _validate.array("X", Xf, dtype) is Xf   # the fast path is taken
    a = fit_result(net0.copy(), Xf, Tf, **fast)
    # Declined: lists, Fortran order, another dtype.
    b = fit_result(net0.copy(), X.tolist(), T.tolist(), **kw)
    c = fit_result(net0.copy(), np.asfortranarray(Xf), np.asfortranarray(Tf),
                   **kw)
    same_result(a, b)
    same_result(a, c)
    if dtype == "float32":      # float64 arrays for a float32 network
        same_result(a, fit_result(net0.copy(), X, T, **kw))


@pytest.mark.parametrize("kernels", ["fast", "exact"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_repeated_fits_follow_param_assignment_and_kernels(kernels, dtype):
    # Nothing of one fit is kept for the next: assigning the parameters or
    # switching kernels between fits gives what a fresh network gives.
    previous = pybp.get_kernels()
    try:
        d = datasets.mazur(dtype=dtype)
        net, X, T = d.network, d.X, d.T
        start = net.params.copy()
        for _ in range(3):
            net.fit(X, T, epochs=2)
        net.params = start
        pybp.set_kernels(kernels)
        h = net.fit(X, T, epochs=3)
        fresh = datasets.mazur(dtype=dtype).network
        hf = fresh.fit(X, T, epochs=3)
        np.testing.assert_array_equal(net.params, fresh.params)
        assert h.loss == hf.loss
        net.weights[0] = np.zeros((2, 2))
        fresh.weights[0] = np.zeros((2, 2))
        assert net.fit(X, T, epochs=2).loss == fresh.fit(X, T, epochs=2).loss
        np.testing.assert_array_equal(net.params, fresh.params)
    finally:
        pybp.set_kernels(previous)


# ---- classification_metric ------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
def test_classification_metric_small_path_agrees(dtype, monkeypatch):
    rng = np.random.default_rng(3)
    cases = [np.eye(3)[[0, 2, 1]], np.array([[0, 1], [1, 1]]),
             np.array([[0], [1]]), np.array([[-1], [1], [1]]),
             np.array([[-1, 1], [1, -1]]), np.array([[0.01, 0.99]]),
             np.array([[-1, 0]]), np.array([[1, 0], [0, 0]]),
             np.array([[0.5, 0.5]]), np.array([[1.0]]), np.array([[-1.0]]),
             rng.integers(0, 2, (8, 4)), rng.integers(-1, 2, (5, 3)),
             rng.uniform(0, 1, (4, 4))]
    for T in cases:
        T = np.ascontiguousarray(T, dtype=dtype)
        small = train.classification_metric(T)
        monkeypatch.setattr(train, "_SMALL_TARGETS", 0)
        large = train.classification_metric(T)
        monkeypatch.setattr(train, "_SMALL_TARGETS", 64)
        assert small == large, T


@pytest.mark.parametrize("dtype", DTYPES)
def test_train_epoch_and_evaluate_buffers(dtype):
    # The per-epoch call and evaluate take raw buffers too: the same
    # numbers as a fit, and a clear ValueError for what they cannot take.
    d = datasets.mazur(dtype=dtype)
    net, X, T, core = d.network, d.X, d.T, d.network.core
    ref = net.copy()
    ref.fit(X, T, optimizer=optim.SGD(0.5), epochs=1, shuffle=False)
    empty = np.empty(0, dtype)
    work = np.empty(core.epoch_workspace_size(1), dtype)
    order = np.zeros(1, np.int64)
    args = (optim.SGD(0.5).spec(), 0, net.params, empty, X, T, empty, order,
            1, "half_sse", True, None, 0.0, work)
    done, loss_sum, wsum, _, step, exc = core.train_epoch(*args)
    assert (done, step, exc) == (1, 1, None)
    np.testing.assert_array_equal(net.params, ref.params)
    ework = np.empty(core.evaluate_workspace_size(1), dtype)
    loss_sum, wsum, _ = core.evaluate(net.params, X, T, empty, "half_sse",
                                      None, 0.0, ework)
    assert loss_sum / wsum == pytest.approx(net.loss(X, T), rel=1e-6)
    other = "float32" if dtype == "float64" else "float64"
    with pytest.raises(ValueError, match="order: expected a C-contiguous, "
                       "aligned 1-D array of int64"):
        core.train_epoch(*args[:7], order.astype(np.int32), *args[8:])
    with pytest.raises(ValueError, match=r"order\[0\] = 5 is outside"):
        core.train_epoch(*args[:7], order + 5, *args[8:])
    with pytest.raises(ValueError, match="T: expected a C-contiguous"):
        core.evaluate(net.params, X, T.astype(other), empty, "half_sse",
                      None, 0.0, ework)
    with pytest.raises(ValueError, match="workspace: expected a writable"):
        ro = ework.copy()
        ro.flags.writeable = False
        core.evaluate(net.params, X, T, empty, "half_sse", None, 0.0, ro)
