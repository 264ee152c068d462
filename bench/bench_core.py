"""Per-sample SGD on the credit network (workloads.CREDIT), C backend vs
pure Python, on the same starting weights and sample order.

A thin script over bench/workloads.py; `python bench/run.py --only credit`
times the same workload against every peer, interleaved.

    python bench/bench_core.py [--samples 20000] [--epochs 3] [--py-samples 1000]
"""
import argparse
import platform

import pybp
import workloads as wl
from timing import best_of


def samples_per_second(w, backend, repeat):
    X, T, _, _ = w.dataset()
    start = w.network(backend)

    def fit():
        w.fit_pybp(start.copy(), X, T)
    return w.units() / best_of(repeat, fit)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=wl.CREDIT.n_train)
    p.add_argument("--epochs", type=int, default=wl.CREDIT.epochs,
                   help="epochs, C backend")
    p.add_argument("--py-samples", type=int, default=1000,
                   help="samples (one epoch), pure-Python backend (slow)")
    p.add_argument("--repeat", type=int, default=3,
                   help="C timing repeats (best is kept)")
    args = p.parse_args(argv)
    w = wl.CREDIT.scaled(n_train=args.samples, epochs=args.epochs)
    print(f"pybp {pybp.__version__}, Python {platform.python_version()}, "
          f"{platform.machine()}")
    print(f"{w.title}: {w.n_params} parameters, {w.n_train} samples")
    c_rate = samples_per_second(w, "c", args.repeat)
    py_rate = samples_per_second(w.scaled(n_train=args.py_samples, epochs=1),
                                 "python", 1)
    print(f"  C backend     : {c_rate:12,.0f} samples/s")
    print(f"  Python backend: {py_rate:12,.0f} samples/s")
    print(f"  ratio C/Python: {c_rate / py_rate:12,.1f}x")
    return c_rate / py_rate


if __name__ == "__main__":
    main()
