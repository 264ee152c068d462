"""Optimizers and learning-rate schedules against hand-written references.

Every optimizer is compared, step by step and on both backends, with a numpy
transcription of its textbook formula (tests/helpers_train.py): the gradient
of each step comes from net.gradients(X, T) at the reference's parameters,
the update from the reference, and pybp's full-batch fit must land on the
same parameters after every epoch.
"""
import math

import numpy as np
import pytest

import pybp
from pybp import optim

import helpers_train as H  # tests/ is on sys.path (see conftest.py)

BACKENDS = H.BACKENDS

# (id, pybp optimizer factory, reference factory).  Weight decay is large
# enough, and the biases non-zero, that decaying biases too would show.
CASES = [
    ("sgd", lambda: optim.SGD(0.3), lambda: H.RefSGD(0.3)),
    ("sgd-decay", lambda: optim.SGD(0.3, weight_decay=0.2),
     lambda: H.RefSGD(0.3, weight_decay=0.2)),
    ("momentum", lambda: optim.SGD(0.3, momentum=0.8, weight_decay=0.1),
     lambda: H.RefSGD(0.3, 0.8, False, 0.1)),
    ("nesterov", lambda: optim.SGD(0.3, momentum=0.8, nesterov=True,
                                   weight_decay=0.1),
     lambda: H.RefSGD(0.3, 0.8, True, 0.1)),
    ("adam", lambda: optim.Adam(0.05, beta1=0.8, beta2=0.95, eps=1e-6,
                                weight_decay=0.1),
     lambda: H.RefAdam(0.05, 0.8, 0.95, 1e-6, 0.1)),
    ("rmsprop", lambda: optim.RMSprop(0.02, rho=0.8, eps=1e-6,
                                      weight_decay=0.1),
     lambda: H.RefRMSprop(0.02, 0.8, 1e-6, 0.1)),
    ("adagrad", lambda: optim.Adagrad(0.1, eps=1e-6, weight_decay=0.1),
     lambda: H.RefAdagrad(0.1, 1e-6, 0.1)),
    ("rprop", lambda: optim.Rprop(), lambda: H.RefRprop()),
    ("rprop-clipped", lambda: optim.Rprop(eta_plus=1.3, eta_minus=0.4,
                                          delta0=0.05, delta_min=0.01,
                                          delta_max=0.08, weight_decay=0.1),
     lambda: H.RefRprop(1.3, 0.4, 0.05, 0.01, 0.08, 0.1)),
    ("quickprop", lambda: optim.Quickprop(), lambda: H.RefQuickprop()),
    ("quickprop-decay", lambda: optim.Quickprop(lr=2.0, mu=1.5,
                                                weight_decay=0.01),
     lambda: H.RefQuickprop(2.0, 1.5, 0.01)),
]
CASE_IDS = [c[0] for c in CASES]
STEPS = 8


def _problem(backend, seed=7, dtype="float64"):
    rng = np.random.default_rng(seed)
    X, T = H.small_regression(12, rng)
    net = pybp.Network([3, 5, 2], "tanh", "sigmoid", seed=seed,
                       backend=backend, dtype=dtype)
    H.randomize_biases(net, rng)
    return net, X, T


def _assert_branches(ref):
    """The reference saw every case of its rule (else the test is weak)."""
    if isinstance(ref, H.RefRprop):
        assert ref.grew > 0 and ref.shrank > 0
    if isinstance(ref, H.RefQuickprop):
        assert ref.capped > 0 and ref.parabola > 0


def _close(got, expected, rtol=1e-10, msg=""):
    """Equal up to rtol relative to the parameters' scale."""
    scale = max(1.0, float(np.max(np.abs(expected))))
    np.testing.assert_allclose(got, expected, rtol=0, atol=rtol * scale,
                               err_msg=msg)


# ---- each optimizer against its reference -------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("make_opt, make_ref", [c[1:] for c in CASES],
                         ids=CASE_IDS)
def test_full_batch_fit_matches_reference(make_opt, make_ref, backend):
    net, X, T = _problem(backend)
    ref = make_ref()
    expected = H.reference_steps(net, X, T, ref, STEPS)
    _assert_branches(ref)
    snaps = H.Snapshots()
    history = net.fit(X, T, optimizer=make_opt(), epochs=STEPS,
                      batch_size=len(X), shuffle=False, callbacks=snaps)
    assert history.epochs == STEPS
    assert len(snaps.params) == STEPS
    for step, (got, exp) in enumerate(zip(snaps.params, expected)):
        _close(got, exp, msg=f"after step {step + 1}")
    # The parameters really moved (a no-op optimizer would fail above, but
    # say so plainly).
    assert np.max(np.abs(expected[-1] - snaps.params[0])) > 1e-3


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["momentum", "adam", "rprop", "quickprop"])
def test_trainer_fit_one_epoch_at_a_time_keeps_state(name, backend):
    """Trainer.fit(epochs=1) called k times = k reference steps: the
    optimizer state (velocity, moments, step sizes, previous slopes) lives
    in the Trainer and survives between calls."""
    make_opt, make_ref = dict((c[0], c[1:]) for c in CASES)[name]
    net, X, T = _problem(backend, seed=11)
    expected = H.reference_steps(net, X, T, make_ref(), 5)
    trainer = pybp.Trainer(optimizer=make_opt(), batch_size=len(X),
                           shuffle=False)
    for exp in expected:
        trainer.fit(net, X, T, epochs=1)
        _close(net.params, exp)


@pytest.mark.parametrize("name", ["sgd-decay", "momentum", "nesterov", "adam",
                                  "rmsprop", "adagrad", "rprop-clipped",
                                  "quickprop"])
def test_float32_follows_reference(name):
    """The float32 kernels run the same rules (to float32 accuracy)."""
    make_opt, make_ref = dict((c[0], c[1:]) for c in CASES)[name]
    net, X, T = _problem("c", dtype="float32")
    expected = H.reference_steps(net, X, T, make_ref(), 4)
    snaps = H.Snapshots()
    net.fit(X, T, optimizer=make_opt(), epochs=4, batch_size=len(X),
            shuffle=False, callbacks=snaps)
    assert snaps.params[-1].dtype == np.float32
    for got, exp in zip(snaps.params, expected):
        _close(got.astype(np.float64), exp, rtol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", ["rprop", "rprop-clipped", "quickprop"])
@pytest.mark.parametrize("batch_size, shuffle", [(5, False), (1, False),
                                                 (5, True)])
def test_full_batch_optimizers_step_once_per_epoch(name, batch_size, shuffle,
                                                   backend):
    """Rprop and Quickprop take one step per epoch on the whole training
    set's gradient; batch_size only chunks the computation (12 samples in
    batches of 5: 5 + 5 + 2), and the order does not matter."""
    make_opt, make_ref = dict((c[0], c[1:]) for c in CASES)[name]
    net, X, T = _problem(backend, seed=5)
    expected = H.reference_steps(net, X, T, make_ref(), 5)
    snaps = H.Snapshots()
    history = net.fit(X, T, optimizer=make_opt(), epochs=5,
                      batch_size=batch_size, shuffle=shuffle, seed=3,
                      callbacks=snaps)
    assert history.epochs == 5
    for got, exp in zip(snaps.params, expected):
        _close(got, exp, rtol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("make_opt", [
    lambda wd: optim.SGD(0.5, weight_decay=wd),
    lambda wd: optim.SGD(0.5, momentum=0.9, weight_decay=wd),
    lambda wd: optim.Adam(0.1, weight_decay=wd),
    lambda wd: optim.Adagrad(0.1, weight_decay=wd),
    lambda wd: optim.Rprop(weight_decay=wd),
    lambda wd: optim.Quickprop(weight_decay=wd),
], ids=["sgd", "momentum", "adam", "adagrad", "rprop", "quickprop"])
def test_weight_decay_spares_biases(make_opt, backend):
    """After one full-batch step from the same start, weight decay changes
    the weights but leaves the biases exactly as without it."""
    net, X, T = _problem(backend, seed=9)
    # Large weights make the decay term dominate the sign for Rprop.
    net.params[...] *= 3.0
    a, b = net.copy(), net.copy()
    a.fit(X, T, optimizer=make_opt(0.0), batch_size=len(X), shuffle=False)
    b.fit(X, T, optimizer=make_opt(5.0), batch_size=len(X), shuffle=False)
    for ba, bb in zip(a.biases, b.biases):
        np.testing.assert_array_equal(ba, bb)
    assert any(not np.array_equal(wa, wb) for wa, wb in zip(a.weights,
                                                           b.weights))
    # ... and that bias step was a real step.
    assert any(not np.array_equal(ba, b0) for ba, b0 in zip(a.biases,
                                                           net.biases))


# ---- names and defaults ---------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, make_opt", [
    ("sgd", optim.SGD), ("adam", optim.Adam), ("rmsprop", optim.RMSprop),
    ("adagrad", optim.Adagrad), ("rprop", optim.Rprop),
    ("quickprop", optim.Quickprop),
])
def test_names_give_default_optimizers(name, make_opt, backend):
    net, X, T = _problem(backend, seed=2)
    a, b = net.copy(), net.copy()
    a.fit(X, T, optimizer=name, epochs=3, batch_size=4, seed=1)
    b.fit(X, T, optimizer=make_opt(), epochs=3, batch_size=4, seed=1)
    np.testing.assert_array_equal(a.params, b.params)
    assert not np.array_equal(a.params, net.params)
    assert type(optim.get(name)) is make_opt
    assert type(optim.get(name.upper())) is make_opt


@pytest.mark.parametrize("name, ref", [
    ("adam", lambda: H.RefAdam(0.001, 0.9, 0.999, 1e-8)),       # the paper's
    ("rprop", lambda: H.RefRprop(1.2, 0.5, 0.1, 0.0, 50.0)),     # FANN's
    ("quickprop", lambda: H.RefQuickprop(0.7, 1.75, 1e-4)),      # FANN's
])
def test_default_hyper_parameters(name, ref):
    net, X, T = _problem("c", seed=4)
    expected = H.reference_steps(net, X, T, ref(), 4)
    snaps = H.Snapshots()
    net.fit(X, T, optimizer=name, epochs=4, batch_size=len(X), shuffle=False,
            callbacks=snaps)
    for got, exp in zip(snaps.params, expected):
        _close(got, exp)


def test_documented_default_attributes():
    r = optim.Rprop()
    assert (r.eta_plus, r.eta_minus, r.delta0, r.delta_min, r.delta_max,
            r.weight_decay) == (1.2, 0.5, 0.1, 0.0, 50.0, 0.0)
    q = optim.Quickprop()
    assert (q.lr, q.mu, q.weight_decay) == (0.7, 1.75, 1e-4)
    a = optim.Adam()
    assert (a.lr, a.beta1, a.beta2, a.eps) == (0.001, 0.9, 0.999, 1e-8)
    s = optim.SGD(0.1)
    assert (s.lr, s.momentum, s.nesterov, s.weight_decay) == (0.1, 0, False, 0)


# ---- argument checking ----------------------------------------------------

@pytest.mark.parametrize("build, word", [
    (lambda: optim.SGD(-0.1), "lr"),
    (lambda: optim.SGD(float("nan")), "lr"),
    (lambda: optim.SGD(0.1, momentum=-0.5), "momentum"),
    (lambda: optim.SGD(0.1, momentum=1.0), "momentum"),
    (lambda: optim.SGD(0.1, weight_decay=-1e-3), "weight_decay"),
    (lambda: optim.Adam(-0.001), "lr"),
    (lambda: optim.Adam(beta1=1.0), "beta1"),
    (lambda: optim.Adam(beta1=-0.1), "beta1"),
    (lambda: optim.Adam(beta2=1.0), "beta2"),
    (lambda: optim.Adam(beta2=1.5), "beta2"),
    (lambda: optim.Adam(eps=0.0), "eps"),
    (lambda: optim.Adam(eps=-1e-8), "eps"),
    (lambda: optim.Adam(weight_decay=-1.0), "weight_decay"),
    (lambda: optim.RMSprop(-0.01), "lr"),
    (lambda: optim.RMSprop(rho=1.0), "rho"),
    (lambda: optim.RMSprop(eps=0.0), "eps"),
    (lambda: optim.Adagrad(-0.01), "lr"),
    (lambda: optim.Adagrad(eps=0.0), "eps"),
    (lambda: optim.Adagrad(eps=-1.0), "eps"),
    (lambda: optim.Rprop(eta_plus=1.0), "eta_plus"),
    (lambda: optim.Rprop(eta_plus=0.8), "eta_plus"),
    (lambda: optim.Rprop(eta_minus=0.0), "eta_minus"),
    (lambda: optim.Rprop(eta_minus=1.0), "eta_minus"),
    (lambda: optim.Rprop(eta_minus=1.5), "eta_minus"),
    (lambda: optim.Rprop(delta0=0.1, delta_min=0.2), "delta"),
    (lambda: optim.Rprop(delta0=0.0), "delta0"),
    (lambda: optim.Rprop(delta0=60.0, delta_max=50.0), "delta"),
    (lambda: optim.Rprop(weight_decay=-1.0), "weight_decay"),
    (lambda: optim.Quickprop(lr=-0.7), "lr"),
    (lambda: optim.Quickprop(mu=0.0), "mu"),
    (lambda: optim.Quickprop(mu=-1.0), "mu"),
    (lambda: optim.Quickprop(weight_decay=-1e-4), "weight_decay"),
])
def test_bad_optimizer_arguments_raise_value_error(build, word):
    with pytest.raises(ValueError, match=word):
        build()


@pytest.mark.parametrize("build", [
    lambda: optim.SGD("fast"),
    lambda: optim.SGD(0.1, momentum="0.9"),
    lambda: optim.SGD(0.1, momentum=0.9, nesterov="yes"),
    lambda: optim.Adam(beta1=None),
    lambda: optim.Rprop(eta_plus=[1.2]),
])
def test_mistyped_optimizer_arguments_raise_type_error(build):
    with pytest.raises(TypeError):
        build()


@pytest.mark.parametrize("build, first", [
    (lambda: optim.Adam(-1.0, beta1=2.0, weight_decay=-1.0), "lr"),
    (lambda: optim.Adam(beta1=2.0, beta2=2.0, eps=0.0), "beta1"),
    (lambda: optim.Adam(beta2=2.0, eps=0.0, weight_decay=-1.0), "beta2"),
    (lambda: optim.RMSprop(rho=1.0, eps=0.0, weight_decay=-1.0), "rho"),
    (lambda: optim.Adagrad(eps=0.0, weight_decay=-1.0), "eps"),
    (lambda: optim.Quickprop(mu=0.0, weight_decay=-1.0), "mu"),
])
def test_several_bad_arguments_name_the_first_checked(build, first):
    """lr, then the optimizer's own fields in signature order, then
    weight_decay: the error names the first bad one."""
    with pytest.raises(ValueError) as e:
        build()
    assert str(e.value).startswith(f"{first} must be")


def test_optimizer_fields_are_floats_from_their_checks():
    opt = optim.Adam(np.float32(0.01), beta1=np.float64(0.5), beta2=0.75,
                     eps=1, weight_decay=0)
    assert (opt.beta1, opt.beta2, opt.eps, opt.weight_decay) == \
        (0.5, 0.75, 1.0, 0.0)
    assert all(type(v) is float for v in (opt.beta1, opt.beta2, opt.eps,
                                          opt.weight_decay))
    with pytest.raises(TypeError, match="mu must be a real number"):
        optim.Quickprop(mu=True)


def test_unknown_optimizer_name():
    net, X, T = _problem("c")
    with pytest.raises(ValueError, match="adamw"):
        net.fit(X, T, optimizer="adamw")
    with pytest.raises(ValueError):
        pybp.Trainer(optimizer="lbfgs")
    with pytest.raises(ValueError):
        optim.get("")
    with pytest.raises(TypeError):
        net.fit(X, T, optimizer=42)
    with pytest.raises(TypeError):
        pybp.Trainer(optimizer=optim.Adam)   # the class, not an instance


# ---- learning-rate schedules ----------------------------------------------------

def _lr_run(optimizer, epochs, n=20, batch_size=4, **kwargs):
    rng = np.random.default_rng(0)
    X, T = H.small_regression(n, rng)
    net = pybp.Network([3, 4, 2], "tanh", "sigmoid", seed=0)
    return net.fit(X, T, optimizer=optimizer, epochs=epochs,
                   batch_size=batch_size, seed=0, **kwargs)


def test_float_lr_and_constant_schedule():
    h = _lr_run(optim.SGD(0.05), 4)
    assert h.lr == [0.05] * 4
    h = _lr_run(optim.Adam(optim.Constant(0.02)), 5)
    assert h.lr == [0.02] * 5


def test_step_decay():
    h = _lr_run(optim.SGD(optim.StepDecay(0.4, step_size=3, gamma=0.5)), 8)
    expected = [0.4 * 0.5 ** (e // 3) for e in range(8)]
    assert h.lr == pytest.approx(expected, rel=1e-15)
    assert h.lr[2] == 0.4 and h.lr[3] == 0.2 and h.lr[6] == 0.1


def test_exponential_decay():
    h = _lr_run(optim.RMSprop(optim.ExponentialDecay(0.1, gamma=0.9)), 6)
    assert h.lr == pytest.approx([0.1 * 0.9 ** e for e in range(6)], rel=1e-14)


@pytest.mark.parametrize("validation_split", [0.0, 0.25])
def test_inverse_scaling_counts_training_samples(validation_split):
    """scikit-learn's invscaling: lr / (t + 1) ** power_t with t the number
    of training samples seen before the epoch (validation rows excluded)."""
    n = 20
    n_train = n - int(round(n * validation_split))
    h = _lr_run(optim.SGD(optim.InverseScaling(0.5, power_t=0.25)), 5, n=n,
                validation_split=validation_split)
    expected = [0.5 / (e * n_train + 1) ** 0.25 for e in range(5)]
    assert h.lr == pytest.approx(expected, rel=1e-14)
    assert h.lr[0] == 0.5


def test_schedule_continues_across_trainer_fits():
    rng = np.random.default_rng(1)
    X, T = H.small_regression(16, rng)
    net = pybp.Network([3, 4, 2], "tanh", "sigmoid", seed=1)
    trainer = pybp.Trainer(optimizer=optim.SGD(
        optim.StepDecay(0.2, step_size=2, gamma=0.1)), batch_size=4, seed=0)
    h1 = trainer.fit(net, X, T, epochs=3)
    h2 = trainer.fit(net, X, T, epochs=3)
    expected = [0.2 * 0.1 ** (e // 2) for e in range(6)]
    assert h1.lr + h2.lr == pytest.approx(expected, rel=1e-14)
    # InverseScaling sees the samples of earlier fits (and partial fits).
    trainer = pybp.Trainer(optimizer=optim.SGD(optim.InverseScaling(1.0, 0.5)),
                           batch_size=4, seed=0)
    trainer.fit(net, X, T, epochs=2)
    h = trainer.partial_fit(net, X[:8], T[:8])
    assert h.lr == pytest.approx([1.0 / (2 * 16 + 1) ** 0.5])
    h = trainer.fit(net, X, T, epochs=1)
    assert h.lr == pytest.approx([1.0 / (2 * 16 + 8 + 1) ** 0.5])


@pytest.mark.parametrize("backend", BACKENDS)
def test_scheduled_lr_is_the_lr_applied(backend):
    """The recorded lr is the one the update used: full-batch SGD under an
    ExponentialDecay schedule equals the reference with that lr per step."""
    net, X, T = _problem(backend, seed=6)
    ref = H.RefSGD(0.0, momentum=0.5)
    work, w = net.copy(), net.params.copy()
    mask = H.weight_mask(net)
    expected = []
    for e in range(5):
        ref.lr = 0.8 * 0.7 ** e
        work.params[...] = w
        w = ref.step(w, work.gradients(X, T).params.copy(), mask)
        expected.append(w)
    snaps = H.Snapshots()
    h = net.fit(X, T, optimizer=optim.SGD(optim.ExponentialDecay(0.8, 0.7),
                                          momentum=0.5),
                epochs=5, batch_size=len(X), shuffle=False, callbacks=snaps)
    assert h.lr == pytest.approx([0.8 * 0.7 ** e for e in range(5)])
    for got, exp in zip(snaps.params, expected):
        _close(got, exp)


def _plateau_reference(monitored, lr, factor, patience, min_delta, min_lr):
    """The lr used in each epoch by the rule "multiply by factor once the
    monitored loss has gone `patience` epochs without improving by more
    than min_delta" (then the count starts again), never below min_lr --
    the same count as early stopping's patience."""
    out, current, best, wait = [], lr, math.inf, 0
    for m in monitored:
        out.append(current)
        if m < best - min_delta:
            best, wait = m, 0
        else:
            wait += 1
            if wait >= patience:
                current = max(current * factor, min_lr)
                wait = 0
    return out


def test_reduce_on_plateau_factor_min_delta_and_min_lr():
    """patience=0: every epoch that does not improve by more than min_delta
    cuts the rate, down to min_lr (the loss keeps falling, but by less than
    min_delta after the first epochs)."""
    sched = optim.ReduceOnPlateau(0.1, factor=0.5, patience=0,
                                  min_delta=0.003, min_lr=0.02)
    h = _lr_run(optim.SGD(sched), 12, n=40)
    expected = _plateau_reference(h.loss, 0.1, 0.5, 0, 0.003, 0.02)
    assert h.lr == pytest.approx(expected, rel=1e-14)
    assert h.lr[0] == 0.1
    assert min(h.lr) == pytest.approx(0.02)     # the floor was reached
    assert len(set(h.lr)) >= 3                  # and it took several cuts


def test_reduce_on_plateau_patience_counts_like_early_stopping():
    """patience=2: the rate is cut once the loss has gone 2 epochs without
    improving (the docstring's "has not improved ... for patience epochs",
    and how fit(patience=...) counts).  min_delta is huge, so only the first
    epoch counts as an improvement: epochs 1 and 2 do not improve, so epoch
    3 runs at the reduced rate."""
    sched = optim.ReduceOnPlateau(0.1, factor=0.5, patience=2, min_delta=1e6)
    h = _lr_run(optim.SGD(sched), 8)
    expected = _plateau_reference(h.loss, 0.1, 0.5, 2, 1e6, 0.0)
    assert expected == [0.1, 0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125]
    assert h.lr == pytest.approx(expected, rel=1e-14)


def test_reduce_on_plateau_watches_validation_loss():
    """With validation data the schedule watches the validation loss.  The
    validation targets are the opposite of the training targets, so the
    validation loss rises while the training loss falls: the rate is cut
    (it would not be if the training loss were watched)."""
    rng = np.random.default_rng(3)
    X, T = H.small_regression(30, rng)
    net = pybp.Network([3, 6, 2], "tanh", "sigmoid", seed=3)
    sched = optim.ReduceOnPlateau(0.5, factor=0.5, patience=0, min_delta=0.0)
    h = net.fit(X, T, optimizer=optim.SGD(sched), epochs=6, batch_size=5,
                seed=0, validation_data=(X, 1.0 - T))
    assert h.loss[-1] < h.loss[0] and h.val_loss[-1] > h.val_loss[0]
    by_val = _plateau_reference(h.val_loss, 0.5, 0.5, 0, 0.0, 0.0)
    by_train = _plateau_reference(h.loss, 0.5, 0.5, 0, 0.0, 0.0)
    assert by_val != by_train
    assert h.lr == pytest.approx(by_val, rel=1e-14)


@pytest.mark.parametrize("build", [
    lambda: optim.Constant(-1.0),
    lambda: optim.StepDecay(0.1, step_size=0),
    lambda: optim.StepDecay(0.1, gamma=0.0),
    lambda: optim.StepDecay(0.1, gamma=1.5),
    lambda: optim.ExponentialDecay(0.1, gamma=0.0),
    lambda: optim.ExponentialDecay(-0.1),
    lambda: optim.InverseScaling(0.1, power_t=-0.5),
    lambda: optim.ReduceOnPlateau(0.1, factor=1.0),
    lambda: optim.ReduceOnPlateau(0.1, factor=0.0),
    lambda: optim.ReduceOnPlateau(0.1, patience=-1),
    lambda: optim.ReduceOnPlateau(0.1, min_delta=-1.0),
    lambda: optim.ReduceOnPlateau(0.1, min_lr=-1.0),
])
def test_bad_schedule_arguments(build):
    with pytest.raises(ValueError):
        build()


# ---- every optimizer learns the credit task --------------------------------------

@pytest.fixture(scope="module")
def credit_data():
    Xtr, Ttr, _ = H.teacher_data(600, np.random.default_rng(1))
    Xte, Tte, lte = H.teacher_data(400, np.random.default_rng(2))
    return Xtr, Ttr, Xte, Tte, lte


@pytest.mark.parametrize("make_opt, batch_size, epochs", [
    (lambda: optim.SGD(0.3), 8, 60),
    (lambda: optim.SGD(0.1, momentum=0.9), 16, 60),
    (lambda: optim.SGD(0.05, momentum=0.9, nesterov=True), 16, 60),
    (lambda: optim.Adam(0.01), 16, 60),
    (lambda: optim.RMSprop(0.005), 16, 60),
    (lambda: optim.Adagrad(0.1), 16, 60),
    (lambda: optim.Rprop(), 600, 200),
    (lambda: optim.Quickprop(), 100, 300),
], ids=["sgd", "momentum", "nesterov", "adam", "rmsprop", "adagrad", "rprop",
        "quickprop"])
def test_each_optimizer_learns_the_credit_task(credit_data, make_opt,
                                               batch_size, epochs):
    """Seed 000's 10-4-6-8-4 network on a teacher-labelled data set: the
    loss falls clearly and held-out accuracy is far above chance (0.25; the
    largest class is 36% of the test set)."""
    Xtr, Ttr, Xte, Tte, lte = credit_data
    net = pybp.Network([10, 4, 6, 8, 4], "tanh", "softmax", seed=0)
    before = net.loss(Xtr, Ttr, loss="cross_entropy")
    h = net.fit(Xtr, Ttr, loss="cross_entropy", optimizer=make_opt(),
                epochs=epochs, batch_size=batch_size, seed=0)
    after = net.loss(Xtr, Ttr, loss="cross_entropy")
    assert h.stopped == "max_epochs"
    assert after < 0.5 * before
    accuracy = np.mean(net.classify(Xte) == lte)
    assert accuracy >= 0.7
    assert net.evaluate(Xte, Tte, loss="cross_entropy")["accuracy"] == \
        pytest.approx(accuracy)


# ---- every rate a schedule returns is checked ---------------------------------

class _Returns(optim.Schedule):
    """Returns rates[epoch] (the last one after the end)."""

    def __init__(self, *rates):
        self.rates = rates

    def __call__(self, epoch, samples_seen):
        return self.rates[min(epoch, len(self.rates) - 1)]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", [-0.1, 0.0, None, math.nan, math.inf, "0.1",
                                 True])
@pytest.mark.parametrize("make", [optim.SGD, optim.Adam, optim.Quickprop])
def test_a_bad_rate_from_a_schedule_is_refused_before_the_epoch(backend, bad,
                                                                 make):
    rng = np.random.default_rng(0)
    X, T = rng.normal(size=(8, 2)), rng.uniform(0.1, 0.9, (8, 1))
    net = pybp.Network([2, 3, 1], seed=0, backend=backend)
    first = net.copy()
    first.fit(X, T, optimizer=make(lr=_Returns(0.1)), epochs=2, seed=0)
    with pytest.raises(ValueError, match=r"_Returns.*returned .* for epoch 2"):
        net.fit(X, T, optimizer=make(lr=_Returns(0.1, 0.1, bad)), epochs=4,
                seed=0)
    # The two good epochs were kept; the bad one never started.
    np.testing.assert_array_equal(net.params, first.params)
    fresh = pybp.Network([2, 3, 1], seed=0, backend=backend)
    before = fresh.params.copy()
    with pytest.raises(ValueError, match="for epoch 0"):
        fresh.fit(X, T, optimizer=make(lr=_Returns(bad)), epochs=1)
    np.testing.assert_array_equal(fresh.params, before)
