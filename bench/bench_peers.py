"""pybp against the libraries users would otherwise pick, side by side.

One epoch of training, timed for each library in one run, on
  * seed 000's credit network 10-4-6-8-4 (sigmoid, squared error, SGD),
    per-sample updates (batch_size=1) on 20,000 samples;
  * a 784-128-64-10 relu network (softmax/cross-entropy, SGD with momentum),
    mini-batches of 128 on 10,000 samples.
Peers that are not installed are skipped: scikit-learn's MLPClassifier
(its own numpy loop), PyTorch (the usual hand-written training loop, CPU,
its default thread count) and FANN (libfann's own C epoch, per-sample
incremental training, float; the data shuffled each epoch).  pybp runs on
one core.

    python bench/bench_peers.py [--repeat 3]
"""
import argparse
import ctypes
import ctypes.util
import tempfile

import numpy as np

import pybp
from _common import best_of


def run_pybp(sizes, acts, X, T, batch, loss, opt, dtype="float64"):
    net = pybp.Network(sizes, *acts, seed=0, dtype=dtype)
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


def run_fann(sizes, X, T, lr, tmpdir):
    """FANN's own C epoch (fann_train_epoch, incremental = per-sample
    updates, float), on data shuffled by fann_shuffle_train_data, if libfann
    is installed."""
    name = ctypes.util.find_library("fann")
    if name is None:
        return None
    lib = ctypes.CDLL(name)
    vp = ctypes.c_void_p
    lib.fann_create_standard_array.restype = vp
    lib.fann_create_standard_array.argtypes = [ctypes.c_uint,
                                               ctypes.POINTER(ctypes.c_uint)]
    for fn in ("fann_set_training_algorithm",
               "fann_set_activation_function_hidden",
               "fann_set_activation_function_output"):
        getattr(lib, fn).argtypes = [vp, ctypes.c_int]
    lib.fann_set_learning_rate.argtypes = [vp, ctypes.c_float]
    lib.fann_read_train_from_file.restype = vp
    lib.fann_read_train_from_file.argtypes = [ctypes.c_char_p]
    lib.fann_shuffle_train_data.argtypes = [vp]
    lib.fann_train_epoch.restype = ctypes.c_float
    lib.fann_train_epoch.argtypes = [vp, vp]
    path = f"{tmpdir}/bench.data"
    pybp.io.save_fann_data(path, X, T)
    data = lib.fann_read_train_from_file(path.encode())
    arr = (ctypes.c_uint * len(sizes))(*sizes)
    ann = lib.fann_create_standard_array(len(sizes), arr)
    lib.fann_set_training_algorithm(ann, 0)          # FANN_TRAIN_INCREMENTAL
    lib.fann_set_activation_function_hidden(ann, 3)  # FANN_SIGMOID
    lib.fann_set_activation_function_output(ann, 3)
    lib.fann_set_learning_rate(ann, lr)

    def fit():
        lib.fann_shuffle_train_data(data)
        lib.fann_train_epoch(ann, data)
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
    tmpdir = tempfile.mkdtemp()

    n = 20000
    X = rng.uniform(-1, 1, (n, 10))
    T = np.eye(4)[rng.integers(0, 4, n)]
    sizes = [10, 4, 6, 8, 4]
    rows = [("pybp (C backend)", best_of(r, run_pybp(
        sizes, ("sigmoid",), X, T, 1, "sse", lambda: pybp.optim.SGD(0.1)))),
            ("pybp float32", best_of(r, run_pybp(
                sizes, ("sigmoid",), X.astype(np.float32), T, 1, "sse",
                lambda: pybp.optim.SGD(0.1), dtype="float32")))]
    for name, fit in (("scikit-learn MLPClassifier",
                       run_sklearn(sizes, "logistic", X, T, 1, 0.1, 0.0)),
                      ("PyTorch", run_torch(sizes, ("sigmoid",), X, T, 1,
                                            "sse", 0.1, 0.0)),
                      ("FANN (fann_train_epoch)",
                       run_fann(sizes, X, T, 0.1, tmpdir))):
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
