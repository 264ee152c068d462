"""The two backends behind one small interface.

A backend runs the algorithm on a network's flat parameter buffer:

- ``forward(net, X)`` -> outputs, shape (n, n_outputs);
- ``evaluate(net, X, T, sw, loss, metric, threshold)`` -> (loss sum,
  weight sum, correct sum);
- ``batch_gradient(net, X, T, sw, loss)`` -> (loss sum, weight sum, flat
  gradient, per-layer deltas of shape (n, n_out_l));
- ``shuffle(state, n)`` -> (new generator state, int64 permutation of
  range(n)), csrc/shuffle.h's generator (the same orders on both backends);
- ``epoch(net, X, T, sw, loss, metric, threshold, batch, train_biases,
  state)`` -> a callable ``run(spec, step, order, progress)`` ->
  (samples applied, loss sum, weight sum, correct sum, new step), holding
  what is prepared once per fit (workspace, or the Python lists).

``CBackend`` calls the compiled kernels through pybp._core; ``PyBackend``
runs pybp._pycore, which holds parameters as lists of rows and converts
them here.  Arrays come in validated (pybp._validate); ``state`` is the
optimizer's flat buffer, slot after slot (pybp._registry.state_slot_names).
Only the network's public attributes are used.
"""
import numpy as np

from pybp import _core, _pycore, _registry

# Values per forward chunk in predict/loss: bounds the workspace, keeps it in
# cache, and is large enough that the per-chunk cost does not show.
CHUNK_VALUES = 1 << 16


def layer_views(flat, sizes, bias):
    """(weights, biases): per-layer views into a flat buffer of the
    registry's layout; weights[l] has shape (n_out, n_in)."""
    weights, biases = [], []
    offsets, _ = _registry.layout(sizes, bias)
    for (wo, bo), n_in, n_out in zip(offsets, sizes[:-1], sizes[1:]):
        weights.append(flat[wo:wo + n_out * n_in].reshape(n_out, n_in))
        if bo >= 0:
            biases.append(flat[bo:bo + n_out])
    return weights, biases


def _empty(net):
    return np.empty(0, dtype=net.dtype)


class _Epoch:
    """What both backends' epochs hold for one fit."""

    def __init__(self, net, loss, metric, threshold, batch, train_biases,
                 state):
        self.net, self.loss, self.train_biases = net, loss, train_biases
        self.metric, self.threshold = metric, threshold
        self.batch, self.state = batch, state


class _CEpoch(_Epoch):
    """One epoch on the C backend: a single call into the compiled loop."""

    def __init__(self, net, X, T, sw, loss, metric, threshold, batch,
                 train_biases, state):
        super().__init__(net, loss, metric, threshold, batch, train_biases,
                         state)
        self.X, self.T = X, T
        self.sw = sw if sw is not None else _empty(net)
        self.work = np.empty(net.core.epoch_workspace_size(batch),
                             dtype=net.dtype)

    def __call__(self, spec, step, order, progress=None):
        done, loss_sum, wsum, correct, step, exc = self.net.core.train_epoch(
            spec, step, self.net.params, self.state, self.X, self.T, self.sw,
            order, self.batch, self.loss, self.train_biases, self.metric,
            self.threshold, self.work, progress)
        if exc is not None:
            raise exc
        return done, loss_sum, wsum, correct, step


class CBackend:
    """The compiled kernels (one C call per forward chunk, gradient,
    evaluation or epoch)."""

    name = "c"
    # The per-fit epoch runner: epoch(net, X, T, sw, loss, metric,
    # threshold, batch, train_biases, state), then runner(spec, step,
    # order, progress) once per epoch.
    epoch = _CEpoch

    @staticmethod
    def forward(net, X):
        n = X.shape[0]
        out = np.empty((n, net.n_outputs), dtype=net.dtype)
        if n:
            core = net.core
            chunk = max(1, min(n, CHUNK_VALUES // core.n_units))
            work = np.empty(chunk * core.n_units, dtype=net.dtype)
            core.forward(net.params, X, out, work)
        return out

    @staticmethod
    def shuffle(state, n):
        order = np.empty(n, dtype=np.int64)
        return _core.shuffle(state, order), order

    @staticmethod
    def evaluate(net, X, T, sw, loss, metric, threshold):
        core = net.core
        per_sample = core.evaluate_workspace_size(1)
        chunk = max(1, min(X.shape[0], CHUNK_VALUES // per_sample))
        work = np.empty(core.evaluate_workspace_size(chunk), dtype=net.dtype)
        return core.evaluate(net.params, X, T, _empty(net) if sw is None else sw,
                             loss, metric, threshold, work)

    @staticmethod
    def batch_gradient(net, X, T, sw, loss):
        core, n = net.core, X.shape[0]
        grad = np.zeros(net.n_params, dtype=net.dtype)
        acts = np.empty(n * core.n_units, dtype=net.dtype)
        dbuf = np.empty(n * core.n_units, dtype=net.dtype)
        z = np.empty((n, net.n_outputs), dtype=net.dtype)
        loss_sum, wsum = core.batch_gradient(
            net.params, X, T, _empty(net) if sw is None else sw, loss, acts,
            dbuf, z, grad)
        deltas, off = [], 0
        for width in net.sizes[1:]:
            deltas.append(dbuf[off:off + n * width].reshape(n, width))
            off += n * width
        return loss_sum, wsum, grad, deltas



def _rows(net, flat):
    """(W, b) of a flat buffer as pybp._pycore holds them (lists of rows)."""
    weights, biases = layer_views(flat, net.sizes, net.bias)
    make_row = _pycore.row_factory(net.dtype.name)
    W = [[make_row(r) for r in w.tolist()] for w in weights]
    b = [make_row(v.tolist()) for v in biases] if net.bias else None
    return W, b


def _store_rows(net, W, b, flat):
    """Copy _pycore's rows back into a flat buffer."""
    weights, biases = layer_views(flat, net.sizes, net.bias)
    for view, rows in zip(weights, W):
        view[...] = rows
    if b is not None:
        for view, row in zip(biases, b):
            view[...] = row


class _PyEpoch(_Epoch):
    """One epoch on the pure-Python backend, on lists converted once per fit
    and parameters converted once per epoch."""

    def __init__(self, net, X, T, sw, loss, metric, threshold, batch,
                 train_biases, state):
        super().__init__(net, loss, metric, threshold, batch, train_biases,
                         state)
        self.X, self.T = X.tolist(), T.tolist()
        self.sw = None if sw is None else sw.tolist()
        self.make_row = _pycore.row_factory(net.dtype.name)

    def __call__(self, spec, step, order, progress=None):
        net, n_params = self.net, self.net.n_params
        slots = {name: self.state[s * n_params:(s + 1) * n_params]
                 for s, name in enumerate(_registry.state_slot_names(spec))}
        W, b = _rows(net, net.params)
        state = {name: _rows(net, flat) for name, flat in slots.items()}
        result = _pycore.train_epoch(
            net.activations, spec, step, W, b, state, self.X, self.T, self.sw,
            order.tolist(), self.batch, self.loss, self.train_biases,
            self.metric, self.threshold, self.make_row, progress)
        _store_rows(net, W, b, net.params)
        for name, (sW, sb) in state.items():
            _store_rows(net, sW, sb, slots[name])
        return result


class PyBackend:
    """pybp._pycore: the same algorithms in plain Python."""

    name = "python"
    epoch = _PyEpoch   # as CBackend.epoch

    @staticmethod
    def forward(net, X):
        acts, _ = _pycore.forward(net.activations, *_rows(net, net.params),
                                  X.tolist())
        out = np.array(acts[-1], dtype=net.dtype)
        return out.reshape(X.shape[0], net.n_outputs)

    @staticmethod
    def shuffle(state, n):
        state, order = _pycore.shuffle(state, n)
        return state, np.array(order, dtype=np.int64)

    @staticmethod
    def evaluate(net, X, T, sw, loss, metric, threshold):
        W, b = _rows(net, net.params)
        return _pycore.evaluate(
            net.activations, W, b, X.tolist(), T.tolist(),
            None if sw is None else sw.tolist(), loss, metric, threshold,
            max(1, CHUNK_VALUES // sum(net.sizes[1:])))

    @staticmethod
    def batch_gradient(net, X, T, sw, loss):
        n = X.shape[0]
        W, b = _rows(net, net.params)
        loss_sum, wsum, gW, gb, _, deltas = _pycore.batch_gradient(
            net.activations, W, b, X.tolist(), T.tolist(),
            None if sw is None else sw.tolist(), loss)
        grad = np.zeros(net.n_params, dtype=net.dtype)
        _store_rows(net, gW, gb, grad)
        deltas = [np.array(d, dtype=net.dtype).reshape(n, -1) for d in deltas]
        return loss_sum, wsum, grad, deltas



BACKENDS = {CBackend.name: CBackend, PyBackend.name: PyBackend}
if set(BACKENDS) != set(_registry.BACKENDS):  # pragma: no cover
    raise ImportError("pybp._backend's backends differ from the registry's")


def get(name):
    """The backend of this registry name."""
    return BACKENDS[name]
