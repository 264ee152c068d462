"""Scaling out on Dask and Ray: batch inference, out-of-core training, sweeps.

pybp has no cluster code of its own; these helpers make it a good citizen of
the engines people already run.  Nothing here imports Dask or Ray until a
helper needs it, and a missing engine raises ImportError naming the extra to
install (``pip install "pybp[dask]"``, ``pip install "pybp[ray]"``).

* ``predict(model, X)``: predictions over a Dask DataFrame or Array, one task
  per partition, the model given to each worker once, dtypes and column names
  kept.  ``model`` is a ``pybp.Network`` or any estimator with ``predict``
  (``pybp.sklearn.MLPClassifier`` and friends).
* ``fit_blocks(trainer, net, X, T)``: out-of-core training of a Network,
  block by block through ``Trainer.partial_fit``, the next block loaded on
  the cluster while the current one trains.
* ``tune_report(...)``: a ``cb(net, history)`` callback for ``fit`` that
  reports every epoch's losses to Ray Tune, so ASHA and other schedulers can
  stop bad trials early.
* Thread budget: ``thread_share()``, ``set_thread_budget()`` and the Dask
  worker plugin ``ThreadBudget`` keep many pybp fits sharing a machine from
  oversubscribing its cores.

The recipes, with measured figures, are in docs/scaling.md.
"""
from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import pybp
from pybp.network import Network
from pybp.train import History, Trainer

__all__ = ["predict", "fit_blocks", "tune_report", "thread_share",
           "set_thread_budget", "ThreadBudget", "register_thread_budget",
           "THREADS_ENV"]

# ---- optional engines -----------------------------------------------------

# The pip extra that installs each optional package.
_EXTRA_OF = {"dask": "dask", "distributed": "dask", "dask_ml": "dask",
             "pandas": "dask", "ray": "ray"}


def _require(module):
    """Import `module`, or raise ImportError naming the pybp extra for it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra = _EXTRA_OF.get(top, top)
        raise ImportError(
            f"this pybp.distributed helper needs {module!r}, which could not "
            f"be imported ({exc}); install it with: "
            f"pip install \"pybp[{extra}]\"") from exc


# ---- thread budget --------------------------------------------------------

# The environment variable pybp's thread pool reads (issue 9).
THREADS_ENV = "PYBP_NUM_THREADS"


def _usable_cores():
    """Cores this process may run on (its affinity mask where known)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int; got "
                        f"{type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}")
    return int(value)


def _engine_concurrency():
    """How many tasks may run at once in this process, and on how many
    cores, as the engine running us says; (None, None) outside an engine.

    Dask worker: its thread count shares the process's cores.  Ray task or
    actor: it owns the CPUs it was assigned (Ray sets no affinity, so those
    are the cores it may use).  An engine that is not imported is not
    running us, so nothing is imported here.
    """
    distributed = sys.modules.get("distributed")
    if distributed is not None:
        try:
            return distributed.get_worker().state.nthreads, None
        except ValueError:          # not inside a worker
            pass
    ray = sys.modules.get("ray")
    # (getattr: a folder named "ray" on sys.path, e.g. Ray's own /tmp/ray
    # session folder as the working directory, imports as an empty
    # namespace package.)
    if ray is not None and getattr(ray, "is_initialized", lambda: False)():
        ctx = ray.get_runtime_context()
        if ctx.worker.mode == ray.WORKER_MODE:
            cpus = ctx.get_assigned_resources().get("CPU")
            if cpus:
                return 1, max(1, int(cpus))
    return None, None


def thread_share(concurrent: int | None = None,
                 cores: int | None = None) -> int:
    """The threads one pybp call should use so that `concurrent` calls at
    once fill `cores` and no more: max(1, cores // concurrent).

    Defaults come from the engine running this code: inside a Dask worker,
    concurrent is its thread count and cores the process's usable cores;
    inside a Ray task or actor, cores is its assigned CPUs and concurrent 1;
    elsewhere, 1 call on all usable cores.  A lower limit already in force
    is kept: the ``PYBP_NUM_THREADS`` environment variable and, where pybp
    has a thread pool, its current size (which is what threadpoolctl's
    ``threadpool_limits`` lowers).
    """
    engine_concurrent, engine_cores = _engine_concurrency()
    if concurrent is None:
        concurrent = engine_concurrent or 1
    if cores is None:
        cores = engine_cores or _usable_cores()
    concurrent = _positive_int("concurrent", concurrent)
    cores = _positive_int("cores", cores)
    share = max(1, cores // concurrent)
    caps = [_env_threads()]
    get = getattr(pybp, "get_num_threads", None)
    if get is not None:
        caps.append(get())
    for cap in caps:
        if cap is not None and cap >= 1:
            share = min(share, int(cap))
    return share


def _env_threads():
    """PYBP_NUM_THREADS as a positive int, or None when unset or not one."""
    value = os.environ.get(THREADS_ENV, "").strip()
    try:
        n = int(value)
    except ValueError:
        return None
    return n if n >= 1 else None


def set_thread_budget(n: int | None = None) -> int:
    """Limit pybp to `n` threads per call in this process (default:
    thread_share()); returns n.

    Process-wide: call it once per worker process before the work starts
    (ThreadBudget does that on every Dask worker), not around each task --
    a limit set and restored by concurrent tasks would race.  It calls
    ``pybp.set_num_threads(n)`` where pybp has a thread pool, and sets
    ``PYBP_NUM_THREADS`` so that processes started from this one (and a pool
    that reads the variable per call) inherit the budget.  pybp without a
    thread pool runs each call on one thread already, so there the call
    only records the budget.
    """
    n = thread_share() if n is None else _positive_int("n", n)
    os.environ[THREADS_ENV] = str(n)
    set_num_threads = getattr(pybp, "set_num_threads", None)
    if set_num_threads is not None:
        set_num_threads(n)
    return n


def _worker_plugin_base():
    return _require("distributed.diagnostics.plugin").WorkerPlugin


def ThreadBudget(threads: int | None = None) -> Any:
    """A Dask WorkerPlugin that sets pybp's thread budget on every worker,
    present and future (a restarted worker gets it again): `threads` per
    call, default cores // the worker's thread count (thread_share()).

    Register it with ``client.register_plugin(ThreadBudget())`` or
    ``register_thread_budget(client)``.
    """
    if threads is not None:
        threads = _positive_int("threads", threads)
    return _thread_budget_class()(threads)


_THREAD_BUDGET_CLASS: list[type] = []


def _thread_budget_class():
    """The plugin class, defined on first use so that importing this module
    never imports distributed."""
    base = _worker_plugin_base()
    if _THREAD_BUDGET_CLASS:
        return _THREAD_BUDGET_CLASS[0]

    class _ThreadBudget(base):
        name = "pybp-thread-budget"

        def __init__(self, threads):
            self.threads = threads

        def setup(self, worker):
            n = self.threads
            if n is None:
                n = thread_share(concurrent=worker.state.nthreads)
            set_thread_budget(n)

    _ThreadBudget.__module__ = __name__
    _ThreadBudget.__qualname__ = "_ThreadBudget"
    _THREAD_BUDGET_CLASS.append(_ThreadBudget)
    return _ThreadBudget


def __getattr__(name):
    # Unpickling the plugin on a worker looks the class up by name.
    if name == "_ThreadBudget":
        return _thread_budget_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register_thread_budget(client: Any,
                           threads: int | None = None) -> dict[str, int]:
    """Register ThreadBudget(threads) on `client`'s workers; returns, per
    worker address, the budget each now has."""
    client.register_plugin(ThreadBudget(threads))
    return client.run(_env_threads)


# ---- batch inference ------------------------------------------------------

# Model methods predict() accepts, and whether their output is per class.
_METHODS = {"predict": False, "classify": False, "predict_proba": True,
            "predict_log_proba": True, "decision_function": False,
            "transform": False}


def _predict_part(part, model, method, columns, index_like):
    """One partition's predictions (runs on a worker, without the GIL inside
    pybp's C)."""
    X = part
    if isinstance(model, Network):
        X = np.asarray(part, dtype=model.dtype)
    out = getattr(model, method)(X)
    if index_like is None:          # a Dask Array block
        return np.asarray(out)
    pd = _require("pandas")
    out = np.asarray(out)
    if out.ndim == 1:
        return pd.Series(out, index=part.index, name=columns)
    return pd.DataFrame(out, index=part.index, columns=columns)


def _probe(model, method, meta_input, n_features):
    """The model's output on one row of zeros shaped like the input: its
    dtype and width, without touching the data."""
    if meta_input is not None:      # a pandas frame: keep names and dtypes
        pd = _require("pandas")
        row = pd.DataFrame({c: np.zeros(1, dtype=t)
                            for c, t in meta_input.dtypes.items()})
        row.columns = meta_input.columns
    else:
        dtype = model.dtype if isinstance(model, Network) else np.float64
        row = np.zeros((1, n_features), dtype=dtype)
    if isinstance(model, Network):
        row = np.asarray(row, dtype=model.dtype)
    return np.asarray(getattr(model, method)(row))


def _default_columns(model, method, width):
    classes = getattr(model, "classes_", None)
    if _METHODS[method] and classes is not None and len(classes) == width:
        return list(classes)
    return list(range(width))


def _current_client():
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None


def _ship(model, client, broadcast):
    """The model as one graph dependency: scattered to every worker when a
    distributed Client is in use, else a single delayed key.  Either way
    each task refers to it by key and never carries its bytes."""
    dask = _require("dask")
    if broadcast is not False:
        client = client if client is not None else _current_client()
        if client is not None:
            return client.scatter(model, broadcast=True, hash=False)
        if broadcast:
            raise ValueError("broadcast=True needs a dask.distributed Client "
                             "(pass client= or create one); got none")
    return dask.delayed(model, pure=False)


def predict(model: Any, X: Any, *, method: str = "predict",
            columns: Sequence[str] | None = None, client: Any = None,
            broadcast: bool | None = None) -> Any:
    """Lazy predictions of `model` over the Dask collection `X`, one task
    per partition or row block.

    model : pybp.Network or an estimator with the method (e.g.
        pybp.sklearn.MLPClassifier); it is given to each worker once
        (client.scatter(..., broadcast=True) when a dask.distributed Client
        is in use -- `client`, or the current one -- else one delayed key),
        never pickled into every task.  broadcast=False always uses the
        delayed key (the scheduler then copies it to each worker that needs
        it, once); broadcast=True insists on scattering.
    X : dask.dataframe.DataFrame or 2-D dask.array.Array, one row per sample.
        A Network gets each partition as an array of its dtype; other models
        get the pandas partition itself (so feature names are checked).
    method : "predict", "classify" (Network), "predict_proba",
        "predict_log_proba", "decision_function" or "transform".
    columns : output column names (a DataFrame input); default the model's
        classes_ for per-class methods, else 0, 1, ...; a 1-D output becomes
        a Series named `columns` (default None).

    Returns a Dask DataFrame/Series with X's index (DataFrame input) or a
    Dask Array with X's row chunks; dtypes are the model's own (float32 for
    a float32 Network).  Call .compute() or .persist() on it.
    """
    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}; got "
                         f"{method!r}")
    if not callable(getattr(model, method, None)):
        raise TypeError(f"model must have a {method}() method; got "
                        f"{type(model).__name__}")
    da = _require("dask.array")
    dd = _dask_dataframe_if_loaded()
    if dd is not None and isinstance(X, dd.DataFrame):
        return _predict_frame(model, X, method, columns, client, broadcast)
    if isinstance(X, da.Array):
        if columns is not None:
            raise ValueError("columns applies to a Dask DataFrame input; "
                             "got a Dask Array")
        return _predict_array(model, X, method, client, broadcast)
    raise TypeError("X must be a dask.dataframe.DataFrame or a 2-D "
                    f"dask.array.Array; got {type(X).__name__}")


def _dask_dataframe_if_loaded():
    """dask.dataframe when already imported (a Dask DataFrame cannot exist
    otherwise), else None: array users do not pay for importing pandas."""
    if sys.modules.get("dask.dataframe") is None:
        return None
    return _require("dask.dataframe")


def _predict_frame(model, X, method, columns, client, broadcast):
    pd = _require("pandas")
    out = _probe(model, method, X._meta, X.shape[1])
    if out.ndim == 1:
        if isinstance(columns, (list, tuple)):
            if len(columns) != 1:
                raise ValueError(f"{method}() gives one column; columns "
                                 f"names {len(columns)}")
            columns = columns[0]
        meta = pd.Series(np.empty(0, dtype=out.dtype), name=columns,
                         index=X._meta.index)
    elif out.ndim == 2:
        if columns is None:
            columns = _default_columns(model, method, out.shape[1])
        columns = list(columns)
        if len(columns) != out.shape[1]:
            raise ValueError(f"columns must name the {out.shape[1]} outputs; "
                             f"got {len(columns)} names")
        meta = pd.DataFrame(np.empty((0, out.shape[1]), dtype=out.dtype),
                            columns=columns, index=X._meta.index)
    else:
        raise ValueError(f"{method}() returned a {out.ndim}-D array on one "
                         "row; expected 1-D or 2-D")
    shipped = _ship(model, client, broadcast)
    return X.map_partitions(_predict_part, shipped, method, columns, True,
                            meta=meta)


def _predict_array(model, X, method, client, broadcast):
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (samples, features); got a "
                         f"{X.ndim}-D dask array of shape {X.shape}")
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})          # one block holds whole rows
    out = _probe(model, method, None, X.shape[1])
    shipped = _ship(model, client, broadcast)
    if out.ndim == 1:
        return X.map_blocks(_predict_part, shipped, method, None, None,
                            dtype=out.dtype, drop_axis=1,
                            meta=np.empty((0,), dtype=out.dtype))
    if out.ndim != 2:
        raise ValueError(f"{method}() returned a {out.ndim}-D array on one "
                         "row; expected 1-D or 2-D")
    return X.map_blocks(_predict_part, shipped, method, None, None,
                        dtype=out.dtype, chunks=(X.chunks[0], (out.shape[1],)),
                        meta=np.empty((0, out.shape[1]), dtype=out.dtype))


# ---- out-of-core training -------------------------------------------------

def _blocks(data):
    """The row blocks of a Dask Array or DataFrame, as delayed objects."""
    da = _require("dask.array")
    dd = _dask_dataframe_if_loaded()
    if isinstance(data, da.Array):
        if data.ndim == 2 and len(data.chunks[1]) > 1:
            data = data.rechunk({1: -1})
        return list(data.to_delayed().ravel()), data.chunks[0]
    if dd is not None and isinstance(data, (dd.DataFrame, dd.Series)):
        return list(data.to_delayed()), None
    raise TypeError("X and T must be Dask Arrays or DataFrames; got "
                    f"{type(data).__name__}")


def fit_blocks(trainer: Trainer, net: Network, X: Any, T: Any, *,
               epochs: int = 1, sample_weight: Any = None,
               client: Any = None) -> list[History]:
    """Train `net` out of core: for each epoch, each row block of the Dask
    collections X and T (and sample_weight) in order through
    ``trainer.partial_fit``.  Returns one History per block fitted.

    Only the block being trained and the next one (loaded on the cluster
    meanwhile, when a distributed Client is in use) are in this process's
    memory.  The Trainer carries the optimizer state (momenta, Adam's
    moments, the step count) and its random stream from block to block, so
    the result is exactly that of calling partial_fit by hand on the same
    blocks in the same order.  With ``trainer.shuffle``, each block's
    samples are shuffled within the block; the order of the blocks is the
    collection's -- shuffle the rows beforehand for a global shuffle.
    X and T must have the same row blocks (same lengths).
    """
    if not isinstance(trainer, pybp.Trainer):
        raise TypeError(f"trainer must be a pybp.Trainer; got "
                        f"{type(trainer).__name__}")
    if not isinstance(net, Network):
        raise TypeError(f"net must be a pybp.Network; got "
                        f"{type(net).__name__}")
    epochs = _positive_int("epochs", epochs)
    parts = [_blocks(X)[0], _blocks(T)[0]]
    if sample_weight is not None:
        parts.append(_blocks(sample_weight)[0])
    if len({len(p) for p in parts}) != 1:
        raise ValueError("X, T (and sample_weight) must have the same number "
                         f"of blocks; got {[len(p) for p in parts]}")
    client = client if client is not None else _current_client()
    blocks = list(zip(*parts)) * epochs
    histories = []
    for i, arrays in enumerate(_loaded(blocks, client)):
        x, t = (np.asarray(a) for a in arrays[:2])
        if x.shape[0] != t.shape[0]:
            raise ValueError(f"block {i % len(parts[0])}: X has {x.shape[0]} "
                             f"rows and T {t.shape[0]}; give X and T the "
                             "same row blocks")
        sw = np.asarray(arrays[2]) if len(arrays) > 2 else None
        histories.append(trainer.partial_fit(net, x, t, sample_weight=sw))
    return histories


def _loaded(blocks, client):
    """Yield each block's arrays, computing the next block on the cluster
    while the caller trains on the current one."""
    if client is None:
        dask = _require("dask")
        for block in blocks:
            yield dask.compute(*block)
        return
    pending = client.compute(list(blocks[0])) if blocks else None
    for i in range(len(blocks)):
        current = pending
        pending = (client.compute(list(blocks[i + 1]))
                   if i + 1 < len(blocks) else None)
        yield client.gather(current)
        del current


# ---- Ray Tune -------------------------------------------------------------

def tune_report(*, every: int = 1,
                extra: Callable[[Network, History], dict[str, Any]] | None = None
                ) -> Callable[[Network, History], bool]:
    """A ``cb(net, history)`` callback for fit/Trainer that reports each
    epoch to Ray Tune: {"epoch", "loss", and where present "val_loss",
    "accuracy", "val_accuracy"} plus extra(net, history)'s dict.

    Use it inside a Tune function trainable; a scheduler such as ASHA then
    compares trials epoch by epoch and stops the bad ones early.  `every`
    reports every n-th epoch.  The callback never stops training itself
    (it returns False); Tune ends a stopped trial.
    """
    every = _positive_int("every", every)
    if extra is not None and not callable(extra):
        raise TypeError(f"extra must be callable as extra(net, history); "
                        f"got {type(extra).__name__}")
    tune = _require("ray.tune")

    def report(net, history):
        epoch = len(history.loss)
        if epoch % every:
            return False
        metrics = {"epoch": epoch, "loss": float(history.loss[-1])}
        if history.val_loss:
            metrics["val_loss"] = float(history.val_loss[-1])
        for name, values in history.metrics.items():
            if values:
                metrics[name] = float(values[-1])
        if extra is not None:
            metrics.update(extra(net, history))
        tune.report(metrics)
        return False

    return report
