"""python -m pybp: the seeds' examples, trained on both backends.

1. Seed 002's worked example (2-2-2 sigmoid net): the weights after one step
   and the error after 1 and 10,000 steps.
2. Seed 000's credit network (10-4-6-8-4, 144 weights) trained by per-sample
   stochastic backpropagation on a synthetic teacher task, on the C and the
   pure-Python backend, with the speed-up of C over pure Python.
"""
import argparse
import sys
import time

import numpy as np

import pybp


def worked_example(backend):
    net = pybp.Network([2, 2, 2], "sigmoid", backend=backend)
    net.weights[0] = [[0.15, 0.20], [0.25, 0.30]]
    net.weights[1] = [[0.40, 0.45], [0.50, 0.55]]
    net.biases[0] = [0.35, 0.35]
    net.biases[1] = [0.60, 0.60]
    return net


def run_worked_example(out):
    X, T = [[0.05, 0.10]], [[0.01, 0.99]]
    sgd = pybp.optim.SGD(0.5)
    print("Seed 002 worked example: 2-2-2 sigmoid, eta = 0.5, "
          "loss 1/2 sum (t - o)^2", file=out)
    for backend in ("c", "python"):
        net = worked_example(backend)
        e0 = net.loss(X, T)
        net.fit(X, T, optimizer=sgd, train_biases=False)
        e1 = net.loss(X, T)
        w = np.concatenate([net.weights[0].ravel(), net.weights[1].ravel()])
        t0 = time.perf_counter()
        net.fit(X, T, optimizer=sgd, epochs=9999, train_biases=False)
        dt = time.perf_counter() - t0
        o = net.predict(X[0])
        print(f"  [{backend:6}] w1..w8 after one step: "
              + " ".join(f"{v:.9f}" for v in w), file=out)
        print(f"  [{backend:6}] error {e0:.9f} -> {e1:.9f} (1 step) -> "
              f"{net.loss(X, T):.3e} (10,000 steps, {dt * 1e3:.0f} ms); "
              f"outputs {o[0]:.4f} {o[1]:.4f}", file=out)


def teacher_task(n, seed):
    """Random inputs labelled (one-hot, 4 classes) by a random teacher net."""
    rng = np.random.default_rng(seed)
    teacher = pybp.Network([10, 8, 4], "tanh", "identity", seed=seed + 1)
    X = rng.uniform(-1, 1, (n, 10))
    return X, np.eye(4)[teacher.classify(X)]


def run_credit(out, n_train, epochs):
    X, T = teacher_task(n_train + 2000, seed=0)
    Xtr, Ttr, Xte, Tte = X[:n_train], T[:n_train], X[n_train:], T[n_train:]
    start = pybp.Network([10, 4, 6, 8, 4], "sigmoid", seed=0)
    n_weights = sum(w.size for w in start.weights)
    print(f"\nSeed 000 credit network 10-4-6-8-4 ({n_weights} weights), "
          f"{n_train} samples, per-sample SGD (lr 0.5), "
          f"{epochs} epoch(s):", file=out)
    rates = {}
    for backend in ("c", "python"):
        net = start.copy(backend=backend)
        t0 = time.perf_counter()
        hist = net.fit(Xtr, Ttr, optimizer=pybp.optim.SGD(0.5),
                       epochs=epochs, batch_size=1, seed=1)
        dt = time.perf_counter() - t0
        rates[backend] = epochs * n_train / dt
        acc = float(np.mean(net.classify(Xte) == Tte.argmax(1)))
        print(f"  [{backend:6}] loss {hist.loss[0]:.4f} -> {hist.loss[-1]:.4f}, "
              f"test accuracy {acc:.1%}, {dt:.2f} s, "
              f"{rates[backend]:,.0f} samples/s", file=out)
    print(f"  C backend speed-up over pure Python: "
          f"{rates['c'] / rates['python']:.0f}x", file=out)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m pybp",
                                description=__doc__.splitlines()[0])
    p.add_argument("--samples", type=int, default=5000,
                   help="training samples for the credit network "
                        "(default 5000)")
    p.add_argument("--epochs", type=int, default=3,
                   help="epochs for the credit network (default 3)")
    args = p.parse_args(argv)
    print(f"pybp {pybp.__version__}")
    run_worked_example(sys.stdout)
    run_credit(sys.stdout, args.samples, args.epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
