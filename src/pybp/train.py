"""Training: the Trainer (options, optimizer state, random stream) and History.

One epoch is one call into the backend (a single C call on the C backend);
between epochs the Trainer records the History, watches the stopping rules,
runs callbacks and draws the next sample order.  Inside an epoch the backend
calls back every millisecond or so (after a whole batch), which is where
Ctrl-C, max_seconds and the progress bar are noticed.

Epochs in C: on the C backend, when nothing needs Python between epochs (no
callbacks, no progress bar, no validation data, a built-in learning-rate
schedule other than ReduceOnPlateau), up to EPOCH_CHUNK epochs run in one C
call (pybp_train_epochs), which shuffles, records each epoch and decides
target_loss, patience/min_delta and divergence exactly as the per-epoch loop
here; max_seconds and Ctrl-C are noticed through the same callback.  Results
are identical, bit for bit; History.seconds is then the call's time shared
evenly among its epochs.

Sample order: each shuffled epoch draws one 64-bit seed from the Trainer's
numpy stream (``integers(2**64, dtype=uint64)``) and shuffles 0..n-1 with
csrc/shuffle.h's generator from it (the same generator in pybp._pycore), so
a seed gives the same orders on both backends.  The epochs-in-C path draws
a chunk's seeds at once and puts back those of epochs it did not run.  For
numpy's PCG64 that draw is one raw output, so the seeds are read with
``bit_generator.random_raw`` (the same values, without integers()'s
set-up); other bit generators go through integers().  The stream itself is
created on first use.  Network.fit's Trainer is its own (nobody else can see
its stream after the fit): there, with one sample (whose only order is
[0]) and a stream of its own (seed None or an integer), nothing is drawn.
"""
from __future__ import annotations

import importlib
import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import ArrayLike

from pybp import _backend, _registry, _validate, _warn, optim, plot
from pybp._progress import ProgressBar

# signal.signal/getsignal without the enum conversions of the signal
# module's wrappers (several µs per fit): the same C functions, from
# CPython's _signal (which has no type stubs: imported by name).
_sigint: Any
try:
    _sigint = importlib.import_module("_signal")
except ImportError:  # pragma: no cover - not CPython
    _sigint = signal

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from pybp._typing import Callback, FloatArray, Seed, Source, Target
    from pybp.network import Network

STOP_REASONS: tuple[str, ...] = _registry.STOP_REASONS

# Most epochs per C call on the epochs-in-C path (bounds the per-epoch
# record); CHUNKED = False forces the per-epoch loop (a test hook).
EPOCH_CHUNK = 65536
CHUNKED = True

# Schedules whose rates are a pure function of (epoch, samples_seen), so a
# chunk's rates can be computed before it runs.
_PURE_SCHEDULES = (optim.Constant, optim.StepDecay, optim.ExponentialDecay,
                   optim.InverseScaling)


class History:
    """Per-epoch record of a fit.

    loss: mean training loss over each epoch's batches as they were seen
    (before each batch's update); val_loss: loss on the validation data after
    the epoch (empty without validation data); lr: learning rate used (None
    for Rprop, which has none); seconds: wall time per epoch; metrics:
    {"accuracy": [...], "val_accuracy": [...]} for classification targets
    (one-hot rows, or 0/1 or -1/1 targets); stopped: why training stopped,
    one of max_epochs, target_loss, no_improvement, max_seconds, callback,
    interrupted, diverged; warnings: what went wrong numerically without
    stopping the fit (each also raised as a RuntimeWarning), e.g. an epoch
    that changed no weight although their gradient was not zero.
    """

    val_loss: list[float]
    stopped: str | None
    warnings: list[str]

    def __init__(self) -> None:
        self._loss: list[float] = []
        self.val_loss = []
        self._lr: list[float | None] = []
        self._seconds: list[float] = []
        self._metrics: dict[str, list[float]] = {}
        self.stopped = None
        self.warnings = []
        # Epochs run in C arrive a chunk at a time as float64 arrays; they
        # become the lists above when first read (making a Python float per
        # epoch and column costs more than the epoch itself on a tiny
        # net).  Each entry: (losses, rates or None, seconds per epoch,
        # accuracies or None).
        self._pending: list[tuple[Any, Any, float, Any]] = []
        self._pending_epochs = 0

    def _add_chunk(self, losses: Any, rates: Any, seconds: float,
                   accuracies: Any) -> None:
        """Record len(losses) epochs from float64 arrays (rates None: no
        learning rate; accuracies None: no accuracy metric)."""
        self._pending.append((losses, rates, seconds, accuracies))
        self._pending_epochs += len(losses)

    def _flush(self) -> History:
        for losses, rates, seconds, accuracies in self._pending:
            count = len(losses)
            self._loss.extend(losses.tolist())
            self._lr.extend([None] * count if rates is None
                            else rates.tolist())
            self._seconds.extend([seconds] * count)
            if accuracies is not None:
                self._metrics["accuracy"].extend(accuracies.tolist())
        self._pending.clear()
        self._pending_epochs = 0
        return self

    @property
    def loss(self) -> list[float]:
        """Mean training loss per epoch."""
        return self._flush()._loss

    @loss.setter
    def loss(self, values: list[float]) -> None:
        self._flush()._loss = values

    @property
    def lr(self) -> list[float | None]:
        """Learning rate per epoch (None for Rprop)."""
        return self._flush()._lr

    @lr.setter
    def lr(self, values: list[float | None]) -> None:
        self._flush()._lr = values

    @property
    def seconds(self) -> list[float]:
        """Wall time per epoch."""
        return self._flush()._seconds

    @seconds.setter
    def seconds(self, values: list[float]) -> None:
        self._flush()._seconds = values

    @property
    def metrics(self) -> dict[str, list[float]]:
        """{"accuracy": [...], "val_accuracy": [...]} for classification."""
        return self._flush()._metrics

    @metrics.setter
    def metrics(self, values: dict[str, list[float]]) -> None:
        self._flush()._metrics = values

    def __getstate__(self) -> dict[str, Any]:
        return dict(self._flush().__dict__)

    @property
    def epochs(self) -> int:
        """The number of epochs recorded."""
        return len(self._loss) + self._pending_epochs

    @property
    def accuracy(self) -> list[float]:
        """metrics["accuracy"], or [] for regression targets."""
        return self.metrics.get("accuracy", [])

    @property
    def val_accuracy(self) -> list[float]:
        """metrics["val_accuracy"], or [] without validation data or for
        regression targets."""
        return self.metrics.get("val_accuracy", [])

    def plot(self, ax: Axes | None = None, **kwargs: Any) -> Axes:
        """Draw loss and val_loss (and accuracy where present); returns the
        matplotlib Axes.  Keywords as pybp.plot.history; needs matplotlib
        (``pip install "pybp[plot]"``)."""
        return plot.history(self, ax=ax, **kwargs)

    def __repr__(self) -> str:
        last = f", loss {self.loss[-1]:.6g}" if self.loss else ""
        if self.val_loss:
            last += f", val_loss {self.val_loss[-1]:.6g}"
        return f"History({self.epochs} epochs{last}, stopped={self.stopped!r})"


# Targets up to this many values are classified in Python (see below).
_SMALL_TARGETS = 64


def classification_metric(T: FloatArray) -> tuple[str | None, float]:
    """(metric, threshold) the kernels use to count right predictions.

    One-hot rows: argmax.  Targets all in {0, 1}: each output thresholded at
    0.5; all in {-1, 1}: at 0.  Anything else is regression: (None, 0).
    """
    if T.size == 0:
        return None, 0.0
    if T.size <= _SMALL_TARGETS:
        # The same tests on Python floats (exact comparisons, and the row
        # sums of 0/1 values are exact too): cheaper than numpy's per-call
        # cost for a few values.
        rows = T.tolist()
        values = [v for row in rows for v in row]
        zero_one = all(v == 0 or v == 1 for v in values)
        if len(rows[0]) > 1 and zero_one and \
                all(sum(row) == 1 for row in rows):
            return "argmax", 0.0
        if zero_one:
            return "threshold", 0.5
        if all(v == -1 or v == 1 for v in values):
            return "threshold", 0.0
        return None, 0.0
    # (T == a) | (T == b), not np.isin: the same test, without isin's
    # set-up, which costs more than a tiny fit's epochs.
    zero_one = bool(((T == 0) | (T == 1)).all())
    if T.shape[1] > 1 and zero_one and (T.sum(axis=1) == 1).all():
        return "argmax", 0.0
    if zero_one:
        return "threshold", 0.5
    if ((T == -1) | (T == 1)).all():
        return "threshold", 0.0
    return None, 0.0


class _Interrupts:
    """Turns Ctrl-C during a fit into a flag checked between batches.

    Installed only in the main thread and only over Python's default SIGINT
    handler.  A second Ctrl-C while the flag is already set raises
    KeyboardInterrupt as usual.
    """

    flag: bool
    _previous: Callable[[int, FrameType | None], Any] | int | None

    def __init__(self) -> None:
        self.flag = False
        self._previous = None

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.flag:
            raise KeyboardInterrupt
        self.flag = True

    def __enter__(self) -> _Interrupts:
        if (threading.current_thread() is threading.main_thread()
                and _sigint.getsignal(signal.SIGINT)
                is signal.default_int_handler):
            self._previous = _sigint.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        if self._previous is not None:
            _sigint.signal(signal.SIGINT, self._previous)
        return False


class Trainer:
    """Training options plus the state that outlives one fit: the optimizer's
    per-parameter buffers and step count, the epoch and sample counters that
    schedules see, and the shuffling random stream (which continues across
    fits; ``seed`` makes it reproducible).

    ``trainer.fit(net, X, T, epochs=...)`` can be called repeatedly and
    ``trainer.partial_fit(net, X, T)`` runs one epoch over a chunk of data
    (streaming or out-of-core training, e.g. from a numpy memmap); both keep
    the optimizer state.  Options are those of Network.fit.
    """

    loss: str
    optimizer: optim.Optimizer
    batch_size: int
    shuffle: bool
    train_biases: bool
    target_loss: float | None
    patience: int | None
    min_delta: float
    max_seconds: float | None
    restore_best: bool
    callbacks: list[Callback]
    verbose: bool
    epochs_done: int
    samples_seen: int
    _stream: np.random.Generator | None
    _seed: int | np.random.Generator | None
    _private: bool
    _state: FloatArray | None
    _state_shape: tuple[int, np.dtype[Any]]
    _step: int

    def __init__(self, *, loss: str = "half_sse",
                 optimizer: str | optim.Optimizer = "sgd",
                 batch_size: int = 1, shuffle: bool = True, seed: Seed = None,
                 train_biases: bool = True, target_loss: float | None = None,
                 patience: int | None = None, min_delta: float = 0.0,
                 max_seconds: float | None = None, restore_best: bool = True,
                 callbacks: Callback | Sequence[Callback] | None = None,
                 verbose: bool = False) -> None:
        self.loss = _validate.choice("loss", loss, _validate.LOSSES)
        self.optimizer = optim.get(optimizer)
        self.batch_size = _validate.integer("batch_size", batch_size, minimum=1)
        self.shuffle = _validate.flag("shuffle", shuffle)
        self.train_biases = _validate.flag("train_biases", train_biases)
        self.target_loss = _validate.real("target_loss", target_loss,
                                          allow_none=True)
        self.patience = _validate.integer("patience", patience, minimum=1,
                                          allow_none=True)
        self.min_delta = _validate.real("min_delta", min_delta, minimum=0.0)
        self.max_seconds = _validate.real("max_seconds", max_seconds,
                                          minimum=0.0, allow_none=True)
        self.restore_best = _validate.flag("restore_best", restore_best)
        if callbacks is None:
            callbacks = []
        elif callable(callbacks):
            callbacks = [callbacks]
        else:
            callbacks = list(callbacks)
        for i, cb in enumerate(callbacks):
            if not callable(cb):
                raise TypeError(f"callbacks[{i}] must be callable as "
                                f"cb(net, history); got {type(cb).__name__}")
        self.callbacks = callbacks
        self.verbose = _validate.flag("verbose", verbose)
        # The shuffling stream, np.random.default_rng(seed), made on first
        # use (_rng); _private: only Network.fit's own Trainer.
        self._seed = _validate.seed(seed)
        self._stream = None
        self._private = False
        self._state = None
        self._step = 0
        self.epochs_done = 0
        self.samples_seen = 0

    # ---- the random stream ----------------------------------------------

    @property
    def _rng(self) -> np.random.Generator:
        """The shuffling stream, np.random.default_rng(seed) (made on first
        use: seeding costs more than a tiny fit's epochs)."""
        if self._stream is None:
            self._stream = np.random.default_rng(self._seed)
        return self._stream

    @_rng.setter
    def _rng(self, value: np.random.Generator) -> None:
        self._stream = value

    def _draw_seeds(self, k: int) -> np.ndarray[Any, np.dtype[np.uint64]]:
        """k order seeds, ``rng.integers(2**64, size=k, dtype=uint64)``."""
        bitgen = self._rng.bit_generator
        if type(bitgen) is np.random.PCG64:
            # integers() over the whole uint64 range is one raw output each.
            return bitgen.random_raw(k)
        return self._rng.integers(2 ** 64, size=k, dtype=np.uint64)

    def _draw_seed(self) -> int:
        """One order seed, ``int(rng.integers(2**64, dtype=uint64))``."""
        bitgen = self._rng.bit_generator
        if type(bitgen) is np.random.PCG64:
            return int(bitgen.random_raw())
        return int(self._rng.integers(2 ** 64, dtype=np.uint64))

    def _orders_fixed(self, n: int) -> bool:
        """Whether this fit draws no order seeds: n == 1 (the only order is
        [0]) on Network.fit's own Trainer with a stream of its own (seed
        None or an integer), whose stream nobody sees after the fit."""
        return (n == 1 and self._private
                and not isinstance(self._seed, np.random.Generator))

    # ---- optimizer state -------------------------------------------------

    def optimizer_state(self, net: Network) -> FloatArray:
        """The optimizer's state for net: one flat buffer holding the slots
        pybp._registry.state_slot_names names, n_params values each (zeroed
        on first use).  ValueError if it belongs to another network."""
        size = _registry.state_slots(self.optimizer.spec()) * net.n_params
        if self._state is None:
            self._state = np.zeros(size, dtype=net.dtype)
            self._state_shape = (net.n_params, net.dtype)
        elif (self._state.size != size
              or self._state_shape != (net.n_params, net.dtype)):
            raise ValueError(
                "this Trainer's optimizer state belongs to a network with "
                f"{self._state_shape[0]} {self._state_shape[1]} parameters; "
                f"got one with {net.n_params} {net.dtype} parameters (use a "
                "new Trainer for it)")
        return self._state

    def reset(self) -> None:
        """Forget the optimizer state and the epoch/sample counters."""
        self._state = None
        self._step = 0
        self.epochs_done = 0
        self.samples_seen = 0
        if isinstance(self.optimizer.schedule, optim.ReduceOnPlateau):
            self.optimizer.schedule.reset()

    # ---- checkpoints -----------------------------------------------------

    _OPTIONS = ("loss", "batch_size", "shuffle", "train_biases", "target_loss",
                "patience", "min_delta", "max_seconds", "restore_best",
                "verbose")

    def save(self, path: Target, net: Network) -> None:
        """Save net and this Trainer's state (optimizer state, counters,
        random stream, options; not callbacks) so that
        ``Trainer.load(path)`` resumes training exactly."""
        from pybp import io
        io.save_checkpoint(self, net, path)

    @classmethod
    def load(cls, path: Source) -> tuple[Trainer, Network]:
        """(trainer, net) from a file written by Trainer.save."""
        from pybp import io
        return io.load_checkpoint(path)

    def _checkpoint_config(self) -> dict[str, Any]:
        return {
            "options": {k: getattr(self, k) for k in self._OPTIONS},
            "optimizer": optim.to_config(self.optimizer),
            "step": self._step,
            "epochs_done": self.epochs_done,
            "samples_seen": self.samples_seen,
            "rng": self._rng.bit_generator.state,
        }

    @classmethod
    def _from_checkpoint_config(cls, config: Any) -> Trainer:
        if not isinstance(config, dict) or \
                not isinstance(config.get("options"), dict):
            raise ValueError(f"not a trainer description: {config!r:.80}")
        unknown = set(config["options"]) - set(cls._OPTIONS)
        if unknown:
            raise ValueError(f"unknown options {sorted(unknown)}")
        trainer = cls(optimizer=optim.from_config(config["optimizer"]),
                      **config["options"])
        trainer._step = _validate.integer("step", config["step"], minimum=0)
        trainer.epochs_done = _validate.integer(
            "epochs_done", config["epochs_done"], minimum=0)
        trainer.samples_seen = _validate.integer(
            "samples_seen", config["samples_seen"], minimum=0)
        rng = np.random.PCG64()
        rng.state = config["rng"]
        trainer._rng = np.random.Generator(rng)
        return trainer

    # ---- fitting ---------------------------------------------------------

    def fit(self, net: Network, X: ArrayLike, T: ArrayLike, *,
            epochs: int = 1,
            validation_data: tuple[ArrayLike, ...] | None = None,
            validation_split: float = 0.0,
            sample_weight: ArrayLike | None = None) -> History:
        """Train net on X, T for up to `epochs` epochs; returns a History."""
        loss = _validate.loss_for(self.loss, net.output_activation)
        epochs = _validate.integer("epochs", epochs, minimum=0)
        X, T, sw, x_unchecked = _training_data(net, X, T, sample_weight, loss,
                                               defer_x=epochs > 0)
        X_given = X
        X, T, sw, val = _split_validation(net, X, T, sw, validation_data,
                                          validation_split, loss)
        if x_unchecked and not self._epochs_in_c(net, val):
            _validate.require_finite("X", X_given)
            x_unchecked = False
        with net._guard.writing("fit"):
            return self._run(net, X, T, sw, val, loss, epochs, x_unchecked)

    def partial_fit(self, net: Network, X: ArrayLike, T: ArrayLike, *,
                    sample_weight: ArrayLike | None = None) -> History:
        """One epoch over this chunk of data, keeping the optimizer state.

        Fitting chunk after chunk with shuffle=False equals one fit over the
        concatenated data in the same order when every chunk's length is a
        multiple of batch_size (a batch never spans two chunks).
        """
        loss = _validate.loss_for(self.loss, net.output_activation)
        X, T, sw, x_unchecked = _training_data(net, X, T, sample_weight, loss,
                                               defer_x=True)
        if x_unchecked and not self._epochs_in_c(net, None):
            _validate.require_finite("X", X)
            x_unchecked = False
        with net._guard.writing("partial_fit"):
            return self._run(net, X, T, sw, None, loss, 1, x_unchecked)

    def _epochs_in_c(self, net, val):
        """Whether a fit runs its epochs in C (run_chunks): nothing needs
        Python between epochs (no validation data, callbacks, progress bar,
        or a schedule that is not a pure function of the epoch)."""
        schedule = self.optimizer.schedule
        return (CHUNKED and net.backend == "c" and val is None
                and not self.callbacks and not self.verbose
                and (schedule is None or type(schedule) in _PURE_SCHEDULES))

    def _run(self, net, X, T, sw, val, loss, epochs, x_unchecked=False):
        """Up to `epochs` epochs; the stopping rules between them.  The
        caller holds net's guard; snapshots are served between epochs.
        x_unchecked: X (a plain array) has not been checked finite, and the
        epochs in C check it as they first read it (only when they run)."""
        _validate.parameters(net.params, net.weights, net.biases)
        run = _Run(self, net, X, T, sw, val, loss, epochs, x_unchecked)
        stall = _StallCheck(net, X, T, sw, loss)
        stopped = "max_epochs"
        with _Interrupts() as interrupts:
            if run.chunked:
                return run.finish(run.run_chunks(epochs, interrupts, stall))
            for _ in range(epochs):
                if run.past_deadline():
                    stopped = "max_seconds"
                    break
                stall.before()
                reason = run.epoch(interrupts)
                if reason == "diverged":
                    stopped = reason
                    break
                stall.after(reason, run.history)
                net._guard.serve()
                stopped = run.after_epoch(reason, interrupts)
                if stopped is not None:
                    break
            else:
                stopped = "max_epochs"
        return run.finish(stopped)


class _Run:
    """One fit's bookkeeping: the History, the best parameters, the patience
    count, the deadline and the progress bar; Trainer._run drives it."""

    def __init__(self, trainer, net, X, T, sw, val, loss, epochs,
                 x_unchecked=False):
        self.trainer, self.net, self.val, self.loss = trainer, net, val, loss
        self.n = len(X)
        self.history = History()
        self.metric, self.threshold = classification_metric(T)
        if self.metric is not None:
            self.history.metrics["accuracy"] = []
            if val is not None:
                self.history.metrics["val_accuracy"] = []
        self.state = trainer.optimizer_state(net)
        self.shuffled = trainer.shuffle and not trainer._orders_fixed(self.n)
        start = time.perf_counter()
        self.deadline = (None if trainer.max_seconds is None
                         else start + trainer.max_seconds)
        # The best epoch's parameters are kept when there is validation data
        # or a patience to stop on (restore_best puts them back at the end).
        self.track_best = trainer.restore_best and (
            val is not None or trainer.patience is not None)
        self.best, self.best_params, self.wait = math.inf, None, 0
        self.bar = ProgressBar(epochs, self.n) if trainer.verbose else None
        backend = _backend.get(net.backend)
        self.shuffler = backend.shuffle
        self.chunked = trainer._epochs_in_c(net, val)
        # Only the epochs in C can take over X's finiteness check.
        assert self.chunked or not x_unchecked
        self.x_unchecked = x_unchecked
        if self.chunked:
            self._setup_chunks(X, T, sw, epochs)
        else:
            self.runner = backend.epoch(
                net, X, T, sw, loss, self.metric, self.threshold,
                self.batch, trainer.train_biases, self.state)

    def past_deadline(self):
        return self.deadline is not None and time.perf_counter() >= self.deadline

    # ---- one epoch -------------------------------------------------------

    def _rate(self):
        """This epoch's learning rate from the schedule (None: no lr),
        checked before any parameter changes."""
        schedule = self.trainer.optimizer.schedule
        if schedule is None:
            return None
        return optim.checked_rate(schedule, self.trainer.epochs_done,
                                  self.trainer.samples_seen)

    def _progress(self, interrupts, reason, bar=None):
        """The callback C calls between batches (or between pieces of one
        batch, before its step): the parameters are whole there, so
        snapshots are served; Ctrl-C and max_seconds are noticed (their
        reason appended to `reason`, which stops the epoch)."""
        net = self.net

        def progress(done):
            net._guard.serve()
            if interrupts.flag:
                reason.append("interrupted")
            elif self.past_deadline():
                reason.append("max_seconds")
            if bar is not None:
                bar.update_samples(done)
            return bool(reason)
        return progress

    def epoch(self, interrupts):
        """Run one epoch and record it; returns the reason it stopped early
        ("interrupted", "max_seconds", "diverged") or None."""
        trainer, net, history = self.trainer, self.net, self.history
        lr = self._rate()
        spec = trainer.optimizer.spec(lr)
        if self.shuffled:
            _, order = self.shuffler(trainer._draw_seed(), self.n)
        else:
            order = np.arange(self.n, dtype=np.int64)
        reason = []
        progress = self._progress(interrupts, reason, self.bar)

        saved = (net.params.copy(), self.state.copy(), trainer._step)
        t0 = time.perf_counter()
        try:
            done, loss_sum, wsum, correct, step = self.runner(
                spec, trainer._step, order, progress)
        except KeyboardInterrupt:
            # A SIGINT handler other than ours raised between batches: the
            # parameters are whole, but put the epoch's start back, since we
            # cannot tell how far it got.
            self._undo(saved)
            done, loss_sum, wsum, correct, step = 0, math.nan, 1.0, 0.0, saved[2]
            reason.append("interrupted")
        self.seconds = time.perf_counter() - t0
        epoch_loss = loss_sum / wsum if wsum > 0 else math.nan
        history.loss.append(epoch_loss)
        history.lr.append(lr)
        history.seconds.append(self.seconds)
        if self.metric is not None:
            history.metrics["accuracy"].append(
                correct / wsum if wsum > 0 else math.nan)
        trainer._step = step
        trainer.samples_seen += done
        if not math.isfinite(epoch_loss) and not reason or \
                not np.isfinite(net.params).all():
            self._diverged(saved)
            return "diverged"
        trainer.epochs_done += 1
        self.epoch_loss = epoch_loss
        return reason[0] if reason else None

    def _undo(self, saved):
        self.net.params[...], self.state[...], self.trainer._step = saved

    def _diverged(self, saved):
        """The epoch is undone, its loss kept as seen."""
        self._undo(saved)
        if self.val is not None:
            self.history.val_loss.append(math.nan)
            if self.metric is not None:
                self.history.metrics["val_accuracy"].append(math.nan)

    # ---- between epochs --------------------------------------------------

    def _validate(self):
        """The monitored loss: validation loss (recorded) if there is
        validation data, else the epoch's training loss."""
        if self.val is None:
            return self.epoch_loss
        Xv, Tv, swv = self.val
        loss_sum, wsum, correct = _backend.get(self.net.backend).evaluate(
            self.net, Xv, Tv, swv, self.loss, self.metric, self.threshold)
        self.history.val_loss.append(loss_sum / wsum)
        if self.metric is not None:
            self.history.metrics["val_accuracy"].append(correct / wsum)
        return loss_sum / wsum

    def _watch(self, monitored):
        """Best-so-far and the patience count."""
        if not self.track_best and self.trainer.patience is None:
            return
        if monitored < self.best - self.trainer.min_delta:
            self.best, self.wait = monitored, 0
            if self.track_best:
                self.best_params = self.net.params.copy()
        else:
            self.wait += 1

    def after_epoch(self, reason, interrupts):
        """Validation, schedule, callbacks; the stop reason or None."""
        trainer = self.trainer
        monitored = self._validate()
        if self.bar is not None:
            self.bar.end_epoch(self.history,
                               self.n / self.seconds if self.seconds else 0)
        schedule = trainer.optimizer.schedule
        if schedule is not None:
            schedule.observe(monitored)
        self._watch(monitored)
        # Every callback runs after every epoch that was kept, also the one
        # that ends training; a true return stops.
        callback_stop = any([bool(cb(self.net, self.history))
                             for cb in trainer.callbacks])
        if reason:
            return reason
        if trainer.target_loss is not None and monitored <= trainer.target_loss:
            return "target_loss"
        if trainer.patience is not None and self.wait >= trainer.patience:
            return "no_improvement"
        if callback_stop:
            return "callback"
        if interrupts.flag:
            return "interrupted"
        return None

    # ---- epochs in C -----------------------------------------------------

    def _setup_chunks(self, X, T, sw, epochs):
        trainer, net = self.trainer, self.net
        dt = net.dtype
        slots = self.state.size // net.n_params
        self.X, self.T = X, T
        self.sw = sw if sw is not None else np.empty(0, dtype=dt)
        self.order = np.empty(self.n, dtype=np.int64)
        self.backup = np.empty((1 + slots) * net.n_params, dtype=dt)
        self.best_buf = (np.empty(net.n_params, dtype=dt) if self.track_best
                         else np.empty(0, dtype=dt))
        self.work = np.empty(net.core.epoch_workspace_size(self.batch),
                             dtype=dt)
        self.record_buf = _records.take(4 * max(1, min(epochs, EPOCH_CHUNK)))

    @property
    def batch(self):
        return min(self.trainer.batch_size, self.n)

    def _chunk_rates(self, k):
        """Up to k learning rates for the next epochs, assuming each epoch
        applies all n samples (a chunk ends at any epoch that does not); an
        empty array when there is no schedule.  Stops before a rate the
        schedule refuses (the per-epoch path then raises on it)."""
        trainer = self.trainer
        schedule = trainer.optimizer.schedule
        if schedule is None:
            return np.empty(0), k
        if type(schedule) is optim.Constant:
            rate = optim.checked_rate(schedule, trainer.epochs_done,
                                      trainer.samples_seen)
            rates = np.empty(k)     # (np.full costs several times more)
            rates.fill(rate)
            return rates, k
        rates = []
        for i in range(k):
            try:
                rates.append(optim.checked_rate(
                    schedule, trainer.epochs_done + i,
                    trainer.samples_seen + i * self.n))
            except ValueError:
                break
        return np.array(rates), len(rates)

    def run_chunks(self, epochs, interrupts, stall):
        """All epochs on the epochs-in-C path; returns the stop reason.
        Snapshots are served at every progress call (the parameters are
        whole there) and after each chunk; the stall check looks at each
        chunk as a whole (no weight changed in any of its epochs)."""
        trainer, net, history = self.trainer, self.net, self.history
        core = net.core
        reason = []
        progress = self._progress(interrupts, reason)

        remaining = epochs
        while remaining > 0:
            if self.past_deadline():
                if self.x_unchecked:    # stopped before any epoch ran
                    _validate.require_finite("X", self.X)
                return "max_seconds"
            lrs, k = self._chunk_rates(min(remaining, EPOCH_CHUNK))
            if k == 0:
                self._rate()  # raises the schedule's ValueError
                raise RuntimeError(f"learning-rate schedule "
                                   f"{trainer.optimizer.schedule!r} refused "
                                   "a rate, then accepted it")
            spec = trainer.optimizer.spec(float(lrs[0]) if lrs.size else None)
            # A constant rate is spec's; no per-epoch rates needed in C.
            c_lrs = (lrs if lrs.size and type(trainer.optimizer.schedule)
                     is not optim.Constant else np.empty(0))
            if self.shuffled:
                rng_before = trainer._rng.bit_generator.state
                seeds = trainer._draw_seeds(k)
            else:
                seeds = np.empty(0, dtype=np.uint64)
            record = self.record_buf[:4 * k].reshape(4, k)
            stall.before()
            t0 = time.perf_counter()
            (recorded, stop, step, self.best, self.wait,
             improved, last_step0, exc) = core.train_epochs(
                spec, trainer._step, net.params, self.state, self.X, self.T,
                self.sw, self.batch, self.loss, trainer.train_biases,
                self.metric, self.threshold, self.work, self.order,
                self.backup, self.best_buf, record, c_lrs, seeds,
                trainer.target_loss,
                self.track_best or trainer.patience is not None,
                trainer.patience or 0, trainer.min_delta, self.best,
                self.wait, progress, check_x=self.x_unchecked)
            seconds = (time.perf_counter() - t0) / max(recorded, 1)
            if self.shuffled and recorded < k:
                # The stream as if only the epochs run had drawn their seeds.
                trainer._rng.bit_generator.state = rng_before
                trainer._draw_seeds(recorded)
            if improved:
                self.best_params = self.best_buf.copy()
            trainer._step = step
            if stop == "bad_input":
                # C found a value of X that is not finite and undid the
                # fit's first epoch: the network, the optimizer and the
                # stream are as before the fit, and the error is the one
                # an up-front check gives.
                _validate.require_finite("X", self.X)
                raise RuntimeError("the training stopped on a value of X "
                                   "that is not finite, but a second look "
                                   "found none (was X changed meanwhile?)")
            self.x_unchecked = False
            rec = record[:, :recorded]
            if exc is not None:
                # Raised inside an epoch, C stopped it ("asked_inside", or
                # "diverged" when it also undid it); between epochs
                # ("asked") it propagates, as from the per-epoch loop.
                if not isinstance(exc, KeyboardInterrupt) or \
                        stop not in ("asked_inside", "diverged"):
                    self._record_chunk(rec, lrs, seconds, stop)
                    raise exc
                # As the per-epoch loop: the interrupted epoch is undone and
                # recorded with a NaN loss.
                np_ = net.n_params
                net.params[...] = self.backup[:np_]
                self.state[...] = self.backup[np_:]
                trainer._step = last_step0
                rec[:, -1] = (math.nan, 1.0, 0.0, 0.0)
                self._record_chunk(rec, lrs, seconds, "interrupted")
                self._watch(math.nan)
                return "interrupted"
            self._record_chunk(rec, lrs, seconds, stop)
            net._guard.serve()
            if stop in ("max_epochs", "target_loss", "no_improvement"):
                stall.after(None, history, history.epochs - recorded + 1)
            if stop == "max_epochs":
                remaining -= recorded
                if interrupts.flag:
                    return "interrupted"
                continue
            if stop == "asked_inside":
                self._watch(self.epoch_loss)
                return reason[0]
            if stop == "asked":
                return reason[0]
            return stop
        return "max_epochs"

    def _record_chunk(self, rec, lrs, seconds, stop):
        """History and counters for a chunk's recorded epochs (the last one
        diverged and undone when stop == "diverged"); rec: (4, epochs),
        rows loss, weight sum, accuracy, samples applied (C divided the sums
        as the per-epoch loop does, NaN where the weight sum is not > 0)."""
        trainer, history = self.trainer, self.history
        count = rec.shape[1]
        # A few epochs: into the History's lists, cheaper than numpy's
        # per-call overhead; many: as arrays, which History turns into
        # lists when they are first read.
        if count <= 16:
            losses, _, accuracies, applied = rec.tolist()
            history._flush()        # then its lists directly
            history._loss.extend(losses)
            if lrs.size:
                history._lr.extend(lrs[:count].tolist())
            else:
                history._lr.extend([None] * count)
            history._seconds.extend([seconds] * count)
            if self.metric is not None:
                history._metrics["accuracy"].extend(accuracies)
            last = losses[-1] if count else None
            applied = sum(applied)
        else:
            loss_arr = rec[0].copy()
            history._add_chunk(loss_arr, lrs[:count].copy() if lrs.size
                               else None, seconds,
                               rec[2].copy() if self.metric is not None
                               else None)
            last = float(loss_arr[-1])
            applied = rec[3].sum()
        trainer.samples_seen += int(applied)
        trainer.epochs_done += count - (stop == "diverged")
        if count:
            self.epoch_loss = last

    def finish(self, stopped):
        if self.chunked:
            _records.give(self.record_buf)
        if self.bar is not None:
            self.bar.close(stopped)
        if self.best_params is not None:
            self.net.params[...] = self.best_params
        self.history.stopped = stopped
        return self.history


class _RecordBuffers:
    """The per-epoch record buffers of the epochs in C, kept for the
    thread's next fit.  A fresh buffer for a long fit's record (32 bytes per
    epoch) is new memory from the system, and the C loop's first write to
    each 4 KiB of it is a page fault: for a tiny net, more time than its
    epochs (10,000 epochs of the worked example: 0.26 ms of 1.3)."""

    # The largest buffer kept: 4 * EPOCH_CHUNK float64 values, 2 MiB.
    KEEP = 4 * EPOCH_CHUNK

    def __init__(self) -> None:
        self._local = threading.local()

    def take(self, size: int) -> np.ndarray:
        """A flat float64 array of at least size values, no longer held
        here."""
        kept = getattr(self._local, "buffer", None)
        if kept is not None and len(kept) >= size:
            self._local.buffer = None
            return kept
        return np.empty(size)

    def give(self, buffer: np.ndarray) -> None:
        """Keeps buffer (which nothing else refers to any more) for the
        next take in this thread, if it is the larger."""
        kept = getattr(self._local, "buffer", None)
        if len(buffer) <= self.KEEP and (kept is None or
                                         len(kept) < len(buffer)):
            self._local.buffer = buffer


_records = _RecordBuffers()


class _StallCheck:
    """Notices an epoch that left every weight unchanged although their
    gradient is not zero: each update was below the dtype's precision (a
    learning rate that underflowed, e.g. 1e-50 in float32, or one so small
    that w - lr*g rounds back to w).  Biases are not looked at: starting at
    zero, they can creep by tiny steps while the weights stay frozen.
    Reported once per fit, in History.warnings and as a RuntimeWarning."""

    # Samples the gradient is checked on (only after a stalled epoch).
    SAMPLES = 1024

    def __init__(self, net, X, T, sw, loss):
        self.net, self.X, self.T, self.sw, self.loss = net, X, T, sw, loss
        self.params, self.reported = None, False

    def before(self):
        """The parameters before an epoch or chunk (one flat copy)."""
        if not self.reported:
            self.params = self.net.params.copy()

    def after(self, reason, history, epoch=None):
        """After an epoch that ran to its end (reason None); or after a
        chunk of epochs run in C ending with epoch `epoch` + ... (then no
        weight changed in any of them, so in epoch `epoch`, 1-based)."""
        if self.reported or reason is not None or \
                not self.net.core.same_weights(self.params, self.net.params):
            return
        m = min(len(self.X), self.SAMPLES)
        grad = self.net.gradients(
            self.X[:m], self.T[:m], loss=self.loss,
            sample_weight=None if self.sw is None else self.sw[:m])
        largest = max(float(np.max(np.abs(g), initial=0.0))
                      for g in grad.weights)
        if not largest > 0:
            return      # a true stationary point: nothing to report
        self.reported = True
        epoch = history.epochs if epoch is None else epoch
        lr = history.lr[epoch - 1]
        message = (
            f"epoch {epoch}: no weight changed although their "
            f"gradient is not zero (largest |gradient| {largest:.3g}"
            f"{'' if lr is None else f', lr {lr:.3g}'}): every update was "
            f"below {self.net.dtype.name} precision (the learning rate is "
            "too small or underflowed; use a larger one, or float64)")
        history.warnings.append(message)
        _warn.warn(message)


def _training_data(net, X, T, sample_weight, loss, defer_x=False):
    """Validated training (X, T, sample weights) for net and loss, and
    whether X's finiteness is still to be checked: with defer_x, an X that
    is already a plain array of net's dtype is not read here (the epochs in
    C check it as they read it, which saves a pass over a large X); any
    other X is converted and checked."""
    unchecked = defer_x and _validate.plain(X, net.dtype)
    X, T, _ = _validate.samples(X, T, net.n_inputs, net.n_outputs, net.dtype,
                                allow_empty=False, finite_x=not unchecked)
    _validate.targets_for_loss(T, loss)
    sw = _validate.sample_weight(sample_weight, X.shape[0], net.dtype)
    return X, T, sw, unchecked


def _split_validation(net, X, T, sw, validation_data, validation_split, loss):
    """(X, T, sw, val) with val = (Xv, Tv, swv) or None."""
    split = _validate.real("validation_split", validation_split, minimum=0.0,
                           maximum=1.0, max_inclusive=False)
    if validation_data is not None and split > 0:
        raise ValueError("give validation_data or validation_split, not both")
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or \
                len(validation_data) not in (2, 3):
            raise TypeError("validation_data must be a tuple (X_val, T_val) "
                            "or (X_val, T_val, sample_weight_val); got "
                            f"{type(validation_data).__name__}")
        Xv, Tv, _ = _validate.samples(validation_data[0], validation_data[1],
                                      net.n_inputs, net.n_outputs, net.dtype,
                                      allow_empty=False)
        _validate.targets_for_loss(Tv, loss, "validation T")
        swv = None
        if len(validation_data) == 3:
            swv = _validate.sample_weight(validation_data[2], len(Xv),
                                          net.dtype)
        return X, T, sw, (Xv, Tv, swv)
    if split > 0:
        n_train = int(len(X) * (1.0 - split))
        if n_train < 1 or n_train >= len(X):
            raise ValueError(f"validation_split={split} of {len(X)} samples "
                             "leaves no training or no validation samples")
        val = (X[n_train:], T[n_train:],
               None if sw is None else sw[n_train:])
        return X[:n_train], T[:n_train], \
            None if sw is None else sw[:n_train], val
    return X, T, sw, None
