"""pybp._registry: one set of names, codes and constants, agreed on by the C
header (as compiled), the Cython boundary and the pure-Python backend; the
optimizer spec the boundary takes is strict."""
import numpy as np
import pytest

import pybp
from pybp import _backend, _core, _pycore, _registry, _validate, optim


def test_registry_codes_equal_the_compiled_c_enums():
    c = _core.c_constants()
    assert c["activation"] == _registry.ACTIVATIONS
    assert c["loss"] == _registry.LOSSES
    assert c["optimizer"] == _registry.OPTIMIZERS
    assert c["metric"] == _registry.METRICS
    assert c["leaky_slope"] == _registry.LEAKY_SLOPE == _pycore.LEAKY_SLOPE
    # The codes are distinct within each group (a duplicate would make two
    # names one rule in C).
    for group in ("activation", "loss", "optimizer", "metric"):
        assert len(set(c[group].values())) == len(c[group])


def test_import_check_refuses_a_registry_that_disagrees(monkeypatch):
    monkeypatch.setitem(_registry.LOSSES, "mse", 99)
    with pytest.raises(ImportError, match="loss codes"):
        _core._check_registry()
    monkeypatch.setitem(_registry.LOSSES, "mse", 2)
    monkeypatch.setattr(_registry, "LEAKY_SLOPE", 0.02)
    with pytest.raises(ImportError, match="LEAKY_SLOPE"):
        _core._check_registry()
    monkeypatch.setattr(_registry, "LEAKY_SLOPE", 0.01)
    _core._check_registry()


def test_every_module_takes_its_names_from_the_registry():
    assert _validate.ACTIVATIONS == tuple(_registry.ACTIVATIONS)
    assert _validate.LOSSES == tuple(_registry.LOSSES)
    assert set(_pycore.ACTIVATIONS) | {"softmax"} == set(_registry.ACTIVATIONS)
    assert set(_pycore.DERIVATIVES) == set(_pycore.ACTIVATIONS)
    assert set(optim.OPTIMIZERS) == set(_registry.OPTIMIZERS)
    assert set(_backend.BACKENDS) == set(_registry.BACKENDS)
    assert pybp.train.STOP_REASONS == _registry.STOP_REASONS


@pytest.mark.parametrize("sizes,bias", [((3, 4, 2), True), ((3, 4, 2), False),
                                        ((1, 1), True), ((5, 2, 7, 3), True)])
def test_one_layout_for_network_views_and_the_c_core(sizes, bias):
    offsets, n = _registry.layout(sizes, bias)
    assert n == _registry.n_params(sizes, bias)
    net = pybp.Network(sizes, bias=bias, seed=0)
    assert net.n_params == n == net.core.n_params
    for l, (wo, bo) in enumerate(offsets):
        assert np.shares_memory(net.weights[l], net.params)
        assert net.weights[l].ctypes.data == \
            net.params[wo:].ctypes.data
        if bias:
            assert net.biases[l].ctypes.data == net.params[bo:].ctypes.data
        else:
            assert bo == -1
    assert len(net.biases) == (len(sizes) - 1 if bias else 0)


ALL_OPTIMIZERS = [optim.SGD(0.1), optim.SGD(0.1, momentum=0.5),
                  optim.SGD(0.1, momentum=0.5, nesterov=True), optim.Adam(),
                  optim.RMSprop(), optim.Adagrad(), optim.Rprop(),
                  optim.Quickprop()]


@pytest.mark.parametrize("opt", ALL_OPTIMIZERS, ids=repr)
def test_spec_has_exactly_the_registry_fields_lr_included(opt):
    spec = opt.spec(0.25)
    fields = _registry.OPTIMIZER_FIELDS[opt.kind]
    assert set(spec) == {"kind", *fields}
    assert spec["kind"] == opt.kind
    if "lr" in fields:
        assert spec["lr"] == 0.25
        assert opt.spec()["lr"] == opt.lr
    for name in fields:
        assert isinstance(spec[name], (float, bool)), name


@pytest.mark.parametrize("opt", ALL_OPTIMIZERS, ids=repr)
def test_c_and_registry_agree_on_state_slots_and_full_batch(opt):
    spec = opt.spec()
    names = _registry.state_slot_names(spec)
    assert _core.state_slots(spec) == len(names) == _registry.state_slots(spec)
    assert _core.full_batch(spec) == opt.full_batch == \
        (opt.kind in _registry.FULL_BATCH)
    assert len(set(names)) == len(names)


def test_state_slot_names():
    assert _registry.state_slot_names(optim.SGD(0.1).spec()) == ()
    assert _registry.state_slot_names(
        optim.SGD(0.1, momentum=0.9).spec()) == ("velocity",)
    assert _registry.state_slot_names(optim.Adam().spec()) == ("m", "v")
    assert _registry.state_slot_names(optim.RMSprop().spec()) == ("v",)
    assert _registry.state_slot_names(optim.Adagrad().spec()) == ("sum_sq",)
    assert _registry.state_slot_names(optim.Rprop().spec()) == \
        ("prev_grad", "step_size")
    assert _registry.state_slot_names(optim.Quickprop().spec()) == \
        ("prev_slope", "prev_step")


def test_rprop_slots_hold_what_their_names_say(backend):
    """After one full-batch Rprop step from zero state, slot "prev_grad" is
    the gradient and "step_size" is delta0 * eta_plus^0 = delta0 (no
    previous gradient to compare with)."""
    rng = np.random.default_rng(1)
    X, T = rng.normal(size=(8, 3)), rng.uniform(0.1, 0.9, (8, 2))
    net = pybp.Network([3, 4, 2], seed=0, backend=backend)
    g = net.gradients(X, T).params
    trainer = pybp.Trainer(optimizer=optim.Rprop(delta0=0.05), batch_size=8,
                           shuffle=False)
    trainer.fit(net, X, T, epochs=1)
    state = trainer.optimizer_state(net).reshape(2, -1)
    np.testing.assert_allclose(state[0], g, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(state[1], 0.05)


@pytest.mark.parametrize("bad,match", [
    ({"kind": "sgd", "lr": 0.1, "momentum": 0.0, "nesterov": False},
     "missing \\['weight_decay'\\]"),
    ({"kind": "sgd", "lr": 0.1, "momentum": 0.0, "nesterov": False,
      "weight_decay": 0.0, "mometum": 0.5}, "unknown \\['mometum'\\]"),
    ({"kind": "rmsprop", "lr": 0.1, "beta2": 0.9, "eps": 1e-8,
      "weight_decay": 0.0}, "rho"),
    ({"kind": "rprop", "lr": 0.1, "eta_plus": 1.2, "eta_minus": 0.5,
      "delta0": 0.1, "delta_min": 0.0, "delta_max": 50.0,
      "weight_decay": 0.0}, "unknown \\['lr'\\]"),
    ({"kind": "newton"}, "unknown kind"),
    ({}, "unknown kind"),
])
def test_the_boundary_refuses_an_incomplete_or_unknown_spec(bad, match):
    with pytest.raises(ValueError, match=match):
        _core.state_slots(bad)


def test_train_epoch_refuses_a_bad_spec_before_touching_parameters():
    net = pybp.Network([2, 2, 1], seed=0)
    before = net.params.copy()
    X = np.zeros((4, 2))
    T = np.zeros((4, 1))
    work = np.empty(net.core.epoch_workspace_size(1))
    spec = dict(optim.SGD(0.1).spec(), lr_typo=1.0)
    with pytest.raises(ValueError, match="lr_typo"):
        net.core.train_epoch(spec, 0, net.params, np.empty(0), X, T,
                             np.empty(0), np.arange(4, dtype=np.int64), 1,
                             "half_sse", True, None, 0.0, work)
    with pytest.raises(ValueError, match="step"):
        net.core.train_epoch(optim.SGD(0.1).spec(), -1, net.params,
                             np.empty(0), X, T, np.empty(0),
                             np.arange(4, dtype=np.int64), 1, "half_sse",
                             True, None, 0.0, work)
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.usefixtures("exact_kernels")  # bits against the Python backend
def test_rmsprop_rho_reaches_c_as_rho(backend):
    """A changed rho changes the C update (it was read from beta2 before);
    C and Python agree to the bit in float64."""
    rng = np.random.default_rng(2)
    X, T = rng.normal(size=(16, 3)), rng.normal(size=(16, 2))
    out = {}
    for be in ("c", "python"):
        for rho in (0.5, 0.99):
            net = pybp.Network([3, 4, 2], "tanh", "identity", seed=0,
                               backend=be)
            net.fit(X, T, optimizer=optim.RMSprop(0.01, rho=rho), epochs=2,
                    batch_size=4, seed=0)
            out[be, rho] = net.params.copy()
    assert not np.array_equal(out["c", 0.5], out["c", 0.99])
    for rho in (0.5, 0.99):
        np.testing.assert_array_equal(out["c", rho], out["python", rho])
