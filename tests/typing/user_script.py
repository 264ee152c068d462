"""A user's script, type-checked with ``mypy --strict`` by .ci/typecheck.sh
and tests/test_typing.py.

It uses the whole public API the way the README does: Network, Trainer,
History, every optimizer and schedule, pybp.load and pybp.io, pybp.datasets,
pybp.sklearn and check_gradients.  mypy must see real types through the
installed package's py.typed marker (no untyped calls, no missing-stub
errors); the annotated assignments below state the types a user sees, so a
hint that changes to something else fails the check.  It also runs
(tests/test_typing.py executes it); the parts that need optional packages
(scikit-learn, matplotlib, onnx) are skipped at run time when those are
missing.
"""
from __future__ import annotations

import io
import os
import tempfile
from typing import Any

import numpy as np
import numpy.typing as npt

import pybp
import pybp.datasets
import pybp.io
import pybp.plot
from pybp import optim

Floats = npt.NDArray[np.floating[Any]]


def xor() -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    T = np.array([[0], [1], [1], [0]], dtype=np.float64)
    return X, T


def train() -> pybp.Network:
    X, T = xor()
    net = pybp.Network([2, 4, 1], activation="tanh",
                       output_activation="sigmoid", seed=0)
    history: pybp.History = net.fit(
        X, T, loss="half_sse", optimizer=optim.SGD(lr=0.5, momentum=0.9),
        epochs=300, batch_size=1, seed=0)
    last: float = history.loss[-1]
    assert last < history.loss[0]
    out: Floats = net.predict(X)
    assert out.shape == (4, 1)
    same: Floats = net(X)
    assert np.array_equal(out, same)
    labels = net.classify(X)
    assert not isinstance(labels, int) and labels.shape == (4,)
    one: int | npt.NDArray[np.integer[Any]] = net.classify(X[0])
    assert isinstance(one, int)
    loss: float = net.loss(X, T)
    assert loss >= 0.0
    scores = net.evaluate(X, T, loss="half_sse")
    mean: float = scores["loss"]
    accuracy: float | None = scores["accuracy"]
    assert mean == loss and accuracy is not None
    return net


def network_api(net: pybp.Network) -> None:
    X, T = xor()
    sizes: tuple[int, ...] = net.sizes
    assert sizes == (2, 4, 1)
    acts: tuple[str, ...] = net.activations
    output: str = net.output_activation
    assert acts[-1] == output == "sigmoid"
    has_bias: bool = net.bias
    n_in: int = net.n_inputs
    n_out: int = net.n_outputs
    assert has_bias and (n_in, n_out) == (2, 1)
    params: Floats = net.params
    first: Floats = net.weights[0]
    assert first.shape == (4, 2) and params.size == net.n_params
    net.weights[0] = first * 1.0          # copies into the view
    bias_view: Floats = net.biases[0]
    assert bias_view.shape == (4,)
    assert net.dtype == np.float64
    backend: str = net.backend
    assert backend == "c"

    g: pybp.Gradients = net.gradients(X, T)
    grad_loss: float = g.loss
    flat: Floats = g.params
    deltas: list[Floats] = g.deltas
    assert grad_loss >= 0 and flat.shape == params.shape and len(deltas) == 2
    diff: float = pybp.check_gradients(net, X, T)
    assert diff < 1e-5

    twin: pybp.Network = net.copy(backend="python")
    assert np.allclose(twin.predict(X), net.predict(X))
    rebuilt = pybp.Network.from_params([2, 4, 1], ["tanh", "sigmoid"],
                                       net.params)
    assert np.array_equal(rebuilt.params, net.params)
    d: dict[str, Any] = net.to_dict()
    assert np.array_equal(pybp.Network.from_dict(d).params, net.params)


def optimizers() -> list[optim.Optimizer]:
    schedules: list[optim.Schedule] = [
        optim.Constant(0.1), optim.StepDecay(0.1, step_size=2, gamma=0.5),
        optim.ExponentialDecay(0.1, gamma=0.9),
        optim.InverseScaling(0.1, power_t=0.5),
        optim.ReduceOnPlateau(0.1, factor=0.5, patience=1)]
    rate: float = schedules[1](3, 0)
    assert rate == 0.05
    made: list[optim.Optimizer] = [
        optim.SGD(schedules[0], momentum=0.9, nesterov=True),
        optim.Adam(schedules[1], beta1=0.9, beta2=0.999, eps=1e-8),
        optim.RMSprop(schedules[2], rho=0.9),
        optim.Adagrad(schedules[3], eps=1e-10),
        optim.Rprop(eta_plus=1.2, eta_minus=0.5, weight_decay=0.0),
        optim.Quickprop(0.7, mu=1.75),
        optim.SGD(schedules[4]),
    ]
    full: bool = made[4].full_batch
    assert full and made[4].schedule is None
    spec: dict[str, Any] = made[1].spec()
    assert spec["kind"] == "adam"
    return made


def trainer_api() -> None:
    X, T = xor()
    for opt in optimizers():
        net = pybp.Network([2, 3, 1], "tanh", "sigmoid", seed=1)
        trainer = pybp.Trainer(loss="binary_cross_entropy", optimizer=opt,
                               batch_size=2, seed=0, patience=5,
                               callbacks=[lambda n, h: h.epochs > 50])
        h: pybp.History = trainer.fit(net, X, T, epochs=3,
                                      validation_data=(X, T))
        h2: pybp.History = trainer.partial_fit(net, X, T)
        assert h.epochs == 3 and h2.epochs == 1
        val: list[float] = h.val_loss
        lrs: list[float | None] = h.lr
        secs: list[float] = h.seconds
        acc: list[float] = h.accuracy
        val_acc: list[float] = h.val_accuracy
        metrics: dict[str, list[float]] = h.metrics
        stopped: str | None = h.stopped
        assert len(val) == len(lrs) == len(secs) == len(acc) == len(val_acc)
        assert "accuracy" in metrics and stopped is not None
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "ckpt.safetensors")
        trainer.save(path, net)
        back: tuple[pybp.Trainer, pybp.Network] = pybp.Trainer.load(path)
        pybp.io.save_checkpoint(trainer, net, path)
        again_trainer, again_net = pybp.io.load_checkpoint(path)
        assert again_trainer.epochs_done == back[0].epochs_done
        assert np.array_equal(again_net.params, back[1].params)


def plots(history: pybp.History, net: pybp.Network) -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        ax = history.plot()
    except ImportError:                 # matplotlib is an optional extra
        return
    assert ax is not None
    assert pybp.plot.network(net) is not None
    assert pybp.plot.history([history, history]) is not None


def round_trip(net: pybp.Network) -> pybp.Network:
    X, T = xor()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.safetensors")
        net.save(path, metadata={"note": "xor", "epochs": 300})
        back: pybp.Network = pybp.load(path)
        meta: dict[str, Any] = pybp.io.load_metadata(path)
        assert meta == {"note": "xor", "epochs": 300}
        pybp.io.save(net, path)
        assert pybp.io.load(path).n_params == net.n_params
        raw: bytes = pybp.io.to_bytes(net)
        assert pybp.io.from_bytes(raw).n_params == net.n_params
        d2 = pybp.io.to_dict(net)
        assert pybp.io.from_dict(d2).sizes == net.sizes

        tensor_path = os.path.join(d, "t.safetensors")
        pybp.io.write_safetensors(tensor_path, {"a": np.arange(3.0)},
                                  {"k": "v"})
        tensors, tmeta = pybp.io.read_safetensors(tensor_path)
        a: npt.NDArray[Any] = tensors["a"]
        assert a.tolist() == [0.0, 1.0, 2.0] and tmeta == {"k": "v"}

        fann_path = os.path.join(d, "m.net")
        pybp.io.save_fann(net, fann_path)
        fann_net: pybp.Network = pybp.io.load_fann(fann_path)
        assert np.allclose(fann_net.predict(X), net.predict(X))
        data_path = os.path.join(d, "xor.data")
        pybp.io.save_fann_data(data_path, X, T)
        Xf, Tf = pybp.io.load_fann_data(data_path)
        assert np.array_equal(Xf, X) and np.array_equal(Tf, T)

        state: dict[str, Any] = pybp.io.to_torch_state_dict(net)
        torch_net = pybp.io.from_torch_state_dict(state, ["tanh", "sigmoid"])
        assert np.array_equal(torch_net.params, net.params)

        try:
            pybp.io.export_onnx(net, os.path.join(d, "m.onnx"))
        except ImportError:             # onnx is an optional extra
            pass

        buf = io.BytesIO()
        pybp.io.save(net, buf)
        assert pybp.load(buf.getvalue()).n_params == net.n_params
    n: int = back.n_params
    assert n == net.n_params
    return back


def datasets() -> pybp.History:
    ex = pybp.datasets.mazur()
    assert ex.network is not None
    h = ex.network.fit(ex.X, ex.T, loss="half_sse", optimizer=optim.SGD(0.5),
                       train_biases=False)
    credit: pybp.datasets.Dataset = pybp.datasets.credit(n=200, seed=0)
    y: npt.NDArray[np.integer[Any]] | None = credit.y
    names: tuple[str, ...] = credit.target_names
    assert y is not None and y.shape == (200,) and len(names) == 4
    X, T = pybp.datasets.xor()
    teacher = pybp.datasets.teacher(50, (3, 4, 1), seed=1)
    assert X.shape == (4, 2) and teacher.T.shape == (50, 1)
    return h


def estimators() -> None:
    try:
        from pybp.sklearn import MLPClassifier, MLPRegressor
    except ImportError:                 # scikit-learn is an optional extra
        return
    credit = pybp.datasets.credit(n=200, seed=0)
    assert credit.y is not None
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    fitted: MLPClassifier = clf.fit(credit.X, credit.y)
    labels: npt.NDArray[Any] = fitted.predict(credit.X)
    proba: Floats = fitted.predict_proba(credit.X)
    log_proba: Floats = fitted.predict_log_proba(credit.X)
    assert labels.shape == (200,) and proba.shape == log_proba.shape
    clf.partial_fit(credit.X, credit.y)
    coefs: list[Floats] = clf.coefs_
    assert len(coefs) == len(clf.intercepts_) == 2

    teacher = pybp.datasets.teacher(100, (5, 8, 1), seed=0)
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    pred: Floats = reg.fit(teacher.X, teacher.T[:, 0]).predict(teacher.X)
    assert pred.shape == (100,)
    reg.partial_fit(teacher.X, teacher.T[:, 0])


def main() -> None:
    net = train()
    network_api(net)
    trainer_api()
    back = round_trip(net)
    history = datasets()
    plots(history, back)
    estimators()
    try:
        pybp.load(b"not a model")
    except pybp.FormatError as exc:
        message: str = str(exc)
        assert message


if __name__ == "__main__":
    main()
