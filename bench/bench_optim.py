"""Per-epoch cost of each optimizer relative to plain SGD, C backend, on
two workloads of bench/workloads.py:
  * the credit network 10-4-6-8-4, per-sample updates (workloads.CREDIT);
  * 784-128-64-10 relu/softmax, mini-batches of 128 (workloads.MNIST64).
Rprop and Quickprop take one step per epoch on the full-batch gradient, so
their epochs do the same forward/backward work with far fewer updates.

    python bench/bench_optim.py [--repeat 3]
"""
import argparse

import workloads as wl
from pybp import optim
from timing import best_of

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


def workload(w, repeat):
    X, T, _, _ = w.dataset()
    start = w.network()
    print(f"{w.title}: {w.n_train} samples")
    base = None
    for name, make in OPTIMIZERS.items():
        s = best_of(repeat, lambda: start.copy().fit(
            X, T, loss=w.loss, optimizer=make(), epochs=1,
            batch_size=w.batch_size, seed=wl.ORDER_SEED))
        base = base or s
        print(f"  {name:13s} {s * 1e3:9.1f} ms/epoch  {len(X) / s:13,.0f} "
              f"samples/s  {s / base:5.2f}x sgd")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    workload(wl.CREDIT, args.repeat)
    workload(wl.MNIST64, args.repeat)


if __name__ == "__main__":
    main()
