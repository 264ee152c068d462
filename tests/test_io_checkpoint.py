"""Trainer.save / Trainer.load: training resumes exactly."""
import io
import json
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pybp
from pybp import optim


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    return X, np.eye(3)[rng.integers(0, 3, 120)]


OPTIMIZERS = [
    lambda: optim.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    lambda: optim.Adam(optim.ReduceOnPlateau(0.01, patience=1)),
    lambda: optim.RMSprop(optim.StepDecay(0.01, 2, 0.5)),
    lambda: optim.Adagrad(optim.InverseScaling(0.1)),
    lambda: optim.Rprop(delta0=0.05),
    lambda: optim.Quickprop(0.3),
]


@pytest.mark.parametrize("make_opt", OPTIMIZERS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_resume_equals_uninterrupted_training(tmp_path, make_opt, dtype):
    X, T = _data()
    start = pybp.Network([5, 7, 3], "tanh", "softmax", seed=1, dtype=dtype)
    options = dict(loss="cross_entropy", batch_size=8, seed=5)

    straight = start.copy()
    pybp.Trainer(optimizer=make_opt(), **options).fit(straight, X, T,
                                                      epochs=6)

    net = start.copy()
    trainer = pybp.Trainer(optimizer=make_opt(), **options)
    trainer.fit(net, X, T, epochs=3)
    path = tmp_path / "ckpt.safetensors"
    trainer.save(path, net)
    trainer2, net2 = pybp.Trainer.load(path)
    assert net2.dtype == np.dtype(dtype)
    assert trainer2.epochs_done == 3 and trainer2.samples_seen == 3 * len(X)
    h = trainer2.fit(net2, X, T, epochs=3)
    assert len(h.loss) == 3
    assert np.array_equal(straight.params, net2.params)


def test_checkpoint_is_a_plain_safetensors_file(tmp_path):
    X, T = _data()
    net = pybp.Network([5, 4, 3], "relu", "softmax", seed=0)
    trainer = pybp.Trainer(loss="cross_entropy", optimizer="adam")
    trainer.fit(net, X, T)
    trainer.save(tmp_path / "c.safetensors", net)
    tensors, meta = pybp.io.read_safetensors(tmp_path / "c.safetensors")
    assert tensors["trainer.optimizer_state"].shape == (2, net.n_params)
    config = json.loads(meta["trainer"])
    assert config["optimizer"]["kind"] == "adam"
    assert config["options"]["loss"] == "cross_entropy"


def test_plain_model_file_is_not_a_checkpoint(tmp_path):
    net = pybp.Network([2, 2, 1])
    net.save(tmp_path / "m.safetensors")
    with pytest.raises(pybp.FormatError, match="not a pybp training checkpoint"):
        pybp.Trainer.load(tmp_path / "m.safetensors")


def test_corrupt_trainer_metadata_is_a_format_error(tmp_path):
    X, T = _data()
    net = pybp.Network([5, 4, 3], "tanh", "softmax", seed=0)
    trainer = pybp.Trainer(loss="cross_entropy", optimizer="sgd")
    trainer.save(tmp_path / "c.safetensors", net)
    tensors, meta = pybp.io.read_safetensors(tmp_path / "c.safetensors")
    bad_configs = [
        "not json",
        json.dumps({"options": {"loss": "nope"}}),
        json.dumps(dict(json.loads(meta["trainer"]), step=-1)),
        json.dumps(dict(json.loads(meta["trainer"]),
                        optimizer={"kind": "adam", "args": {"beta1": 2.0}})),
    ]
    for bad in bad_configs:
        pybp.io.write_safetensors(tmp_path / "bad.safetensors", tensors,
                                  dict(meta, trainer=bad))
        with pytest.raises(pybp.FormatError):
            pybp.Trainer.load(tmp_path / "bad.safetensors")


def test_reset_forgets_optimizer_state_and_counters():
    """After reset() a Trainer trains like a new one (shuffle off, so the
    random stream plays no part)."""
    X, T = _data()
    start = pybp.Network([5, 6, 3], "tanh", "softmax", seed=3)
    options = dict(loss="cross_entropy", batch_size=10, shuffle=False)
    fresh = start.copy()
    pybp.Trainer(optimizer=optim.Adam(0.01), **options).fit(fresh, X, T,
                                                            epochs=2)
    trainer = pybp.Trainer(optimizer=optim.Adam(0.01), **options)
    trainer.fit(start.copy(), X, T, epochs=3)
    trainer.reset()
    assert trainer.epochs_done == 0 and trainer.samples_seen == 0
    again = start.copy()
    trainer.fit(again, X, T, epochs=2)
    assert np.array_equal(again.params, fresh.params)


# ---- malformed checkpoints: only ever FormatError --------------------------

def _checkpoint(tmp_path, opt="adam"):
    X, T = _data()
    net = pybp.Network([5, 4, 3], "tanh", "softmax", seed=0)
    trainer = pybp.Trainer(loss="cross_entropy", optimizer=opt, batch_size=16)
    trainer.fit(net, X, T, epochs=1)
    path = tmp_path / "c.safetensors"
    trainer.save(path, net)
    return path


def _with_trainer(tmp_path, change):
    """A checkpoint whose trainer config has gone through change(config)."""
    tensors, meta = pybp.io.read_safetensors(_checkpoint(tmp_path))
    config = json.loads(meta["trainer"])
    change(config)
    bad = tmp_path / "bad.safetensors"
    pybp.io.write_safetensors(bad, tensors, dict(meta, trainer=json.dumps(
        config)))
    return bad


def _set_rng(**kw):
    def change(config):
        for key, value in kw.items():
            if key in ("state", "inc"):
                config["rng"]["state"][key] = value
            else:
                config["rng"][key] = value
    return change


@pytest.mark.parametrize("change,pattern", [
    (_set_rng(state=-1), "rng state state"),
    (_set_rng(state=2**128), "rng state state"),
    (_set_rng(inc=-3), "rng state inc"),
    (_set_rng(inc=2**200 + 1), "rng state inc"),
    (_set_rng(inc=4), "odd"),
    (_set_rng(state=1.5), "rng state state"),
    (_set_rng(state="12"), "rng state state"),
    (_set_rng(bit_generator="MT19937"), "PCG64"),
    (_set_rng(has_uint32=2), "has_uint32"),
    (_set_rng(has_uint32=True), "has_uint32"),
    (_set_rng(uinteger=-1), "uinteger"),
    (_set_rng(uinteger=2**32), "uinteger"),
    (lambda c: c["rng"].pop("uinteger"), "rng must be"),
    (lambda c: c["rng"].update(extra=1), "rng must be"),
    (lambda c: c.update(rng=[1, 2]), "rng must be"),
    (lambda c: c["rng"].update(state=[1]), "rng state must be"),
    (lambda c: c.pop("rng"), "no 'rng'"),
    (lambda c: c.pop("step"), "step"),
    (lambda c: c.update(step=2**70), r"2\*\*63"),
    (lambda c: c.update(step=True), None),
    (lambda c: c.update(epochs_done=-4), "epochs_done"),
    (lambda c: c.update(options=[]), None),
    (lambda c: c["options"].update(batch_size=0), "batch_size"),
    (lambda c: c["options"].update(max_seconds=-1.0), None),
    (lambda c: c["options"].update(bogus=1), "bogus"),
    (lambda c: c.update(optimizer="adam"), None),
    (lambda c: c.update(optimizer={"kind": "nope"}), None),
    (lambda c: c.update(optimizer=None), None),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_trainer_config_is_format_error(tmp_path, change, pattern):
    bad = _with_trainer(tmp_path, change)
    with pytest.raises(pybp.FormatError, match=pattern):
        pybp.Trainer.load(bad)


def test_negative_pcg64_state_was_overflow_error(tmp_path):
    """Issue 11, defect 5: numpy's own setter raises OverflowError for a
    negative state (NumPy 2; 1.x wraps it silently); pybp checks the state
    itself and says FormatError, whatever the NumPy."""
    with pytest.raises(pybp.FormatError, match="rng"):
        pybp.Trainer.load(_with_trainer(tmp_path, _set_rng(state=-1)))


def test_bad_optimizer_state_tensor_is_format_error(tmp_path):
    path = _checkpoint(tmp_path)
    tensors, meta = pybp.io.read_safetensors(path)
    state = tensors["trainer.optimizer_state"]
    for bad in (state[:1], state.astype(np.float32),
                np.full_like(state, np.nan), state.reshape(-1)):
        pybp.io.write_safetensors(path, dict(
            tensors, **{"trainer.optimizer_state": bad}), meta)
        with pytest.raises(pybp.FormatError, match="optimizer state|shape"):
            pybp.Trainer.load(path)


def test_checkpoint_truncations_are_format_errors(tmp_path):
    data = _checkpoint(tmp_path).read_bytes()
    path = tmp_path / "t.safetensors"
    for cut in range(0, len(data), 7):
        path.write_bytes(data[:cut])
        with pytest.raises(pybp.FormatError):
            pybp.Trainer.load(path)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**140, 2**140) |
    st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) |
    st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12)


def _leaves(value, path=()):
    """Every (path, value) inside a JSON value, containers included."""
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, path + (i,))


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    path = _checkpoint(tmp_path_factory.mktemp("ckpt"), opt="sgd")
    return pybp.io.read_safetensors(path)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_trainer_configs_only_format_error(good_checkpoint, data):
    """Replace, drop or add one or more values anywhere in the trainer
    config: Trainer.load either loads or raises FormatError."""
    tensors, meta = good_checkpoint
    config = json.loads(meta["trainer"])
    for _ in range(data.draw(st.integers(1, 3))):
        spots = list(_leaves(config))
        path, _ = data.draw(st.sampled_from(spots))
        new = data.draw(_JSON)
        if not path:
            config = new
            continue
        parent = config
        for k in path[:-1]:
            parent = parent[k]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            parent.pop(path[-1])
        else:
            parent[path[-1]] = new
    blob = io.BytesIO()
    pybp.io.write_safetensors(blob, tensors, dict(meta, trainer=json.dumps(
        config)))
    try:
        trainer, net = pybp.io.load_checkpoint(blob.getvalue())
    except pybp.FormatError:
        return
    assert isinstance(trainer, pybp.Trainer) and isinstance(net, pybp.Network)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_checkpoint_byte_mutations_only_format_error(good_checkpoint,
                                                            data):
    tensors, meta = good_checkpoint
    blob = io.BytesIO()
    pybp.io.write_safetensors(blob, tensors, meta)
    base = bytearray(blob.getvalue())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(base) - 1))
        op = data.draw(st.sampled_from(["set", "insert", "delete"]))
        value = data.draw(st.integers(0, 255))
        if op == "set":
            base[pos] = value
        elif op == "insert":
            base[pos:pos] = bytes([value])
        else:
            del base[pos:pos + 1]
    try:
        pybp.io.load_checkpoint(bytes(base))
    except pybp.FormatError:
        pass


def test_megabyte_hostile_trainer_json_is_fast(tmp_path):
    tensors, meta = pybp.io.read_safetensors(_checkpoint(tmp_path))
    for bad in ('{"rng": ' + "9" * (1 << 20) + "}", "[" * (1 << 20),
                '{"step": 1' + "0" * (1 << 20) + "}"):
        pybp.io.write_safetensors(tmp_path / "h", tensors,
                                  dict(meta, trainer=bad))
        t = time.perf_counter()
        with pytest.raises(pybp.FormatError):
            pybp.Trainer.load(tmp_path / "h")
        assert time.perf_counter() - t < 1.0
