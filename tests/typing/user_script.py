"""A user's script, type-checked with ``mypy --strict`` by .ci/typecheck.sh.

It uses the public API the way the README does; mypy must see real types
through the installed package's py.typed marker (no Any leaking in, no
missing-stub errors).  It also runs: tests/test_typing.py executes it.
"""
from __future__ import annotations

import os
import tempfile

import numpy as np
import numpy.typing as npt

import pybp
import pybp.plot
from pybp import optim


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
    out: npt.NDArray[np.float64] = net.predict(X)
    assert out.shape == (4, 1)
    loss: float = net.loss(X, T)
    assert loss >= 0.0
    return net


def round_trip(net: pybp.Network) -> pybp.Network:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.safetensors")
        net.save(path)
        back: pybp.Network = pybp.load(path)
    n: int = back.n_params
    assert n == net.n_params
    return back


def main() -> None:
    net = round_trip(train())
    sizes: tuple[int, ...] = net.sizes
    assert sizes == (2, 4, 1)
    try:
        pybp.load(b"not a model")
    except pybp.FormatError as exc:
        message: str = str(exc)
        assert message


if __name__ == "__main__":
    main()
