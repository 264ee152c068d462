"""Per-epoch cost of each optimizer relative to plain SGD, C backend.

Two workloads, each timed for every optimizer in one run, side by side:
  * seed 000's credit network 10-4-6-8-4, per-sample updates (batch_size=1);
  * a 784-128-64-10 network (MNIST-sized), mini-batches of 128.
Rprop and Quickprop take one step per epoch on the full-batch gradient, so
their epochs do the same forward/backward work with far fewer updates.

    python bench/bench_optim.py [--repeat 3]
"""
import argparse

import numpy as np

import pybp
from _common import best_of
from pybp import optim

OPTIMIZERS = {
    "sgd": lambda: optim.SGD(0.01),
    "sgd+momentum": lambda: optim.SGD(0.01, momentum=0.9),
    "sgd+nesterov": lambda: optim.SGD(0.01, momentum=0.9, nesterov=True),
    "adam": lambda: optim.Adam(0.001),
    "rmsprop": lambda: optim.RMSprop(0.001),
    "adagrad": lambda: optim.Adagrad(0.01),
    "rprop": lambda: optim.Rprop(),
    "quickprop": lambda: optim.Quickprop(0.01),
}


def epoch_seconds(sizes, acts, X, T, batch, make_opt, repeat):
    net = pybp.Network(sizes, *acts, seed=0)
    return best_of(repeat, lambda: net.fit(X, T, optimizer=make_opt(),
                                           epochs=1, batch_size=batch,
                                           seed=0))


def workload(title, sizes, acts, n, batch, repeat):
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (n, sizes[0]))
    T = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    print(f"{title}: {n} samples, batch_size {batch}")
    base = None
    for name, make in OPTIMIZERS.items():
        s = epoch_seconds(sizes, acts, X, T, batch, make, repeat)
        base = base or s
        print(f"  {name:13s} {s * 1e3:9.1f} ms/epoch  {n / s:13,.0f} samples/s"
              f"  {s / base:5.2f}x sgd")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    workload("credit net 10-4-6-8-4, per-sample", [10, 4, 6, 8, 4],
             ("sigmoid",), 20000, 1, args.repeat)
    workload("784-128-64-10 relu/softmax, mini-batch", [784, 128, 64, 10],
             ("relu", "softmax"), 10000, 128, args.repeat)


if __name__ == "__main__":
    main()
