"""Trainer.save / Trainer.load: training resumes exactly."""
import json

import numpy as np
import pytest

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
