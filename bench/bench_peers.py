"""pybp against the libraries users would otherwise pick, side by side.

One epoch of training, timed for each library in one run, on
  * seed 000's credit network 10-4-6-8-4 (sigmoid, squared error, SGD),
    per-sample updates (batch_size=1) on 20,000 samples;
  * a 784-128-64-10 relu network (softmax/cross-entropy, SGD with momentum),
    mini-batches of 128 on 10,000 samples.
Peers that are not installed are skipped: scikit-learn's MLPClassifier
(its own numpy loop), PyTorch (the usual hand-written training loop, CPU,
its default thread count) and FANN (libfann via ctypes, per-sample
incremental training, float).  pybp runs on one core.

    python bench/bench_peers.py [--repeat 3]
"""
import argparse
import ctypes
import ctypes.util
import time

import numpy as np

import pybp


def best_of(repeat, fn):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run_pybp(sizes, acts, X, T, batch, loss, opt):
    net = pybp.Network(sizes, *acts, seed=0)
    return lambda: net.fit(X, T, loss=loss, optimizer=opt(), epochs=1,
                           batch_size=batch, seed=0)


def run_sklearn(sizes, act, X, T, batch, lr, momentum):
    try:
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None
    import warnings
    from sklearn.exceptions import ConvergenceWarning
    y = T.argmax(1)
    clf = MLPClassifier(hidden_layer_sizes=sizes[1:-1], activation=act,
                        solver="sgd", batch_size=batch, learning_rate_init=lr,
                        momentum=momentum, nesterovs_momentum=False,
                        max_iter=1, shuffle=True, random_state=0)

    def fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)
    return fit


def run_torch(sizes, acts, X, T, batch, loss, lr, momentum):
    try:
        import torch
    except ImportError:
        return None
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b, dtype=torch.float64))
        if i < len(sizes) - 2:
            layers.append(torch.nn.Sigmoid() if acts[0] == "sigmoid"
                          else torch.nn.ReLU())
    if loss == "sse":
        layers.append(torch.nn.Sigmoid())
        loss_fn = torch.nn.MSELoss(reduction="sum")
        target = torch.tensor(T)
    else:
        loss_fn = torch.nn.CrossEntropyLoss()
        target = torch.tensor(T.argmax(1))
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    Xt = torch.tensor(X)

    def fit():
        order = torch.randperm(len(Xt))
        for start in range(0, len(Xt), batch):
            idx = order[start:start + batch]
            opt.zero_grad()
            loss_fn(model(Xt[idx]), target[idx]).backward()
            opt.step()
    return fit


def run_fann(sizes, X, T, lr):
    """FANN's incremental (per-sample) training, if libfann is installed."""
    name = ctypes.util.find_library("fann")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    lib.fann_create_standard_array.restype = ctypes.c_void_p
    lib.fann_create_standard_array.argtypes = [ctypes.c_uint,
                                               ctypes.POINTER(ctypes.c_uint)]
    for fn in ("fann_set_training_algorithm", "fann_set_activation_function_hidden",
               "fann_set_activation_function_output"):
        getattr(lib, fn).argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.fann_set_learning_rate.argtypes = [ctypes.c_void_p, ctypes.c_float]
    lib.fann_train.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                               ctypes.POINTER(ctypes.c_float)]
    arr = (ctypes.c_uint * len(sizes))(*sizes)
    ann = lib.fann_create_standard_array(len(sizes), arr)
    lib.fann_set_training_algorithm(ann, 0)          # FANN_TRAIN_INCREMENTAL
    lib.fann_set_activation_function_hidden(ann, 3)  # FANN_SIGMOID
    lib.fann_set_activation_function_output(ann, 3)
    lib.fann_set_learning_rate(ann, lr)
    Xf = np.ascontiguousarray(X, dtype=np.float32)
    Tf = np.ascontiguousarray(T, dtype=np.float32)
    fptr = ctypes.POINTER(ctypes.c_float)
    rows = [(Xf[k].ctypes.data_as(fptr), Tf[k].ctypes.data_as(fptr))
            for k in range(len(Xf))]
    rng = np.random.default_rng(0)

    def fit():  # the loop a C user writes; here it is driven from Python
        for k in rng.permutation(len(rows)):
            lib.fann_train(ann, *rows[k])
    return fit


def report(title, rows, n):
    print(title)
    base = rows[0][1]
    for name, seconds in rows:
        if seconds is None:
            print(f"  {name:28s} (not installed)")
        else:
            print(f"  {name:28s} {seconds * 1e3:9.1f} ms/epoch "
                  f"{n / seconds:12,.0f} samples/s  {seconds / base:6.1f}x pybp")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    r = args.repeat
    rng = np.random.default_rng(0)

    n = 20000
    X = rng.uniform(-1, 1, (n, 10))
    T = np.eye(4)[rng.integers(0, 4, n)]
    sizes = [10, 4, 6, 8, 4]
    rows = [("pybp (C backend)", best_of(r, run_pybp(
        sizes, ("sigmoid",), X, T, 1, "sse", lambda: pybp.optim.SGD(0.1))))]
    for name, fit in (("scikit-learn MLPClassifier",
                       run_sklearn(sizes, "logistic", X, T, 1, 0.1, 0.0)),
                      ("PyTorch", run_torch(sizes, ("sigmoid",), X, T, 1,
                                            "sse", 0.1, 0.0)),
                      ("FANN (ctypes, per call)", run_fann(sizes, X, T, 0.1))):
        rows.append((name, None if fit is None else best_of(r, fit)))
    report(f"credit net 10-4-6-8-4, per-sample SGD, {n} samples", rows, n)

    n = 10000
    X = rng.uniform(-1, 1, (n, 784))
    T = np.eye(10)[rng.integers(0, 10, n)]
    sizes = [784, 128, 64, 10]
    rows = [("pybp (C backend)", best_of(r, run_pybp(
        sizes, ("relu", "softmax"), X, T, 128, "cross_entropy",
        lambda: pybp.optim.SGD(0.01, momentum=0.9))))]
    for name, fit in (("scikit-learn MLPClassifier",
                       run_sklearn(sizes, "relu", X, T, 128, 0.01, 0.9)),
                      ("PyTorch", run_torch(sizes, ("relu",), X, T, 128,
                                            "cross_entropy", 0.01, 0.9))):
        rows.append((name, None if fit is None else best_of(r, fit)))
    report(f"784-128-64-10, mini-batch 128 SGD+momentum, {n} samples", rows, n)


if __name__ == "__main__":
    main()
