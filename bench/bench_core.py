"""Per-sample SGD on seed 000's credit network, C backend vs pure Python.

The credit network is 10-4-6-8-4 (144 weights, 22 biases), sigmoid, trained
by stochastic backpropagation (batch_size=1) on a synthetic teacher task.
Both backends train the same starting weights on the same sample order, in
one run, and the script prints samples/s and the ratio.

    python bench/bench_core.py [--samples 20000] [--epochs 3] [--py-epochs 1]
"""
import argparse
import platform

import pybp
from _common import best_of
# The task python -m pybp trains, so both measure the same thing.
from pybp.__main__ import teacher_task


def samples_per_second(net, X, T, epochs, seed, repeat=1):
    def fit():
        net.fit(X, T, optimizer=pybp.optim.SGD(0.1), epochs=epochs,
                batch_size=1, seed=seed)
    return epochs * len(X) / best_of(repeat, fit)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=20000)
    p.add_argument("--epochs", type=int, default=3, help="epochs, C backend")
    p.add_argument("--py-epochs", type=int, default=1,
                   help="epochs, pure-Python backend (slow)")
    p.add_argument("--repeat", type=int, default=3,
                   help="C timing repeats (best is kept)")
    args = p.parse_args(argv)

    X, T = teacher_task(args.samples, seed=0)
    start = pybp.Network([10, 4, 6, 8, 4], "sigmoid", seed=0)
    print(f"pybp {pybp.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}")
    print(f"credit net 10-4-6-8-4 ({start.n_params} parameters), "
          f"{args.samples} samples, per-sample SGD")
    c_rate = samples_per_second(start.copy(backend="c"), X, T, args.epochs,
                                seed=0, repeat=args.repeat)
    py_rate = samples_per_second(start.copy(backend="python"), X, T,
                                 args.py_epochs, seed=0)
    print(f"  C backend     : {c_rate:12,.0f} samples/s")
    print(f"  Python backend: {py_rate:12,.0f} samples/s")
    print(f"  ratio C/Python: {c_rate / py_rate:12,.1f}x")
    return c_rate / py_rate


if __name__ == "__main__":
    main()
