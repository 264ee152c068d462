"""The implementations bench/run.py times, one Runner class each.

A runner is built for one workload (raising Skip when it cannot express it,
or its library is missing) and then offers:
  reset()   put the initial parameters back (not timed);
  run()     the timed work; returns None (the caller's wall time counts) or
            the seconds it measured itself (FANN times inside C);
  result()  quality figures after a run (train loss, test accuracy or MSE);
  w         the workload actually run (slow implementations run a smaller
            one; times are divided by its units, so rates compare);
  units     for predict runners, the calls per run (set by calibrate());
  compiles  true when the first run compiles (JAX): warmed up twice;
  threads   the thread count it used, in words;
  note      where it departs from the workload (order, loss, precision).
"""
import os
import tempfile
import warnings

import numpy as np

import pybp
import workloads as wl
from numpy_mlp import NumpyMLP, per_sample_loss


class Skip(Exception):
    """This implementation cannot run this workload (the message says why)."""


# ---- shared helpers ------------------------------------------------------------

def evaluate(w, predict, X, T, Xt, Tt):
    """train_loss (pybp's loss definition, on the training set), and
    test_acc (classification) or test_mse (FANN problems, mean over samples
    and outputs) on the test set."""
    out = {}
    if w.loss in ("half_sse", "sse", "cross_entropy") and len(X) <= 20000:
        O = np.asarray(predict(X), dtype=np.float64)
        out["train_loss"] = float(per_sample_loss(w.loss, O, T).mean())
    if len(Xt):
        P = np.asarray(predict(Xt), dtype=np.float64)
        if w.data.startswith("fann:"):
            out["test_mse"] = float(np.mean((P - Tt) ** 2))
        else:
            out["test_acc"] = float(np.mean(P.argmax(1) == Tt.argmax(1)))
    return out


# Python-loop implementations run a smaller version of the slow workloads
# (rates are per step, sample or epoch, so they still compare); small
# workloads (--check's) are left as they are.
_LIMITS = {  # name: {workload key: (field, largest value)}
    "pybp-python": {"worked": ("epochs", 1000), "credit": ("n_train", 500)},
    "numpy": {"worked": ("epochs", 2000), "credit": ("n_train", 2000)},
    "sklearn": {"credit": ("n_train", 1000)},
    "torch": {"worked": ("epochs", 500), "credit": ("n_train", 500),
              "digits": ("epochs", 2), "mnist32": ("n_train", 2560),
              "mnist64": ("n_train", 2560), "wide": ("n_train", 1024)},
}


def reduced(w, name):
    """The workload implementation `name` runs for w."""
    field, limit = _LIMITS.get(name, {}).get(w.key, (None, None))
    if field is None or getattr(w, field) * (w.epochs if field == "n_train"
                                              else 1) <= limit:
        return w
    changes = {field: limit}
    if field == "n_train":
        changes["epochs"] = 1
    return w.scaled(**changes)


def blas_threads():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS threads unknown (no threadpoolctl)"
    parts = [f"{i.get('internal_api')} {i.get('num_threads')} thr "
             f"({i.get('architecture', '?')})"
             for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(parts) or "no BLAS found"


def pybp_threads():
    get = getattr(pybp, "get_num_threads", None)
    return f"{get()} thr" if get else "1 thr (no threading in this pybp)"


def kernel_sets():
    """[None] when pybp has one kernel set, else its names, default first."""
    if not hasattr(pybp, "set_kernels"):
        return [None]
    return ["fast", "exact"]


class PredictMixin:
    """Predict runners: run() makes `units` calls; calibrate() picks units
    so that one run lasts about `target` seconds.  Listed before a training
    runner among the bases, so that its run() and result() replace the
    runner's; a subclass gives predictor() (the function run() calls on
    self.x) or its own run()."""
    units = 100

    def run(self):
        predict, x = self.predictor(), self.x
        for _ in range(self.units):
            predict(x)

    def result(self):
        return {}

    def calibrate(self, seconds_for_units, target=0.1):
        per = max(seconds_for_units / self.units, 1e-8)
        self.units = int(min(max(target / per, 10), 10 ** 6))


def predict_input(w):
    X, _, _, _ = w.dataset()
    return X[0] if w.predict_batch == 1 else X[:w.predict_batch]


# ---- pybp -------------------------------------------------------------------

class PybpRunner:
    def __init__(self, w, kernels=None, backend="c"):
        self.kernels, self.backend = kernels, backend
        self.name = ("pybp-python" if backend == "python" else
                     f"pybp[{kernels}]" if kernels else "pybp")
        if backend == "python" and w.key not in ("worked", "credit"):
            raise Skip("pure-Python backend runs workloads 1-2 only")
        self.w = reduced(w, self.name) if backend == "python" else w
        self.X, self.T, self.Xt, self.Tt = self.w.dataset()
        self.net0 = self.w.network(backend)
        self.threads = "1 thr" if backend == "python" else pybp_threads()
        self.note = ("smaller run (pure Python)" if self.w is not w else "")

    def _select(self):
        if self.kernels:
            pybp.set_kernels(self.kernels)

    def reset(self):
        self._select()
        self.net = self.net0.copy()

    def run(self):
        self.w.fit_pybp(self.net, self.X, self.T)

    def result(self):
        return evaluate(self.w, self.net.predict, self.X, self.T, self.Xt,
                        self.Tt)


class PybpFit1(PredictMixin, PybpRunner):
    """`units` calls of the workload's fit (fit1: one epoch each), timed
    as predict calls are: the fixed cost of one fit() call."""

    def __init__(self, w, kernels=None):
        super().__init__(w, kernels)
        self.note = "validation included"

    def run(self):
        fit, net, X, T = self.w.fit_pybp, self.net, self.X, self.T
        for _ in range(self.units):
            fit(net, X, T)


class PybpPredict(PredictMixin, PybpRunner):
    def __init__(self, w, kernels=None):
        super().__init__(w, kernels)
        self.x = predict_input(w)
        self.note = "validation included"

    def predictor(self):
        return self.net.predict


# ---- plain numpy --------------------------------------------------------------

class NumpyRunner:
    name = "numpy"

    def __init__(self, w):
        if w.optimizer != "sgd":
            raise Skip("numpy MLP implements SGD only")
        self.w = reduced(w, self.name)
        self.X, self.T, self.Xt, self.Tt = self.w.dataset()
        self.init = self.w.init_params()
        self.orders = self.w.orders()
        self.threads = blas_threads()
        self.note = "smaller run (Python loop per sample)" if self.w is not w else ""

    def reset(self):
        w = self.w
        self.mlp = NumpyMLP(self.init, w.activations, w.loss, w.lr,
                            w.momentum, w.dtype)

    def run(self):
        self.mlp.train(self.X, self.T, self.orders, self.w.batch_size)

    def result(self):
        return evaluate(self.w, self.mlp.predict, self.X, self.T, self.Xt,
                        self.Tt)


class NumpyPredict(PredictMixin, NumpyRunner):
    def __init__(self, w):
        super().__init__(w)
        self.x = np.atleast_2d(predict_input(w))
        self.note = "2-D input, no validation"

    def predictor(self):
        return self.mlp.predict


# ---- JAX ---------------------------------------------------------------------

def _jax():
    try:
        import jax
    except ImportError as e:
        raise Skip(f"jax not installed ({e})")
    jax.config.update("jax_enable_x64", True)   # float64 workloads; float32 stays float32
    return jax


def _jax_forward(jax, acts):
    jnp = jax.numpy
    fns = {"sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh, "relu": jax.nn.relu,
           "identity": lambda z: z}

    def logits_and_output(params, x):
        n = len(params)
        for l, (W, b) in enumerate(params):
            z = x @ W.T + b
            act = acts[1] if l == n - 1 else acts[0]
            x = jax.nn.softmax(z, axis=-1) if act == "softmax" else fns[act](z)
        return z, x
    return logits_and_output


def jax_threads():
    return f"XLA default (XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r})"


class JaxRunner:
    name = "jax"
    compiles = True     # run.py warms it up twice: compile, then time

    def __init__(self, w):
        if w.optimizer != "sgd":
            raise Skip("SGD workloads only")
        jax = _jax()
        jnp, lax = jax.numpy, jax.lax
        self.jax, self.w = jax, w
        self.X, self.T, self.Xt, self.Tt = w.dataset()
        self.init = [(jnp.asarray(W), jnp.asarray(b))
                     for W, b in w.init_params()]
        B = w.batch_size
        if w.n_train % B:
            raise Skip("lax.scan needs whole batches")
        self.idx = jnp.asarray(w.orders().reshape(-1, B))
        self.Xd, self.Td = jnp.asarray(self.X), jnp.asarray(self.T)
        fwd = _jax_forward(jax, w.activations)
        lr, mom, loss = w.lr, w.momentum, w.loss

        def loss_fn(params, x, t):
            z, o = fwd(params, x)
            if loss == "cross_entropy":
                return -(t * jax.nn.log_softmax(z, axis=-1)).sum(-1).mean()
            return 0.5 * ((o - t) ** 2).sum(-1).mean()

        grad = jax.grad(loss_fn)

        def step(carry, idx, X, T):
            params, vel = carry
            g = grad(params, X[idx], T[idx])
            vel = jax.tree_util.tree_map(lambda v, d: mom * v - lr * d, vel, g)
            params = jax.tree_util.tree_map(lambda p, v: p + v, params, vel)
            return (params, vel), None

        def train(params, X, T, idx):
            vel = jax.tree_util.tree_map(jnp.zeros_like, params)
            (params, _), _ = lax.scan(lambda c, i: step(c, i, X, T),
                                      (params, vel), idx)
            return params

        self.train = jax.jit(train)
        self.predict_jit = jax.jit(lambda p, x: fwd(p, x)[1])
        self.threads = jax_threads()
        self.note = "lax.scan over " + ("samples" if B == 1 else "batches")

    def reset(self):
        self.params = self.init

    def run(self):
        self.params = self.train(self.init, self.Xd, self.Td, self.idx)
        self.jax.block_until_ready(self.params)

    def predict(self, X):
        return np.asarray(self.predict_jit(self.params, X))

    def result(self):
        return evaluate(self.w, self.predict, self.X, self.T, self.Xt, self.Tt)


class JaxPredict(PredictMixin):
    name = "jax"

    def __init__(self, w):
        jax = _jax()
        self.w = w
        self.params = [(jax.numpy.asarray(W), jax.numpy.asarray(b))
                       for W, b in w.init_params()]
        self.f = jax.jit(lambda p, x: _jax_forward(jax, w.activations)(p, x)[1])
        self.x = np.atleast_2d(predict_input(w))
        self.threads = jax_threads()
        self.note = "jitted forward; numpy in, numpy out"

    def reset(self):
        pass

    def run(self):
        f, p, x = self.f, self.params, self.x
        for _ in range(self.units):
            np.asarray(f(p, x))


# ---- PyTorch --------------------------------------------------------------------

def _torch():
    try:
        import torch
    except ImportError as e:
        raise Skip(f"torch not installed ({e})")
    return torch


class TorchRunner:
    name = "torch"

    def __init__(self, w):
        if w.optimizer != "sgd":
            raise Skip("SGD workloads only")
        torch = _torch()
        self.torch = torch
        full = w
        self.w = w = reduced(w, self.name)
        self.X, self.T, self.Xt, self.Tt = w.dataset()
        self.Xd, self.Td = torch.from_numpy(self.X), torch.from_numpy(self.T)
        self.init = w.init_params()
        self.orders = torch.from_numpy(w.orders())
        self.threads = f"{torch.get_num_threads()} thr (torch.get_num_threads)"
        self.note = ("torch.optim.SGD, hand-written loop"
                     + ("; smaller run" if w is not full else ""))
        act = {"sigmoid": torch.sigmoid, "tanh": torch.tanh,
               "relu": torch.relu, "identity": lambda z: z}
        hidden, out = w.activations
        self.params = [(torch.tensor(W, requires_grad=True),
                        torch.tensor(b, requires_grad=True))
                       for W, b in self.init]

        def forward(x):
            n = len(self.params)
            for l, (W, b) in enumerate(self.params):
                z = torch.addmm(b, x, W.t())
                if l < n - 1:
                    x = act[hidden](z)
            return z if out == "softmax" else act[out](z)

        self.forward = forward

    def _loss(self, y, t):
        torch = self.torch
        if self.w.loss == "cross_entropy":
            return -(t * torch.log_softmax(y, 1)).sum(1).mean()
        return 0.5 * ((y - t) ** 2).sum(1).mean()

    def reset(self):
        with self.torch.no_grad():
            for (W, b), (W0, b0) in zip(self.params, self.init):
                W.copy_(self.torch.from_numpy(W0))
                b.copy_(self.torch.from_numpy(b0))
        flat = [p for pair in self.params for p in pair]
        self.opt = self.torch.optim.SGD(flat, lr=self.w.lr,
                                        momentum=self.w.momentum)

    def run(self):
        X, T, B, opt = self.Xd, self.Td, self.w.batch_size, self.opt
        for order in self.orders:
            for s in range(0, len(order), B):
                idx = order[s:s + B]
                opt.zero_grad()
                self._loss(self.forward(X[idx]), T[idx]).backward()
                opt.step()

    def predict(self, X):
        with self.torch.no_grad():
            y = self.forward(self.torch.from_numpy(np.ascontiguousarray(X)))
            if self.w.activations[1] == "softmax":
                y = self.torch.softmax(y, 1)
            return y.numpy()

    def result(self):
        return evaluate(self.w, self.predict, self.X, self.T, self.Xt, self.Tt)


class TorchPredict(PredictMixin, TorchRunner):
    def __init__(self, w):
        super().__init__(w)
        self.x = np.atleast_2d(predict_input(w))
        self.note = "no_grad forward; numpy in, numpy out"

    def predictor(self):
        return self.predict


# ---- scikit-learn ------------------------------------------------------------------

class SklearnRunner:
    name = "sklearn"

    def __init__(self, w):
        try:
            from sklearn.neural_network import MLPClassifier
        except ImportError as e:
            raise Skip(f"scikit-learn not installed ({e})")
        if w.optimizer != "sgd" or w.key == "worked":
            raise Skip("MLPClassifier cannot express this workload")
        if w.key == "wide":
            raise Skip("left out: minutes per run")
        full = w
        self.w = w = reduced(w, self.name)
        self.X, self.T, self.Xt, self.Tt = w.dataset()
        self.y = self.T.argmax(1)
        hidden = {"sigmoid": "logistic", "tanh": "tanh", "relu": "relu"}[
            w.activations[0]]
        self.clf = MLPClassifier(
            hidden_layer_sizes=w.sizes[1:-1], activation=hidden, solver="sgd",
            alpha=0.0, batch_size=w.batch_size, learning_rate_init=w.lr,
            momentum=w.momentum, nesterovs_momentum=False, max_iter=1,
            shuffle=True, random_state=wl.ORDER_SEED, tol=0.0,
            n_iter_no_change=10 ** 9, warm_start=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.clf.fit(self.X, self.y)          # builds its structures
        self.clf.set_params(max_iter=w.epochs)
        self.init = w.init_params()
        self.threads = blas_threads()
        self.note = "own sample order"
        if w.loss != "cross_entropy":
            self.note += "; softmax + log-loss output (cannot do sigmoid + SSE)"
        if self.w is not full:
            self.note += "; smaller run"

    def reset(self):
        self.clf.coefs_ = [np.array(W.T) for W, _ in self.init]
        self.clf.intercepts_ = [np.array(b) for _, b in self.init]
        self.clf.n_iter_ = 0
        self.clf.t_ = 0

    def run(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.clf.fit(self.X, self.y)

    def result(self):
        P = self.clf.predict_proba(self.Xt)
        return {"test_acc": float(np.mean(P.argmax(1) == self.Tt.argmax(1)))}


# ---- onnxruntime -------------------------------------------------------------------

class OnnxPredict(PredictMixin):
    name = "onnxruntime"

    def __init__(self, w, threads=None):
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise Skip(f"onnxruntime not installed ({e})")
        self.w = w
        net = w.network()
        fd, path = tempfile.mkstemp(suffix=".onnx")
        os.close(fd)
        try:
            pybp.io.export_onnx(net, path)
            so = ort.SessionOptions()
            if threads:
                so.intra_op_num_threads = threads
                so.inter_op_num_threads = 1
            self.sess = ort.InferenceSession(path, so,
                                             providers=["CPUExecutionProvider"])
        finally:
            os.unlink(path)
        self.input = self.sess.get_inputs()[0].name
        self.x = np.atleast_2d(predict_input(w)).astype(net.params.dtype)
        self.threads = (f"{threads} intra-op thr" if threads
                        else "ORT default intra-op threads")
        self.note = "pybp.io.export_onnx model, InferenceSession.run"

    def reset(self):
        pass

    def run(self):
        run, feed = self.sess.run, {self.input: self.x}
        for _ in range(self.units):
            run(None, feed)


# ---- FANN -----------------------------------------------------------------------------

def _fann():
    import fann_peer
    try:
        fann_peer.load()
    except fann_peer.Unavailable as e:
        raise Skip(str(e))
    return fann_peer


class FannRunner:
    name = "fann"

    def __init__(self, w):
        fp = _fann()
        if w.key not in ("worked", "credit") and w.optimizer != "rprop":
            raise Skip("FANN runs workloads 1, 2, predict and its own datasets")
        self.fp, self.w = fp, w
        self.X, self.T, self.Xt, self.Tt = w.dataset()
        self.init = w.init_params()
        self.net = fp.FannNet(w.sizes, w.activations, self.init)
        self.data = fp.FannData(self.X, self.T)
        self.orders = w.orders() if w.optimizer == "sgd" else None
        self.threads = "1 thr"
        self.note = ("libfann float, fann_train_epoch, timed in C; "
                     + ("same order" if self.orders is not None
                        else "FANN_TRAIN_RPROP, FANN defaults"))

    def reset(self):
        if self.orders is None:
            # iRPROP-'s step sizes and last gradients live in the network
            # (fann_set_weight_array keeps them): a fresh one each round, so
            # that every run starts them at delta0, as pybp's does.
            self.net = self.fp.FannNet(self.w.sizes, self.w.activations,
                                       self.init)
        else:
            self.net.set_params(self.init)

    def run(self):
        if self.orders is not None:
            return self.fp.train_incremental(self.net, self.data, self.w.lr,
                                             self.w.epochs, self.orders)
        return self.fp.train_rprop(self.net, self.data, self.w.epochs)

    def predict(self, X):
        data = self.fp.FannData(X, np.zeros((len(X), self.w.sizes[-1])))
        return self.fp.run_all(self.net, data)[1]

    def result(self):
        return evaluate(self.w, self.predict, self.X, self.T, self.Xt, self.Tt)


class FannPredict(PredictMixin):
    name = "fann"

    def __init__(self, w):
        fp = _fann()
        self.fp, self.w = fp, w
        x = np.atleast_2d(predict_input(w))
        self.net = fp.FannNet(w.sizes, w.activations, w.init_params())
        self.data = fp.FannData(x, np.zeros((len(x), w.sizes[-1])))
        self.threads = "1 thr"
        self.note = "fann_run in a C loop (no Python per call), float"

    def reset(self):
        pass

    def run(self):
        if self.w.predict_batch == 1:
            return self.fp.run_repeat(self.net, self.data, self.units)[0]
        return sum(self.fp.run_all(self.net, self.data)[0]
                   for _ in range(self.units))


# ---- the registry ------------------------------------------------------------------------

IMPLEMENTATIONS = ("pybp", "pybp-python", "numpy", "jax", "torch", "sklearn",
                   "fann", "onnxruntime")


def make_runners(w, names=IMPLEMENTATIONS, kernels=None, threads=None):
    """(runners, skipped): the runners for workload w, and (name, reason)
    for each implementation that cannot run it."""
    runners, skipped = [], []

    def add(name, build):
        try:
            runners.append(build())
        except Skip as e:
            skipped.append((name, str(e)))
        except ImportError as e:   # e.g. onnxruntime present, onnx absent
            skipped.append((name, f"not installed: {e}"))

    predict = w.predict_batch > 0
    if w.key == "fit1":     # pybp's own call overhead: no peer runs it
        for k in (kernels or kernel_sets()) if "pybp" in names else ():
            add(f"pybp[{k}]" if k else "pybp", lambda k=k: PybpFit1(w, k))
        skipped += [(name, "fit1 times pybp's own fit() call")
                    for name in names if name != "pybp"]
        return runners, skipped
    for name in names:
        if name == "pybp":
            for k in (kernels or kernel_sets()):
                add(f"pybp[{k}]" if k else "pybp",
                    lambda k=k: (PybpPredict if predict else PybpRunner)(w, k))
        elif name == "pybp-python":
            if not predict:
                add(name, lambda: PybpRunner(w, backend="python"))
        elif name == "numpy":
            add(name, lambda: (NumpyPredict if predict else NumpyRunner)(w))
        elif name == "jax":
            add(name, lambda: (JaxPredict if predict else JaxRunner)(w))
        elif name == "torch":
            add(name, lambda: (TorchPredict if predict else TorchRunner)(w))
        elif name == "sklearn":
            if not predict:
                add(name, lambda: SklearnRunner(w))
        elif name == "fann":
            add(name, lambda: (FannPredict if predict else FannRunner)(w))
        elif name == "onnxruntime":
            if predict:
                add(name, lambda: OnnxPredict(w, threads))
    return runners, skipped
