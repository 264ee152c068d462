"""Training: the Trainer (options, optimizer state, random stream) and History."""
import time

import numpy as np

from pybp import _pycore, _validate, optim


class History:
    """Per-epoch record of a fit: loss, val_loss, lr, seconds, and why it
    stopped (max_epochs, target_loss, no_improvement, max_seconds, callback,
    interrupted, diverged)."""

    def __init__(self):
        self.loss = []
        self.val_loss = []
        self.lr = []
        self.seconds = []
        self.stopped = None

    @property
    def epochs(self):
        return len(self.loss)

    def __repr__(self):
        last = f", last loss {self.loss[-1]:.6g}" if self.loss else ""
        return f"History({self.epochs} epochs{last}, stopped={self.stopped!r})"


class Trainer:
    """Training options plus the state that outlives one fit: the optimizer's
    per-parameter buffers and step count, and the shuffling random stream."""

    def __init__(self, *, loss="half_sse", optimizer="sgd", batch_size=1,
                 shuffle=True, seed=None, train_biases=True):
        self.loss = _validate.choice("loss", loss, _validate.LOSSES)
        self.optimizer = optim.get(optimizer)
        self.batch_size = _validate.integer("batch_size", batch_size, minimum=1)
        self.shuffle = _validate.flag("shuffle", shuffle)
        self.train_biases = _validate.flag("train_biases", train_biases)
        self._rng = np.random.default_rng(_validate.seed(seed))
        self._state = None
        self._step = 0

    def _order(self, n):
        if self.shuffle:
            return self._rng.permutation(n).astype(np.int64)
        return np.arange(n, dtype=np.int64)

    def _state_for(self, net, hyper):
        """The optimizer state buffer for net, created zeroed on first use."""
        slots = len(_pycore.state_slots(hyper))
        size = slots * net.n_params
        if self._state is None:
            self._state = np.zeros(size, dtype=net.dtype)
        elif self._state.size != size or self._state.dtype != net.dtype:
            raise ValueError(
                "this Trainer's optimizer state was made for a network with "
                f"{self._state.size // max(slots, 1)} {self._state.dtype} "
                f"parameters; got one with {net.n_params} {net.dtype}")
        return self._state

    def fit(self, net, X, T, *, epochs=1, validation_data=None,
            validation_split=0.0, sample_weight=None):
        loss = _validate.loss_for(self.loss, net.output_activation)
        X, T, _ = _validate.samples(X, T, net.n_inputs, net.n_outputs,
                                    net.dtype, allow_empty=False)
        sw = _validate.sample_weight(sample_weight, X.shape[0], net.dtype)
        epochs = _validate.integer("epochs", epochs, minimum=0)
        history = History()
        hyper = self.optimizer.hyper()
        state = self._state_for(net, hyper)
        run = _CEpoch(net, self, X, T, sw, loss, state) \
            if net.backend == "c" else _PyEpoch(net, self, X, T, sw, loss, state)
        for _ in range(epochs):
            t0 = time.perf_counter()
            hyper = dict(self.optimizer.hyper(), step=self._step)
            done, loss_sum, weight_sum, self._step = run(hyper,
                                                         self._order(len(X)))
            history.loss.append(loss_sum / weight_sum if weight_sum else
                                float("nan"))
            history.lr.append(hyper["lr"])
            history.seconds.append(time.perf_counter() - t0)
        history.stopped = "max_epochs"
        return history


class _CEpoch:
    """One epoch on the C backend: a single call into the compiled loop."""

    def __init__(self, net, trainer, X, T, sw, loss, state):
        self.net, self.trainer, self.loss = net, trainer, loss
        self.X, self.T, self.state = X, T, state
        self.sw = sw if sw is not None else np.empty(0, dtype=net.dtype)
        batch = min(trainer.batch_size, len(X))
        self.batch = batch
        self.work = np.empty(net.core.epoch_workspace_size(batch),
                             dtype=net.dtype)

    def __call__(self, hyper, order, progress=None):
        done, loss_sum, weight_sum, step, exc = self.net.core.train_epoch(
            hyper, self.net.params, self.state, self.X, self.T, self.sw, order,
            self.batch, self.loss, self.trainer.train_biases, self.work,
            progress)
        if exc is not None:
            raise exc
        return done, loss_sum, weight_sum, step


class _PyEpoch:
    """One epoch on the pure-Python backend, on lists converted once per fit."""

    def __init__(self, net, trainer, X, T, sw, loss, state):
        self.net, self.trainer, self.loss = net, trainer, loss
        self.X, self.T = X.tolist(), T.tolist()
        self.sw = None if sw is None else sw.tolist()
        self.state_buf = state
        self.make_row = _pycore.row_factory(net.dtype.name)
        self.batch = min(trainer.batch_size, len(X))

    def __call__(self, hyper, order, progress=None):
        net = self.net
        W, b = net._rows()
        slots = _pycore.state_slots(hyper)
        state = {name: net._rows(self.state_buf[s * net.n_params:
                                                 (s + 1) * net.n_params])
                 for s, name in enumerate(slots)}
        done, loss_sum, weight_sum, step = _pycore.train_epoch(
            net.activations, hyper, W, b, state, self.X, self.T, self.sw,
            order.tolist(), self.batch, self.loss, self.trainer.train_biases,
            self.make_row, progress)
        net._store_rows(W, b)
        for s, name in enumerate(slots):
            net._store_rows(*state[name],
                            self.state_buf[s * net.n_params:
                                           (s + 1) * net.n_params])
        return done, loss_sum, weight_sum, step
