"""The Network class: a multi-layer perceptron over one flat parameter buffer.

Imports: network -> train -> (_backend, optim, _validate, _registry); pybp.io
imports network, never the reverse at import time (the save/load methods
below import pybp.io when called).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from pybp import _backend, _core, _guard, _registry, _validate, _warn
from pybp.train import Trainer, classification_metric

if TYPE_CHECKING:
    from pybp._core import Core
    from pybp._typing import (JSON, Callback, DTypeLike, Evaluation,
                              FloatArray, IntArray, ReadOnly, Seed, Target)
    from pybp.optim import Optimizer
    from pybp.train import History


class _ViewList(list["FloatArray"]):
    """The per-layer views of a network's buffer.

    Item assignment copies into the view (net.weights[0] = W works and keeps
    the buffer shared); the list itself cannot grow or shrink.  A network's
    own lists carry its Guard: assignment is a write (refused while another
    thread trains the network).
    """

    guard: _guard.Guard | None = None

    def __setitem__(self, index: Any, value: Any) -> None:
        if isinstance(index, slice):
            raise TypeError("assign one layer at a time, e.g. "
                            "net.weights[0] = W")
        view = list.__getitem__(self, index)
        value = _validate.array("value", value, view.dtype)
        if value.shape != view.shape:
            raise ValueError(f"layer {index} has shape {view.shape}; got an "
                             f"array of shape {value.shape}")
        if self.guard is None:
            view[...] = value
            return
        with self.guard.writing("assigning a layer"):
            view[...] = value

    def _fixed(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("the list of layers has a fixed length")

    append = extend = insert = pop = remove = clear = __delitem__ = _fixed
    __iadd__ = __imul__ = sort = reverse = _fixed


class Gradients:
    """What Network.gradients returns.

    weights, biases: gradients of the mean loss, shaped like the parameters
    (views into `params`, the flat gradient); deltas: per layer, each
    sample's own sensitivity de/d(net input), shape (n_samples, n_out_l);
    loss: the mean loss.
    """

    __slots__ = ("params", "weights", "biases", "deltas", "loss")

    params: FloatArray
    weights: list[FloatArray]
    biases: list[FloatArray]
    deltas: list[FloatArray]
    loss: float

    def __init__(self, params: FloatArray, weights: list[FloatArray],
                 biases: list[FloatArray], deltas: list[FloatArray],
                 loss: float) -> None:
        self.params = params
        self.weights = weights
        self.biases = biases
        self.deltas = deltas
        self.loss = loss

    def __repr__(self) -> str:
        return (f"Gradients(loss={self.loss!r}, "
                f"layers={len(self.weights)}, n_params={self.params.size})")


class Network:
    """A fully connected feed-forward network trained by backpropagation.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first, e.g. ``[10, 4, 6, 8, 4]``.
    activation : str or list of str
        Hidden-layer activation, or one name per weight layer (then
        ``output_activation`` must stay None).  Names: sigmoid, tanh, relu,
        leaky_relu, identity (alias linear), softmax (output only).
    output_activation : str or None
        The output layer's activation; None means the same as ``activation``.
    bias : bool
        Whether every layer has a bias vector.
    init : {"default", "he", "xavier", "uniform"}
        Weight initialisation: He (normal, sd sqrt(2/n_in)) for relu-like
        layers and Glorot/Xavier (uniform) otherwise; "uniform" draws from
        [-0.1, 0.1].  Biases start at zero.  Weights are never all zero.
    seed : int, numpy Generator or None
        Makes the initial weights reproducible.
    dtype : {"float64", "float32"}
    backend : {"c", "python"}
        "c" runs the compiled kernels; "python" the same algorithms in plain
        Python (the baseline to compare against; same numbers in float64).
    """

    def __init__(self, sizes: Sequence[int],
                 activation: str | Sequence[str] = "sigmoid",
                 output_activation: str | None = None, *,
                 bias: bool = True, init: str = "default", seed: Seed = None,
                 dtype: DTypeLike = "float64", backend: str = "c") -> None:
        init = _validate.choice("init", init, _validate.INITS)
        seed = _validate.seed(seed)
        self._setup(sizes, activation, output_activation, bias, dtype, backend)
        self._init_weights(init, np.random.default_rng(seed))

    _core: Core | None

    def _setup(self, sizes: Sequence[int], activation: str | Sequence[str],
               output_activation: str | None, bias: bool, dtype: DTypeLike,
               backend: str) -> None:
        """Validate the architecture and allocate zeroed parameters."""
        self._sizes = _validate.sizes(sizes)
        self._activations = _validate.activations(
            activation, output_activation, len(self._sizes) - 1)
        self._bias = _validate.flag("bias", bias)
        self._dtype = np.dtype(_validate.choice("dtype", _dtype_name(dtype),
                                                _validate.DTYPES))
        self.backend = backend
        self._layout, n_params = _registry.layout(self._sizes, self._bias)
        self._params = np.zeros(n_params, dtype=self._dtype)
        self._own_views()
        self._core = None

    def _own_views(self) -> None:
        """A new Guard, and the guarded per-layer views of self._params."""
        self._guard = _guard.Guard(self)
        self._weights, self._biases = self._views(self._params)
        self._weights.guard = self._biases.guard = self._guard

    @classmethod
    def _empty(cls, sizes: Sequence[int], activations: Sequence[str],
               bias: bool, dtype: DTypeLike, backend: str = "c") -> Network:
        """A network with all parameters zero and no random draws, for
        loaders that fill in the parameters themselves."""
        net = cls.__new__(cls)
        net._setup(sizes, list(activations), None, bias, dtype, backend)
        return net

    @classmethod
    def from_params(cls, sizes: Sequence[int],
                    activations: str | Sequence[str], params: ArrayLike, *,
                    bias: bool = True, backend: str = "c") -> Network:
        """A network with the given flat parameters (layout: see params),
        no random draws.  activations: a name or one name per weight layer
        (as Network's ``activation``).  The dtype is params' own when it is
        float32, else float64; params must be finite and of length
        n_params."""
        dtype = "float32" if getattr(params, "dtype", None) == np.float32 \
            else "float64"
        net = cls.__new__(cls)
        net._setup(sizes, activations, None, bias, dtype, backend)
        net.params = params
        return net

    # ---- construction helpers ------------------------------------------

    def _views(self, flat: FloatArray
               ) -> tuple[_ViewList, _ViewList]:
        """Per-layer weight and bias views into a buffer of this layout."""
        weights, biases = _backend.layer_views(flat, self._sizes, self._bias)
        views = _ViewList(), _ViewList()
        for target, source in zip(views, (weights, biases)):
            for view in source:
                list.append(target, view)
        return views

    def _init_weights(self, init: str, rng: np.random.Generator) -> None:
        for W, act in zip(self._weights, self._activations):
            n_out, n_in = W.shape
            scheme = init
            if scheme == "default":
                scheme = "he" if act in ("relu", "leaky_relu") else "xavier"
            if scheme == "he":
                W[...] = rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)
            elif scheme == "xavier":
                limit = np.sqrt(6.0 / (n_in + n_out))
                W[...] = rng.uniform(-limit, limit, (n_out, n_in))
            else:
                W[...] = rng.uniform(-0.1, 0.1, (n_out, n_in))

    @property
    def core(self) -> Core:
        """The compiled kernels' view of this architecture (built lazily)."""
        if self._core is None:
            self._core = _core.Core(self._sizes, self._activations, self._bias)
        return self._core

    # ---- attributes ----------------------------------------------------

    sizes: ReadOnly[tuple[int, ...]] = property(
        lambda self: self._sizes, doc="Layer widths, input first.")
    activations: ReadOnly[tuple[str, ...]] = property(
        lambda self: self._activations,
        doc="One activation name per weight layer.")
    output_activation: ReadOnly[str] = property(
        lambda self: self._activations[-1],
        doc="The output layer's activation.")
    bias: ReadOnly[bool] = property(
        lambda self: self._bias, doc="Whether layers have biases.")
    dtype: ReadOnly[np.dtype[np.floating[Any]]] = property(
        lambda self: self._dtype,
        doc="The parameters' dtype (float64 or float32).")
    n_params: ReadOnly[int] = property(
        lambda self: self._params.size, doc="Number of weights and biases.")
    weights: ReadOnly[_ViewList] = property(
        lambda self: self._weights,
        doc="Per-layer weight views, shape (n_out, n_in); "
            "weights[l][j, i] is w_ij.")
    biases: ReadOnly[_ViewList] = property(
        lambda self: self._biases,
        doc="Per-layer bias views (empty without biases).")
    n_inputs: ReadOnly[int] = property(
        lambda self: self._sizes[0], doc="Width of the input layer.")
    n_outputs: ReadOnly[int] = property(
        lambda self: self._sizes[-1], doc="Width of the output layer.")

    @property
    def params(self) -> FloatArray:
        """All weights and biases in one flat buffer (layer by layer, each
        layer's weights row-major then its biases); writable."""
        return self._params

    @params.setter
    def params(self, value: ArrayLike) -> None:
        value = _validate.array("params", value, self._dtype)
        if value.shape != self._params.shape:
            raise ValueError(f"params must have shape {self._params.shape}; "
                             f"got {value.shape}")
        with self._guard.writing("assigning params"):
            self._params[...] = value

    @property
    def backend(self) -> str:
        """The backend that runs this network: "c" or "python"."""
        return self._backend

    @backend.setter
    def backend(self, value: str) -> None:
        self._backend = _validate.choice("backend", value, _validate.BACKENDS)
        self._runner = _backend.get(self._backend)

    def _check_params(self) -> None:
        """ValueError if an element assignment made a parameter NaN/inf."""
        _validate.parameters(self._params, self._weights, self._biases)

    def __repr__(self) -> str:
        acts = self._activations
        if len(set(acts[:-1])) <= 1:
            act = f"activation={acts[0]!r}, output_activation={acts[-1]!r}"
        else:
            act = f"activation={list(acts)!r}"
        return (f"Network({list(self._sizes)!r}, {act}, bias={self._bias}, "
                f"dtype={self._dtype.name!r}, backend={self._backend!r})")

    def copy(self, *, backend: str | None = None) -> Network:
        """An independent copy (optionally on another backend).  It copies
        the buffer as it is: from another thread while this network trains,
        use snapshot() instead."""
        other = object.__new__(Network)
        other.__dict__.update(self.__dict__)
        other._params = self._params.copy()
        other._own_views()
        other._core = None
        other._runner = self._runner
        if backend is not None:
            other.backend = backend
        return other

    def snapshot(self, timeout: float | None = None) -> Network:
        """A consistent copy, safe from any thread: for serving predictions
        while another thread trains this network (predict on the snapshot,
        take a new one now and then).  Not training: an immediate copy().
        Training in another thread: the copy is made by the training thread
        where the parameters are whole (between batches, about every
        millisecond; at epoch ends; when its fit returns); TimeoutError if
        that takes longer than timeout seconds (None: no limit)."""
        return self._guard.snapshot(timeout)

    # ---- inference -----------------------------------------------------

    def predict(self, X: ArrayLike) -> FloatArray:
        """The network's outputs, shape (n_samples, n_outputs); a 1-D X is
        one sample and gives a 1-D result.  ValueError if a parameter is
        NaN or infinite (predict, evaluate, gradients and fit all check)."""
        if type(X) is np.ndarray and self._backend == "c":
            # Fast path: an aligned, C-contiguous array of the network's
            # dtype and width goes straight to C, which checks that X and
            # the parameters are finite (one pass each); a small batch
            # needs no workspace allocation.  Anything else, or a
            # non-finite value, takes the general path below, which says
            # what is wrong (or warns).
            out = self.core.predict_ready(self._params, X, np.empty,
                                          self._dtype)
            if out is not None:
                return out
        X, single = _validate.inputs(X, self.n_inputs, self._dtype)
        self._check_params()
        with _warn.numpy_quiet(self._backend):   # non_finite warns instead
            out = self._runner.forward(self, X)
        _warn.non_finite("predict", out, self._dtype)
        return out[0] if single else out

    __call__ = predict

    def classify(self, X: ArrayLike) -> IntArray | int:
        """The predicted class per sample (an int for a 1-D X).

        Several outputs: the index of the largest.  One output: 1 where it
        is at or above the threshold History's accuracy uses (0.5 for a
        sigmoid output, 0 for tanh, identity and the others), else 0.
        """
        out = self.predict(X)
        if self.n_outputs == 1:
            threshold = 0.5 if self.output_activation == "sigmoid" else 0.0
            labels = (out[..., 0] >= threshold).astype(np.int64)
            return int(labels) if out.ndim == 1 else labels
        if out.ndim == 1:
            return int(np.argmax(out))
        return np.argmax(out, axis=1)

    # ---- loss and gradients --------------------------------------------

    def loss(self, X: ArrayLike, T: ArrayLike, loss: str = "half_sse",
             sample_weight: ArrayLike | None = None) -> float:
        """Per-sample error summed over outputs, averaged over samples
        (weighted by sample_weight when given)."""
        return self.evaluate(X, T, loss=loss, sample_weight=sample_weight)["loss"]

    def evaluate(self, X: ArrayLike, T: ArrayLike, loss: str = "half_sse",
                 sample_weight: ArrayLike | None = None) -> Evaluation:
        """{"loss": mean loss, "accuracy": fraction right or None}.

        Accuracy is reported for classification targets: one-hot rows
        (argmax of the outputs), or targets all 0/1 (each output thresholded
        at 0.5) or all -1/1 (at 0).  Runs in chunks: memory stays small for
        any number of samples.
        """
        X, T, sw, loss = self._data(X, T, sample_weight, loss, allow_empty=False)
        metric, threshold = classification_metric(T)
        with _warn.numpy_quiet(self._backend):   # non_finite warns instead
            loss_sum, wsum, correct = self._runner.evaluate(
                self, X, T, sw, loss, metric, threshold)
        _warn.non_finite("the loss", np.asarray(loss_sum / wsum),
                         self._dtype)
        return {"loss": float(loss_sum / wsum),
                "accuracy": float(correct / wsum) if metric else None}

    def _data(self, X: ArrayLike, T: ArrayLike,
              sample_weight: ArrayLike | None, loss: str, allow_empty: bool
              ) -> tuple[FloatArray, FloatArray, FloatArray | None, str]:
        """Validated (X, T, sample weights, loss name); parameters checked."""
        loss = _validate.loss_for(loss, self.output_activation)
        X, T, _ = _validate.samples(X, T, self.n_inputs, self.n_outputs,
                                    self._dtype, allow_empty=allow_empty)
        _validate.targets_for_loss(T, loss)
        sw = _validate.sample_weight(sample_weight, X.shape[0], self._dtype)
        self._check_params()
        return X, T, sw, loss

    def gradients(self, X: ArrayLike, T: ArrayLike, loss: str = "half_sse",
                  sample_weight: ArrayLike | None = None) -> Gradients:
        """Backpropagated gradients of loss(X, T) (see Gradients)."""
        X, T, sw, loss = self._data(X, T, sample_weight, loss, allow_empty=False)
        loss_sum, wsum, grad, deltas = self._runner.batch_gradient(
            self, X, T, sw, loss)
        mean_loss = float(loss_sum / wsum)
        weights, biases = self._views(grad)
        return Gradients(grad, weights, biases, deltas, mean_loss)

    # ---- training ------------------------------------------------------

    def fit(self, X: ArrayLike, T: ArrayLike, *, loss: str = "half_sse",
            optimizer: str | Optimizer = "sgd", epochs: int = 1,
            batch_size: int = 1, shuffle: bool = True, seed: Seed = None,
            train_biases: bool = True,
            validation_data: tuple[ArrayLike, ...] | None = None,
            validation_split: float = 0.0, target_loss: float | None = None,
            patience: int | None = None, min_delta: float = 0.0,
            max_seconds: float | None = None, restore_best: bool = True,
            callbacks: Callback | Sequence[Callback] | None = None,
            verbose: bool = False,
            sample_weight: ArrayLike | None = None) -> History:
        """Train by backpropagation; returns a History.

        loss: a loss name.  optimizer: a name or a pybp.optim optimizer.
        batch_size: 1 is stochastic (per-sample) backpropagation, len(X) full
        batch.  shuffle/seed: the sample order, drawn anew each epoch; the
        same seed gives the same order on both backends.  train_biases:
        False keeps the biases fixed.  validation_data=(X, T[, weights]) or
        validation_split (the last fraction of the samples, taken before
        shuffling) give History.val_loss.  Training stops after `epochs`, or
        when the monitored loss (validation loss if there is validation data,
        else training loss) is <= target_loss, or has not improved by more
        than min_delta for `patience` epochs, or after max_seconds (checked inside
        epochs too), or when a callback cb(net, history), called after every
        epoch, returns true, or on Ctrl-C (the parameters are never left
        half-updated), or when the loss stops being finite (the epoch is
        undone).  restore_best (default True): whenever there is validation
        data, or a patience, the parameters of the epoch with the best
        monitored loss are put back at the end (as Keras'
        restore_best_weights).  verbose shows a progress bar.  sample_weight
        weighs each sample's loss in the averages.  Targets must suit the
        loss (binary_cross_entropy: in [0, 1]; cross_entropy: probability
        rows), and the parameters must be finite (ValueError otherwise).
        """
        trainer = Trainer(loss=loss, optimizer=optimizer,
                          batch_size=batch_size, shuffle=shuffle, seed=seed,
                          train_biases=train_biases, target_loss=target_loss,
                          patience=patience, min_delta=min_delta,
                          max_seconds=max_seconds, restore_best=restore_best,
                          callbacks=callbacks, verbose=verbose)
        trainer._private = True   # its stream is seen by nobody after this
        return trainer.fit(self, X, T, epochs=epochs,
                           validation_data=validation_data,
                           validation_split=validation_split,
                           sample_weight=sample_weight)

    # ---- serialization (pybp.io) ---------------------------------------

    def save(self, path: Target, *,
             metadata: dict[str, JSON] | None = None) -> None:
        """Save to a safetensors file, atomically (see pybp.io.save);
        metadata: a dict of str -> JSON-able values, read back by
        pybp.io.load_metadata."""
        from pybp import io
        io.save(self, path, metadata=metadata)

    def to_dict(self) -> dict[str, JSON]:
        """A JSON-able dict of the architecture and parameters."""
        from pybp import io
        return io.to_dict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, JSON]) -> Network:
        """The network described by a dict from to_dict (validated)."""
        from pybp import io
        return io.from_dict(d)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickle, copy.copy and copy.deepcopy go through the saved bytes.
        from pybp import io
        return io._reduce(self)


def _dtype_name(dtype: DTypeLike) -> Any:
    """'float64'/'float32' from a name, numpy dtype or type; else as given."""
    if isinstance(dtype, str):
        return dtype
    try:
        return np.dtype(dtype).name
    except TypeError:
        return dtype
