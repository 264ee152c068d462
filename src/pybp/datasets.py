"""The source documents' examples as small datasets, built in memory.

Nothing is downloaded; every function is deterministic (the random ones take
a ``seed``).  Each returns a :class:`Dataset`:

* :func:`mazur`: the worked example of Matt Mazur's backpropagation tutorial
  (seed 002): a 2-2-2 sigmoid network with the tutorial's initial weights,
  one input and its target.
* :func:`xor`: the four XOR patterns.
* :func:`credit`: seed 000's credit-scoring task (10 inputs, 4 classes),
  synthetic: random applicants labelled by a random network.
* :func:`teacher`: seed 004's teacher-student regression: a random network
  labels random inputs, and a different network is to learn it.

A Dataset unpacks as ``X, T = dataset``.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Tuple

import numpy as np

from pybp.network import Network

if TYPE_CHECKING:
    from pybp._typing import DTypeLike, FloatArray, IntArray

__all__ = ["Dataset", "mazur", "xor", "credit", "teacher"]


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset: inputs, targets and what they mean.

    X: inputs, shape (n_samples, n_features).
    T: targets as a network is trained on them, shape (n_samples, n_outputs)
       (one-hot rows for classification).
    y: class labels, shape (n_samples,), for classification; else None.
    network: the network that belongs to the example (mazur: the worked
       example's starting network; credit, teacher: the random teacher that
       labelled the inputs); else None.
    target_names: names of the classes (or outputs), when they have names.
    description: what the data is and where it comes from.

    ``X, T = dataset`` unpacks the inputs and targets.
    """

    X: FloatArray
    T: FloatArray
    y: Optional[IntArray] = None
    network: Optional[Network] = None
    target_names: Tuple[str, ...] = ()
    description: str = ""

    def __iter__(self) -> Iterator[FloatArray]:
        return iter((self.X, self.T))

    def __len__(self) -> int:
        return 2

    def __repr__(self) -> str:
        parts = [f"X{self.X.shape}", f"T{self.T.shape}"]
        if self.y is not None:
            parts.append(f"y{self.y.shape}")
        if self.network is not None:
            parts.append(f"network={self.network!r}")
        return "Dataset(" + ", ".join(parts) + ")"


def _seed(seed: object) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(
            seed, (int, np.integer)):
        raise TypeError(f"seed must be an int; got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0; got {seed}")
    return int(seed)


def _count(name: str, n: object, minimum: int = 1) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"{name} must be an int; got {type(n).__name__}")
    if n < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {n}")
    return int(n)


MAZUR_DESCRIPTION = """\
The worked example of Matt Mazur's "A Step by Step Backpropagation Example"
(seed 002): a 2-2-2 network, sigmoid in both layers.  Weights w1..w4 (inputs
to hidden) are .15 .20 .25 .30, w5..w8 (hidden to outputs) .40 .45 .50 .55,
the biases .35 (hidden) and .60 (output).  Input (.05, .10), target
(.01, .99), error 1/2 sum (t - o)^2 (loss="half_sse"), learning rate 0.5,
biases not trained (train_biases=False).  The error starts at 0.298371109;
after one step w5..w8 are 0.35891648 0.408666186 0.511301270 0.561370121
and the error is 0.29102777."""


def mazur(*, dtype: DTypeLike = "float64", backend: str = "c") -> Dataset:
    """The worked example of Mazur's tutorial (seed 002).

    Returns a Dataset whose ``network`` is a fresh 2-2-2 sigmoid Network
    with the tutorial's starting weights and biases, ``X`` the one input
    (.05, .10) and ``T`` its target (.01, .99).  Train it as the tutorial
    does with ``net.fit(X, T, loss="half_sse", optimizer=pybp.optim.SGD(0.5),
    train_biases=False)``.
    """
    net = Network([2, 2, 2], "sigmoid", dtype=dtype, backend=backend, seed=0)
    net.weights[0] = [[0.15, 0.20], [0.25, 0.30]]   # w1 w2 -> h1, w3 w4 -> h2
    net.weights[1] = [[0.40, 0.45], [0.50, 0.55]]   # w5 w6 -> o1, w7 w8 -> o2
    net.biases[0] = [0.35, 0.35]
    net.biases[1] = [0.60, 0.60]
    X = np.array([[0.05, 0.10]], dtype=net.dtype)
    T = np.array([[0.01, 0.99]], dtype=net.dtype)
    return Dataset(X=X, T=T, network=net, target_names=("o1", "o2"),
                   description=MAZUR_DESCRIPTION)


def xor(*, dtype: DTypeLike = "float64") -> Dataset:
    """The four XOR patterns: X (4, 2) of 0/1, T (4, 1) of 0/1, y (4,)."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=dtype)
    y = np.array([0, 1, 1, 0])
    return Dataset(X=X, T=y.reshape(-1, 1).astype(dtype), y=y,
                   description="Exclusive or of two binary inputs: the "
                               "smallest problem a network without a hidden "
                               "layer cannot learn.")


CREDIT_CLASSES = ("excellent creditworthiness, high spending limit",
                  "average creditworthiness, moderate spending limit",
                  "low creditworthiness, low spending limit",
                  "high default risk")

CREDIT_DESCRIPTION = """\
Seed 000's credit-scoring example, synthetic: 10 numbers per applicant
(drawn uniformly from [-1, 1]; stand-ins for savings, outstanding loans,
years of employment and so on) and one of 4 decisions, the position of the
largest output of a random 10-8-4 teacher network (tanh hidden layer,
identity output).  No real applicants are involved.  The seed's network to
train on it is 10-4-6-8-4 (144 weights)."""


def credit(n: int = 5000, seed: int = 0, *,
           dtype: DTypeLike = "float64") -> Dataset:
    """Seed 000's credit-scoring task (synthetic): 10 features, 4 classes.

    X: (n, 10) uniform in [-1, 1]; y: (n,) the class 0..3 given by a random
    10-8-4 teacher network (``network``; tanh hidden, identity output, its
    weights drawn with ``seed + 1``); T: y one-hot, (n, 4).  The same
    ``(n, seed)`` always gives the same data, and the first m samples of
    credit(n) are credit(m) for m < n.
    """
    n, seed = _count("n", n), _seed(seed)
    rng = np.random.default_rng(seed)
    teacher_net = Network([10, 8, 4], "tanh", "identity", seed=seed + 1)
    X = rng.uniform(-1, 1, (n, 10))
    y = np.argmax(teacher_net.predict(X), axis=1)
    return Dataset(X=X.astype(dtype), T=np.eye(4, dtype=dtype)[y], y=y,
                   network=teacher_net, target_names=CREDIT_CLASSES,
                   description=CREDIT_DESCRIPTION)


def teacher(n: int = 1000, sizes: Sequence[int] = (5, 8, 1), seed: int = 0,
            *, activation: str = "sigmoid",
            output_activation: str = "identity",
            dtype: DTypeLike = "float64") -> Dataset:
    """Seed 004's teacher-student regression.

    A random network of ``sizes`` (the teacher, ``network``, weights drawn
    with ``seed + 1``) labels n random inputs (uniform in [-1, 1], drawn with
    ``seed``): X (n, sizes[0]), T = teacher(X), shape (n, sizes[-1]).  Train
    a network of other sizes on it to see how well it recovers the mapping.
    """
    n, seed = _count("n", n), _seed(seed)
    teacher_net = Network(sizes, activation, output_activation, seed=seed + 1)
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, teacher_net.n_inputs))
    T = teacher_net.predict(X)
    arch = "-".join(str(s) for s in teacher_net.sizes)
    return Dataset(X=X.astype(dtype), T=T.astype(dtype), network=teacher_net,
                   description=f"Synthetic regression (seed 004): a random "
                               f"{arch} {activation} network labels "
                               f"uniform random inputs in [-1, 1].")
