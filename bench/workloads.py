"""Every benchmark workload, defined once.

A Workload says everything an implementation needs to train (or run) the
same network on the same data in the same way: layer sizes, activations,
loss, optimizer settings, batch size, epochs, the seeded data, the initial
parameters (one seeded draw, pybp's own initialisation, handed to every
implementation) and the sample order of every epoch.

The sample order is the one pybp draws for fit(..., seed=ORDER_SEED): per
epoch, a 64-bit seed from numpy.random.default_rng(seed), then pybp's
Fisher-Yates shuffle from it (csrc/shuffle.h; pybp._core.shuffle).
`python bench/run.py --check` verifies that pybp still draws it.

Scripts in bench/ import this module (run them as `python bench/<script>`,
which puts bench/ on sys.path).
"""
import os
from dataclasses import dataclass, field, replace

import numpy as np

import pybp
from pybp import datasets

INIT_SEED = 0     # pybp.Network(..., seed=INIT_SEED): the initial parameters
ORDER_SEED = 1    # fit(..., seed=ORDER_SEED): the sample order
DATA_SEED = 2     # synthetic data

def _fann_dir():
    """$PYBP_DATASETS (as the tests), else shared/datasets/fann beside the
    repository, or beside the folder of worktrees holding it."""
    if os.environ.get("PYBP_DATASETS"):
        return os.environ["PYBP_DATASETS"]
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for up in (os.pardir, os.path.join(os.pardir, os.pardir)):
        path = os.path.normpath(os.path.join(repo, up, "shared", "datasets",
                                             "fann"))
        if os.path.isdir(path):
            return path
    return os.path.normpath(os.path.join(repo, os.pardir, "shared",
                                         "datasets", "fann"))


FANN_DIR = _fann_dir()


@dataclass(frozen=True)
class Workload:
    """One benchmark: what to train, on what, and what to report.

    unit: what one timed run is divided by ("step", "sample", "epoch",
    "run", "call"); metric: how a time per unit is shown ("us/step",
    "samples/s", "s", "GFLOP/s", "us", "epochs/s").
    """
    key: str
    title: str
    sizes: tuple
    activations: tuple          # (hidden, output)
    loss: str                   # a pybp loss name
    optimizer: str              # "sgd" or "rprop"
    lr: float = 0.0
    momentum: float = 0.0
    batch_size: int = 1
    epochs: int = 1
    dtype: str = "float64"
    n_train: int = 0
    n_test: int = 0
    data: str = "synthetic"     # "worked", "teacher", "digits", "synthetic", "fann:<name>"
    unit: str = "sample"
    metric: str = "samples/s"
    predict_batch: int = 0      # predict workloads: samples per call (0 = training)
    notes: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def layer_pairs(self):
        return list(zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def n_params(self):
        return sum(o * (i + 1) for i, o in self.layer_pairs)

    def units(self):
        """How many units one timed run does."""
        if self.unit == "step":
            return self.epochs * self.n_train
        if self.unit == "sample":
            return self.epochs * self.n_train
        if self.unit == "epoch":
            return self.epochs
        return 1

    def flops(self):
        """Training FLOPs of one timed run, by the convention
        6 * samples * sum(n_in * n_out): 2 for the forward products, 2 for
        the delta products, 2 for the weight gradients (biases, activations
        and the update are not counted)."""
        return 6.0 * self.epochs * self.n_train * sum(
            i * o for i, o in self.layer_pairs)

    def network(self, backend="c", dtype=None):
        """A pybp network holding this workload's initial parameters."""
        hidden, out = self.activations
        net = pybp.Network(list(self.sizes), hidden, out, seed=INIT_SEED,
                           dtype=dtype or self.dtype, backend=backend)
        if self.data == "worked":
            net.params = datasets.mazur().network.params
        return net

    def init_params(self, dtype=None):
        """[(W, b)] per layer, W of shape (n_out, n_in): pybp's own draw."""
        net = self.network(dtype=dtype)
        return [(np.array(w), np.array(b))
                for w, b in zip(net.weights, net.biases)]

    def dataset(self, dtype=None):
        """(X, T, X_test, T_test), seeded; test arrays may be empty."""
        dt = np.dtype(dtype or self.dtype)
        X, T, Xt, Tt = _DATA[self.data.split(":")[0]](self)
        return tuple(np.ascontiguousarray(a, dtype=dt) for a in (X, T, Xt, Tt))

    def orders(self, epochs=None, n=None):
        """The sample order of each epoch, as pybp's fit(seed=ORDER_SEED)
        draws it: shape (epochs, n), int64.  Full-batch optimizers and
        predict workloads use data order."""
        epochs = self.epochs if epochs is None else epochs
        n = self.n_train if n is None else n
        if self.optimizer == "rprop":
            return np.tile(np.arange(n, dtype=np.int64), (epochs, 1))
        # pybp's rule (pybp.train): one 64-bit seed per epoch from the
        # Trainer's stream, then csrc/shuffle.h's Fisher-Yates from it.
        rng = np.random.default_rng(ORDER_SEED)
        orders = np.empty((epochs, n), dtype=np.int64)
        for e, seed in enumerate(rng.integers(2 ** 64, size=epochs,
                                              dtype=np.uint64)):
            pybp._core.shuffle(int(seed), orders[e])
        return orders

    def fit_pybp(self, net, X, T, epochs=None):
        """Train a pybp network the way this workload says."""
        opt = (pybp.optim.Rprop() if self.optimizer == "rprop" else
               pybp.optim.SGD(self.lr, momentum=self.momentum))
        return net.fit(X, T, loss=self.loss, optimizer=opt,
                       epochs=self.epochs if epochs is None else epochs,
                       batch_size=self.batch_size, seed=ORDER_SEED)

    def scaled(self, **changes):
        return replace(self, **changes)


# ---- data ------------------------------------------------------------------

def _worked(w):
    X, T = datasets.mazur()
    return X, T, X[:0], T[:0]


def _teacher(w):
    X, T = datasets.credit(w.n_train + w.n_test, seed=DATA_SEED)
    return X[:w.n_train], T[:w.n_train], X[w.n_train:], T[w.n_train:]


def _digits(w):
    from sklearn.datasets import load_digits
    d = load_digits()
    rng = np.random.default_rng(DATA_SEED)
    idx = rng.permutation(len(d.target))
    X = d.data[idx].astype(np.float64)
    y = d.target[idx]
    tr, te = slice(0, w.n_train), slice(w.n_train, w.n_train + w.n_test)
    mean, std = X[tr].mean(0), X[tr].std(0)
    std[std == 0] = 1.0                     # constant pixels stay 0
    X = (X - mean) / std
    T = np.eye(10)[y]
    return X[tr], T[tr], X[te], T[te]


def _synthetic(w):
    """MNIST-shaped classification: inputs in [0, 1], labels from a random
    linear teacher, so the task is learnable but nothing is downloaded."""
    rng = np.random.default_rng(DATA_SEED)
    n = w.n_train + w.n_test
    n_in, n_out = w.sizes[0], w.sizes[-1]
    X = rng.uniform(0.0, 1.0, (n, n_in))
    teacher = rng.standard_normal((n_in, n_out))
    y = ((X - 0.5) @ teacher).argmax(1)
    T = np.eye(n_out)[y]
    return X[:w.n_train], T[:w.n_train], X[w.n_train:], T[w.n_train:]


def _fann(w):
    name = w.data.split(":", 1)[1]
    X, T = pybp.io.load_fann_data(os.path.join(FANN_DIR, name + ".train"))
    Xt, Tt = pybp.io.load_fann_data(os.path.join(FANN_DIR, name + ".test"))
    return X, T, Xt, Tt


_DATA = {"worked": _worked, "teacher": _teacher, "digits": _digits,
         "synthetic": _synthetic, "fann": _fann}


# ---- the workloads -----------------------------------------------------------

WORKED = Workload(
    "worked", "worked example 2-2-2 sigmoid, net.fit(X, T, epochs=10000)",
    (2, 2, 2), ("sigmoid", "sigmoid"), "half_sse", "sgd", lr=0.5,
    epochs=10000, n_train=1, data="worked", unit="step", metric="us/step",
    notes="one sample; one fit() call of 10,000 epochs; biases trained")

FIT1 = WORKED.scaled(
    key="fit1", title="fit() set-up: worked example, net.fit(X, T, epochs=1)",
    epochs=1, unit="call", metric="us",
    notes="one fit() call of one epoch on one sample (the same arguments as "
          "worked): the fixed cost of a call; pybp only")

CREDIT = Workload(
    "credit", "credit net 10-4-6-8-4 sigmoid, per-sample SGD",
    (10, 4, 6, 8, 4), ("sigmoid", "sigmoid"), "half_sse", "sgd", lr=0.5,
    epochs=3, n_train=20000, n_test=2000, data="teacher")

DIGITS = Workload(
    "digits", "digits 64-64-10 tanh/softmax, batch 32, 30 epochs",
    (64, 64, 10), ("tanh", "softmax"), "cross_entropy", "sgd", lr=0.05,
    momentum=0.9, batch_size=32, epochs=30, n_train=1440, n_test=357,
    data="digits", unit="epoch", metric="s",
    notes="sklearn load_digits, standardised; 1440 train / 357 test")

MNIST64 = Workload(
    "mnist64", "784-128-64-10 relu/softmax, batch 128, float64",
    (784, 128, 64, 10), ("relu", "softmax"), "cross_entropy", "sgd",
    lr=0.01, momentum=0.9, batch_size=128, epochs=1, n_train=10240,
    n_test=1000, data="synthetic", notes="synthetic MNIST-shaped data")

MNIST32 = MNIST64.scaled(
    key="mnist32", title="784-128-64-10 relu/softmax, batch 128, float32",
    dtype="float32")

WIDE = Workload(
    "wide", "1024-1024-1024-10 relu/softmax, batch 256, float32",
    (1024, 1024, 1024, 10), ("relu", "softmax"), "cross_entropy", "sgd",
    lr=0.01, momentum=0.9, batch_size=256, epochs=1, n_train=4096,
    data="synthetic", dtype="float32", metric="GFLOP/s",
    notes="GFLOP/s counts 6*n*sum(n_in*n_out) per epoch "
          "(forward 2, delta 2, gradient 2)")

PREDICT1 = Workload(
    "predict1", "predict one sample, credit net (end to end)",
    CREDIT.sizes, CREDIT.activations, "half_sse", "sgd", n_train=1000,
    data="teacher", unit="call", metric="us", predict_batch=1,
    notes="net.predict(x) on one 10-vector, validation included")

PREDICT1000 = PREDICT1.scaled(
    key="predict1000", title="predict a batch of 1,000, credit net",
    predict_batch=1000, notes="net.predict(X) on a (1000, 10) array")

# FANN's benchmark problems and hidden sizes (its benchmark's choices);
# iRPROP- full batch with FANN's defaults for the same epochs on both.
FANN_PROBLEMS = {
    "building": (16,), "mushroom": (32,), "robot": (96,), "soybean": (16, 8),
    "thyroid": (16, 8), "two-spiral": (20, 10),
}


def fann_workload(name, epochs=300):
    path = os.path.join(FANN_DIR, name + ".train")
    with open(path) as f:
        n, n_in, n_out = (int(v) for v in f.readline().split())
    hidden = FANN_PROBLEMS[name]
    return Workload(
        f"fann-{name}", f"FANN {name} {n_in}-{'-'.join(map(str, hidden))}-"
        f"{n_out}, iRPROP- full batch, {epochs} epochs",
        (n_in, *hidden, n_out), ("sigmoid", "sigmoid"), "half_sse", "rprop",
        batch_size=n, epochs=epochs, n_train=n, data=f"fann:{name}",
        dtype="float32", unit="epoch", metric="epochs/s",
        notes="FANN's dataset; test MSE = mean over samples and outputs")


def fann_available():
    return os.path.isfile(os.path.join(FANN_DIR, "building.train"))


def all_workloads(quick=False):
    """The workloads in run order; quick shrinks each to a few seconds."""
    ws = [WORKED, FIT1, CREDIT, DIGITS, MNIST32, MNIST64, WIDE, PREDICT1,
          PREDICT1000]
    problems = ["building", "thyroid", "two-spiral", "soybean", "robot"]
    if quick:
        ws = [WORKED.scaled(epochs=2000), FIT1,
              CREDIT.scaled(n_train=5000, epochs=1),
              DIGITS.scaled(epochs=5),
              MNIST32.scaled(n_train=2560), MNIST64.scaled(n_train=2560),
              WIDE.scaled(n_train=1024), PREDICT1, PREDICT1000]
        problems = ["building", "two-spiral"]
    if fann_available():
        ws += [fann_workload(p, epochs=100 if quick else 300)
               for p in problems]
    return ws
