"""The ``pybp`` command line (also ``python -m pybp``).

Subcommands: ``demo``, ``train``, ``predict``, ``info``, ``bench`` and
``convert``; ``pybp COMMAND --help`` describes each.  Exit status: 0 when it
worked, 1 when it failed at run time (a missing or malformed file, a missing
column, a training failure), 2 for a usage error (an unknown option, a bad
option value).  Errors are one line on stderr naming the file, column or
option; never a traceback.
"""
from __future__ import annotations

import argparse
import csv
import io as _stdio
import json
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, NoReturn, TypeVar

import numpy as np

import pybp
from pybp import datasets
from pybp.errors import FormatError

__all__ = ["main", "CLIError", "UsageError"]

# The metadata key under which `pybp train` records how to use its model.
META_KEY = "pybp_cli"
META_VERSION = 1
MODEL_SUFFIXES = (".safetensors", ".net", ".onnx")


class CLIError(Exception):
    """A run-time failure: printed as one line, exit status 1."""


class UsageError(CLIError):
    """A usage error (bad option value): printed as one line, exit status 2."""


# ---------------------------------------------------------------------------
# Reading tables: CSV with a header row, .npy, .npz
# ---------------------------------------------------------------------------

@dataclass
class Table:
    """Columns of a data file: names and, per column, the raw values (str
    for CSV cells, numpy arrays for .npy/.npz)."""

    path: str
    names: list[str]
    columns: list[np.ndarray]
    kind: str                        # "csv", "npy" or "npz"
    # For an .npz with X and y/T arrays: how many leading columns came
    # from X (the rest are the targets).
    n_x: int | None = None

    @property
    def n_rows(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def index(self, name: str) -> int:
        if name in self.names:
            return self.names.index(name)
        shown = ", ".join(self.names[:12]) + (", ..." if len(self.names) > 12
                                              else "")
        raise CLIError(f"{self.path}: no column {name!r} (columns: {shown})")


def _read_csv(path: str) -> Table:
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except UnicodeDecodeError as exc:
        raise CLIError(f"{path}: not a UTF-8 text CSV file ({exc.reason} at "
                       f"byte {exc.start})") from None
    except csv.Error as exc:
        raise CLIError(f"{path}: not a readable CSV file ({exc})") from None
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    if not rows:
        raise CLIError(f"{path}: the file is empty (expected a header row "
                       "and data rows)")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise CLIError(f"{path}: column name {dup!r} appears twice in the "
                       "header row")
    if any(not h for h in header):
        raise CLIError(f"{path}: the header row has an empty column name "
                       f"(column {header.index('') + 1})")
    body = rows[1:]
    if not body:
        raise CLIError(f"{path}: the file has a header row but no data rows")
    for k, row in enumerate(body):
        if len(row) != len(header):
            raise CLIError(f"{path}: line {k + 2} has {len(row)} fields, the "
                           f"header has {len(header)}")
    columns = [np.array([row[c].strip() for row in body], dtype=object)
               for c in range(len(header))]
    return Table(path, header, columns, "csv")


def _check_array(path: str, a: np.ndarray, what: str) -> np.ndarray:
    if a.dtype.kind not in "biufUSO":
        raise CLIError(f"{path}: {what} has dtype {a.dtype}; expected numbers "
                       "or strings")
    if a.ndim == 1:
        a = a.reshape(-1, 1)
    if a.ndim != 2:
        raise CLIError(f"{path}: {what} has shape {a.shape}; expected a 2-D "
                       "array (rows x columns)")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise CLIError(f"{path}: {what} is empty (shape {a.shape})")
    return a


def _load_npy(path: str, f: Any) -> np.ndarray:
    try:
        return np.asarray(np.load(f, allow_pickle=False))
    except ValueError as exc:
        raise CLIError(f"{path}: not a readable .npy file ({exc})") from None


def _read_numpy(path: str) -> Table:
    kind = "npz" if path.lower().endswith(".npz") else "npy"
    with open(path, "rb") as f:
        if kind == "npy":
            a = _check_array(path, _load_npy(path, f), "the array")
            return Table(path, [str(c) for c in range(a.shape[1])],
                         [a[:, c] for c in range(a.shape[1])], kind)
        try:
            archive = np.load(f, allow_pickle=False)
            arrays = {k: np.asarray(archive[k]) for k in archive.files}
        except (ValueError, OSError, EOFError) as exc:
            raise CLIError(f"{path}: not a readable .npz file "
                           f"({exc})") from None
    if "X" in arrays:
        ykey = "y" if "y" in arrays else "T" if "T" in arrays else None
        if ykey is None:
            raise CLIError(f"{path}: has an X array but no y or T array "
                           f"(arrays: {', '.join(arrays)})")
        X = _check_array(path, arrays["X"], "X")
        Y = _check_array(path, arrays[ykey], ykey)
        if len(X) != len(Y):
            raise CLIError(f"{path}: X has {len(X)} rows but {ykey} has "
                           f"{len(Y)}")
        names = [f"X{c}" for c in range(X.shape[1])]
        names += ([ykey] if Y.shape[1] == 1 else
                  [f"{ykey}{c}" for c in range(Y.shape[1])])
        cols = [X[:, c] for c in range(X.shape[1])]
        cols += [Y[:, c] for c in range(Y.shape[1])]
        return Table(path, names, cols, kind, n_x=X.shape[1])
    if len(arrays) == 1:
        (key, a), = arrays.items()
        a = _check_array(path, a, f"array {key!r}")
        return Table(path, [str(c) for c in range(a.shape[1])],
                     [a[:, c] for c in range(a.shape[1])], kind)
    raise CLIError(f"{path}: an .npz file needs arrays X and y (or T), or "
                   f"exactly one array; found {', '.join(arrays) or 'none'}")


def read_table(path: str) -> Table:
    """Read a CSV (header row), .npy or .npz file into columns."""
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory, not a data file")
    low = path.lower()
    if low.endswith((".npy", ".npz")):
        return _read_numpy(path)
    return _read_csv(path)


def _is_numeric(col: np.ndarray) -> bool:
    if col.dtype.kind in "iuf":
        return True
    if col.dtype.kind == "b":
        return False
    try:
        for v in col:
            float(v)
    except (TypeError, ValueError):
        return False
    return True


def numeric_column(table: Table, c: int) -> np.ndarray:
    """Column c as float64; a clear error naming the column and the first
    cell that is not a finite number."""
    col = table.columns[c]
    where = "line" if table.kind == "csv" else "row"
    offset = 2 if table.kind == "csv" else 0
    if col.dtype.kind in "iuf":
        out = col.astype(np.float64)
    else:
        out = np.empty(len(col))
        for k, v in enumerate(col):
            try:
                out[k] = float(v)
            except (TypeError, ValueError):
                shown = v if isinstance(v, str) else repr(v)
                raise CLIError(
                    f"{table.path}: column {table.names[c]!r} is not numeric "
                    f"({where} {k + offset} holds {shown!r}); feature "
                    "columns must be numbers") from None
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        raise CLIError(f"{table.path}: column {table.names[c]!r} has a "
                       f"missing or non-finite value ({where} "
                       f"{int(bad[0]) + offset} holds {col[bad[0]]!r})")
    return out


# ---------------------------------------------------------------------------
# Option parsing helpers
# ---------------------------------------------------------------------------

def _layers(text: str) -> list[int]:
    text = text.strip()
    if text in ("", "0", "none"):
        return []
    try:
        sizes = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected hidden layer sizes like 16,8; got {text!r}") from None
    if any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(
            f"hidden layer sizes must be positive; got {text!r}")
    return sizes


_N = TypeVar("_N", int, float)


def _number_option(convert: Callable[[str], _N], ok: Callable[[_N], bool],
                   expected: str) -> Callable[[str], _N]:
    """An argparse ``type=``: ``convert`` the option's text, then check it
    with ``ok``; either failing says what was ``expected`` and what was
    given."""
    def parse(text: str) -> _N:
        try:
            v = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {expected}; got {text!r}") from None
        if not ok(v):
            raise argparse.ArgumentTypeError(
                f"expected {expected}; got {text!r}")
        return v
    return parse


_fraction = _number_option(float, lambda v: 0.0 <= v < 1.0,
                           "a number in [0, 1)")
_positive_int = _number_option(int, lambda v: v >= 1, "a positive integer")
_positive_float = _number_option(
    float, lambda v: v > 0 and math.isfinite(v), "a positive number")


# ---------------------------------------------------------------------------
# Model files: pybp safetensors, FANN .net; ONNX is export only
# ---------------------------------------------------------------------------

def _suffix(path: str) -> str:
    return os.path.splitext(path)[1].lower()


def load_model(path: str) -> tuple[pybp.Network, dict[str, Any], str]:
    """(network, metadata, format name) from a pybp or FANN file."""
    suffix = _suffix(path)
    if suffix == ".onnx":
        raise CLIError(f"{path}: pybp cannot read ONNX files (ONNX is export "
                       "only); use the .safetensors or .net file it came "
                       "from")
    if os.path.isdir(path):
        raise CLIError(f"{path}: is a directory, not a model file")
    if suffix == ".net":
        return pybp.io.load_fann(path), {}, "FANN 2.2 .net"
    net = pybp.load(path)
    return net, pybp.io.load_metadata(path), "pybp safetensors"


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _num_list(value: Any, n: int) -> bool:
    return isinstance(value, list) and len(value) == n and all(
        isinstance(v, (int, float)) and not isinstance(v, bool)
        and math.isfinite(v) for v in value)


def cli_meta(meta: dict[str, Any], net: pybp.Network | None = None,
             path: str = "") -> dict[str, Any] | None:
    """The part of a model's metadata that `pybp train` wrote, if any;
    checked against the network when it is given (CLIError if it does not
    fit)."""
    value = meta.get(META_KEY)
    if value is None:
        return None
    if net is None:
        return value if isinstance(value, dict) else None

    def bad(why: str) -> NoReturn:
        raise CLIError(f"{path}: the {META_KEY!r} metadata is malformed: "
                       f"{why}")

    if not isinstance(value, dict):
        bad("expected a JSON object")
    task = value.get("task")
    if task not in ("classification", "regression"):
        bad(f"task is {task!r}")
    feats: Any = value.get("features")
    targets: Any = value.get("targets")
    if not _str_list(feats) or len(feats) != net.sizes[0]:
        bad(f"features must be {net.sizes[0]} column names")
    if not _str_list(targets) or not targets:
        bad("targets must be a list of column names")
    sc = value.get("scaling")
    if not isinstance(sc, dict) or not _num_list(sc.get("mean"), len(feats)) \
            or not _num_list(sc.get("std"), len(feats)) \
            or not all(v > 0 for v in sc["std"]):
        bad("scaling needs a mean and a positive std per feature")
    if task == "classification":
        classes: Any = value.get("classes")
        if not _str_list(classes) or len(classes) != net.sizes[-1] \
                or len(classes) < 2 or len(targets) != 1:
            bad("a classifier needs one target and a class name per output "
                f"(two or more); the network has {net.sizes[-1]} output(s)")
    else:
        if len(targets) != net.sizes[-1]:
            bad(f"targets must be {net.sizes[-1]} column names")
        ts = value.get("target_scaling")
        if ts is not None and (
                not isinstance(ts, dict)
                or not _num_list(ts.get("mean"), len(targets))
                or not _num_list(ts.get("std"), len(targets))):
            bad("target_scaling needs a mean and a std per target")
    cols = value.get("feature_columns")
    if cols is not None and not (
            isinstance(cols, list) and len(cols) == len(feats)
            and all(isinstance(c, int) and not isinstance(c, bool)
                    and c >= 0 for c in cols)):
        bad("feature_columns must be one non-negative index per feature")
    return value


# ---------------------------------------------------------------------------
# pybp demo
# ---------------------------------------------------------------------------

def demo_worked_example(out: IO[str]) -> None:
    """Mazur's step-by-step example, on both backends."""
    sgd = pybp.optim.SGD(0.5)
    print("1. The worked example of Mazur's step-by-step backpropagation "
          "tutorial:\n   a 2-2-2 sigmoid network, input (0.05, 0.10), target "
          "(0.01, 0.99),\n   error 1/2 sum (t - o)^2, learning rate 0.5, "
          "biases held fixed.", file=out)
    for backend in ("c", "python"):
        example = datasets.mazur(backend=backend)
        net, X, T = example.network, example.X, example.T
        assert net is not None          # mazur() always carries its network
        e0 = net.loss(X, T)
        net.fit(X, T, optimizer=sgd, train_biases=False)
        e1 = net.loss(X, T)
        w = np.concatenate([net.weights[0].ravel(), net.weights[1].ravel()])
        t0 = time.perf_counter()
        net.fit(X, T, optimizer=sgd, epochs=9999, train_biases=False)
        dt = time.perf_counter() - t0
        o = net.predict(X[0])
        label = "C" if backend == "c" else "pure Python"
        print(f"   [{label}] weights w1..w8 after one step: "
              + " ".join(f"{v:.9f}" for v in w), file=out)
        print(f"   [{label}] error {e0:.9f} -> {e1:.9f} after 1 step -> "
              f"{net.loss(X, T):.3e} after 10,000 steps ({dt * 1e3:.0f} ms); "
              f"outputs {o[0]:.4f} {o[1]:.4f}", file=out)


def demo_credit(out: IO[str], n_train: int, epochs: int,
                progress: bool) -> None:
    X, T = datasets.credit(n_train + 2000, seed=0)
    Xtr, Ttr, Xte, Tte = X[:n_train], T[:n_train], X[n_train:], T[n_train:]
    start = pybp.Network([10, 4, 6, 8, 4], "sigmoid", seed=0)
    n_w = sum(W.size for W in start.weights)
    print(f"\n2. A credit-scoring network, 10 inputs -> hidden layers of 4, 6 "
          f"and 8 -> 4 classes\n   ({n_w} weights and "
          f"{start.n_params - n_w} biases), "
          f"trained on {n_train} synthetic samples by per-sample\n"
          f"   (stochastic) backpropagation, learning rate 0.5, {epochs} "
          f"epoch(s):", file=out)
    rates: dict[str, float] = {}
    for backend in ("c", "python"):
        net = start.copy(backend=backend)
        label = "C" if backend == "c" else "pure Python"
        if progress:
            out.flush()
            print(f"   training on {label}:", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        hist = net.fit(Xtr, Ttr, optimizer=pybp.optim.SGD(0.5),
                       epochs=epochs, batch_size=1, seed=1, verbose=progress)
        dt = time.perf_counter() - t0
        rates[backend] = epochs * n_train / dt
        acc = float(np.mean(net.classify(Xte) == Tte.argmax(1)))
        print(f"   [{label}] error {hist.loss[0]:.4f} -> {hist.loss[-1]:.4f}, "
              f"accuracy on 2000 unseen samples {acc:.1%}, {dt:.2f} s, "
              f"{rates[backend]:,.0f} samples/s", file=out)
    print(f"   C backend speed-up over pure Python: "
          f"{rates['c'] / rates['python']:.0f}x", file=out)


def cmd_demo(args: argparse.Namespace) -> int:
    out = sys.stdout
    print(f"pybp {pybp.__version__}: backpropagation with C kernels, checked "
          "against a pure-Python copy of the same algorithm.\n", file=out)
    demo_worked_example(out)
    demo_credit(out, args.samples, args.epochs, not args.quiet)
    return 0


# ---------------------------------------------------------------------------
# pybp train
# ---------------------------------------------------------------------------

@dataclass
class Prepared:
    """Training data as the network sees it, and how to get there."""

    X: np.ndarray
    T: np.ndarray
    features: list[str]
    feature_columns: list[int]
    targets: list[str]
    task: str
    classes: list[str] = field(default_factory=list)
    mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scale: np.ndarray = field(default_factory=lambda: np.ones(0))
    t_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))
    t_scale: np.ndarray = field(default_factory=lambda: np.ones(0))


def _standardise(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = A.mean(axis=0)
    scale = A.std(axis=0)
    scale[~(scale > 1e-12 * np.maximum(1.0, np.abs(mean)))] = 1.0
    return mean, scale


def _target_columns(table: Table, targets: Sequence[str] | None) -> list[int]:
    if targets:
        cols = []
        for name in targets:
            if table.kind != "csv" and name not in table.names:
                # Columns of arrays are named by index; allow negatives.
                try:
                    k = int(name)
                except ValueError:
                    k = None
                if k is not None and -len(table.names) <= k < len(table.names):
                    name = table.names[k]
            cols.append(table.index(name))
        if len(set(cols)) != len(cols):
            raise UsageError("--target names the same column twice")
        return cols
    if table.n_x is not None:
        return list(range(table.n_x, len(table.names)))
    raise UsageError("--target is required (the column(s) to predict); "
                     f"{table.path} has columns "
                     + ", ".join(table.names[:12]))


def prepare(table: Table, targets: Sequence[str] | None,
            task: str) -> Prepared:
    """Split a table into standardised inputs and targets (one-hot classes
    or standardised numbers)."""
    tcols = _target_columns(table, targets)
    fcols = [c for c in range(len(table.names)) if c not in tcols]
    if not fcols:
        raise CLIError(f"{table.path}: no feature columns left once the "
                       "target column(s) are taken out")
    X = np.column_stack([numeric_column(table, c) for c in fcols])
    numeric = all(_is_numeric(table.columns[c]) for c in tcols)
    if task == "auto":
        task = "regression" if numeric else "classification"
    names = [table.names[c] for c in tcols]
    if task == "classification":
        if len(tcols) != 1:
            raise UsageError("classification takes one --target column; got "
                             + ", ".join(names))
        labels = np.array([str(v) for v in table.columns[tcols[0]]])
        classes = sorted(set(labels.tolist()), key=_class_key)
        if len(classes) < 2:
            raise CLIError(f"{table.path}: target column {names[0]!r} has "
                           f"only one class ({classes[0]!r}); need two or "
                           "more")
        index = {c: k for k, c in enumerate(classes)}
        T = np.eye(len(classes))[[index[v] for v in labels]]
        prep = Prepared(X, T, [table.names[c] for c in fcols], fcols, names,
                        task, classes=classes)
    else:
        T = np.column_stack([numeric_column(table, c) for c in tcols])
        prep = Prepared(X, T, [table.names[c] for c in fcols], fcols, names,
                        task)
        prep.t_mean, prep.t_scale = _standardise(T)
        prep.T = (T - prep.t_mean) / prep.t_scale
    prep.mean, prep.scale = _standardise(X)
    prep.X = (X - prep.mean) / prep.scale
    return prep


def _class_key(name: str) -> tuple[int, float, str]:
    """Numbers in numeric order, then other names alphabetically."""
    try:
        return (0, float(name), name)
    except ValueError:
        return (1, 0.0, name)


def _make_optimizer(name: str, lr: float | None) -> pybp.optim.Optimizer:
    cls = pybp.optim.OPTIMIZERS[name]
    if lr is None:
        default: pybp.optim.Optimizer = cls()
        return default
    if name == "rprop":
        raise UsageError("--lr does not apply to --optimizer rprop (it has "
                         "no learning rate)")
    chosen: pybp.optim.Optimizer = cls(lr=lr)
    return chosen


def _plot_check(path: str | None) -> None:
    if path is None:
        return
    try:
        import matplotlib
    except ImportError:
        raise CLIError('--plot needs matplotlib: pip install "pybp[plot]"') \
            from None
    matplotlib.use("Agg")
    if _suffix(path) not in (".png", ".pdf", ".svg", ".jpg", ".jpeg"):
        raise UsageError(f"--plot {path}: expected a .png, .pdf, .svg or "
                         ".jpg file name")


def _summary(net: pybp.Network, hist: pybp.History, seconds: float,
             output: str) -> str:
    parts = [f"{'-'.join(map(str, net.sizes))}: {hist.epochs} epochs "
             f"({hist.stopped})", f"loss {hist.loss[-1]:.4g}"]
    if hist.val_loss:
        parts.append(f"val_loss {hist.val_loss[-1]:.4g}")
    if hist.accuracy:
        parts.append(f"accuracy {hist.accuracy[-1]:.1%}")
    if hist.val_accuracy:
        parts.append(f"val_accuracy {hist.val_accuracy[-1]:.1%}")
    parts.append(f"{seconds:.2f} s")
    return "trained " + ", ".join(parts) + f"; saved {output}"


def _floats(values: Any) -> list[float | None]:
    return [float(v) if math.isfinite(float(v)) else None for v in values]


def cmd_train(args: argparse.Namespace) -> int:
    _plot_check(args.plot)
    if _suffix(args.output) != ".safetensors":
        raise UsageError(f"-o {args.output}: the model is saved as a pybp "
                         ".safetensors file; use pybp convert for other "
                         "formats")
    optimizer = _make_optimizer(args.optimizer, args.lr)
    table = read_table(args.data)
    prep = prepare(table, args.target, args.task)
    n = len(prep.X)
    order = np.random.default_rng(args.seed).permutation(n)
    X, T = prep.X[order], prep.T[order]
    classify = prep.task == "classification"
    sizes = [X.shape[1], *args.layers, T.shape[1]]
    net = pybp.Network(sizes, args.activation,
                       "softmax" if classify else "identity",
                       seed=args.seed, dtype=args.dtype)
    split = args.validation_split if n * args.validation_split >= 1 else 0.0
    batch = min(args.batch_size, n)
    t0 = time.perf_counter()
    hist = net.fit(X, T, loss="cross_entropy" if classify else "mse",
                   optimizer=optimizer, epochs=args.epochs, batch_size=batch,
                   seed=args.seed, validation_split=split,
                   patience=args.patience if split else None,
                   verbose=not args.quiet)
    seconds = time.perf_counter() - t0
    if hist.stopped == "diverged" and hist.epochs <= 1:
        raise CLIError("training diverged in the first epoch (the loss "
                       "became NaN or infinite); try a smaller --lr")
    meta = {
        "version": META_VERSION,
        "task": prep.task,
        "features": prep.features,
        "targets": prep.targets,
        "classes": prep.classes,
        "scaling": {"mean": prep.mean.tolist(), "std": prep.scale.tolist()},
        "training": {
            "data": os.path.basename(args.data),
            "samples": n,
            "validation_split": split,
            "epochs": hist.epochs,
            "stopped": hist.stopped,
            "loss": "cross_entropy" if classify else "mse",
            "final_loss": _floats(hist.loss[-1:])[0],
            "final_val_loss": (_floats(hist.val_loss[-1:])[0]
                               if hist.val_loss else None),
            "accuracy": hist.accuracy[-1] if hist.accuracy else None,
            "val_accuracy": (hist.val_accuracy[-1] if hist.val_accuracy
                             else None),
            "optimizer": repr(optimizer),
            "batch_size": batch,
            "seed": args.seed,
            "seconds": round(seconds, 3),
            "pybp_version": pybp.__version__,
        },
    }
    if table.kind != "csv":
        meta["feature_columns"] = prep.feature_columns
    if not classify:
        meta["target_scaling"] = {"mean": prep.t_mean.tolist(),
                                  "std": prep.t_scale.tolist()}
    pybp.io.save(net, args.output, metadata={META_KEY: meta})
    if args.plot:
        import matplotlib.pyplot as plt

        from pybp import plot
        fig, ax = plt.subplots(figsize=(7.0, 4.0))
        try:
            plot.history(hist, ax=ax,
                         title=f"pybp train {os.path.basename(args.data)}")
            fig.savefig(args.plot, dpi=100, bbox_inches="tight")
        finally:
            plt.close(fig)
    print(_summary(net, hist, seconds, args.output)
          + (f", plot {args.plot}" if args.plot else ""))
    return 0


# ---------------------------------------------------------------------------
# pybp predict
# ---------------------------------------------------------------------------

def _inputs_for(table: Table, net: pybp.Network,
                meta: dict[str, Any] | None) -> np.ndarray:
    n_in = net.sizes[0]
    if meta is None:
        if len(table.names) != n_in:
            raise CLIError(f"{table.path}: has {len(table.names)} columns; "
                           f"the model takes {n_in} inputs (it records no "
                           "column names, so all columns are inputs)")
        cols = list(range(n_in))
    elif table.kind == "csv" or "feature_columns" not in meta:
        cols = []
        for name in meta["features"]:
            if name not in table.names:
                raise CLIError(f"{table.path}: no column {name!r}, which "
                               "the model needs (features: "
                               + ", ".join(meta["features"][:12]) + ")")
            cols.append(table.names.index(name))
    else:
        wanted = [int(c) for c in meta["feature_columns"]]
        if table.n_x is not None:
            cols = list(range(table.n_x))
        elif len(table.names) == len(wanted):
            cols = list(range(len(wanted)))
        elif len(table.names) > max(wanted):
            cols = wanted
        else:
            cols = []
        if len(cols) != n_in:
            raise CLIError(f"{table.path}: has {len(table.names)} columns; "
                           f"the model takes {n_in} inputs (columns "
                           f"{wanted} of the training array)")
    X = np.column_stack([numeric_column(table, c) for c in cols])
    if meta is not None:
        sc = meta["scaling"]
        X = (X - np.asarray(sc["mean"])) / np.asarray(sc["std"])
    return X


def predictions(net: pybp.Network, meta: dict[str, Any] | None,
                X: np.ndarray, proba: bool) -> tuple[list[str], list[list[Any]]]:
    """(header, rows) for standardised inputs X."""
    out = np.atleast_2d(net.predict(X))
    if meta is not None and meta.get("task") == "classification":
        classes = list(meta["classes"])
        labels = [classes[k] for k in out.argmax(axis=1)]
        header = [meta["targets"][0]]
        rows: list[list[Any]] = [[c] for c in labels]
        if proba:
            header += [f"p({c})" for c in classes]
            rows = [r + [repr(float(p)) for p in ps]
                    for r, ps in zip(rows, out)]
        return header, rows
    if meta is not None:
        ts = meta.get("target_scaling")
        if ts is not None:
            out = out * np.asarray(ts["std"]) + np.asarray(ts["mean"])
        header = list(meta["targets"])
    else:
        header = [f"y{k}" for k in range(out.shape[1])]
    return header, [[repr(float(v)) for v in row] for row in out]


def _write_csv(path: str | None, header: list[str],
               rows: list[list[Any]]) -> None:
    buf = _stdio.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    if path is None:
        sys.stdout.write(buf.getvalue())
        return
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            f.write(buf.getvalue())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def cmd_predict(args: argparse.Namespace) -> int:
    net, meta, _ = load_model(args.model)
    cmeta = cli_meta(meta, net, args.model)
    if args.proba and (cmeta is None or cmeta.get("task") != "classification"):
        raise UsageError("--proba needs a classification model from "
                         "pybp train")
    table = read_table(args.data)
    X = _inputs_for(table, net, cmeta)
    header, rows = predictions(net, cmeta, X, args.proba)
    _write_csv(args.output, header, rows)
    if args.output:
        print(f"wrote {len(rows)} predictions to {args.output}",
              file=sys.stderr)
    return 0


# ---------------------------------------------------------------------------
# pybp info
# ---------------------------------------------------------------------------

def describe(net: pybp.Network, meta: dict[str, Any], fmt: str,
             path: str) -> list[str]:
    n_w = sum(W.size for W in net.weights)
    n_b = sum(b.size for b in net.biases)
    lines = [f"file          {path} ({fmt})",
             f"architecture  {'-'.join(map(str, net.sizes))} "
             f"({len(net.sizes) - 2} hidden layer(s))",
             f"parameters    {net.n_params} ({n_w} weights, {n_b} biases)",
             f"dtype         {net.dtype}",
             f"activations   {', '.join(net.activations)}"]
    cm = cli_meta(meta, net, path)
    if cm is not None:
        lines.append(f"task          {cm.get('task')}")
        lines.append(f"targets       {', '.join(map(str, cm['targets']))}")
        if cm.get("classes"):
            lines.append(f"classes       {len(cm['classes'])}: "
                         + ", ".join(map(str, cm["classes"])))
        sc = cm["scaling"]
        lines.append(f"features      {len(cm['features'])}, standardised "
                     "as (x - mean) / std:")
        for name, m, s in zip(cm["features"], sc["mean"], sc["std"]):
            lines.append(f"  {name:<20} mean {m:<12.6g} std {s:.6g}")
        ts = cm.get("target_scaling")
        if ts:
            lines.append("targets are standardised the same way; predict "
                         "undoes it:")
            for name, m, s in zip(cm["targets"], ts["mean"], ts["std"]):
                lines.append(f"  {name:<20} mean {m:<12.6g} std {s:.6g}")
        tr = cm.get("training", {})
        if tr:
            lines.append("training      " + ", ".join(
                f"{k} {v:.6g}" if isinstance(v, float) else f"{k} {v}"
                for k, v in tr.items() if v is not None))
    others = {k: v for k, v in meta.items() if k != META_KEY}
    if others:
        lines.append("metadata      " + json.dumps(others, sort_keys=True))
    return lines


def cmd_info(args: argparse.Namespace) -> int:
    net, meta, fmt = load_model(args.model)
    if args.json:
        print(json.dumps({"format": fmt, "sizes": list(net.sizes),
                          "activations": list(net.activations),
                          "dtype": str(net.dtype), "bias": bool(net.bias),
                          "n_params": int(net.n_params),
                          "metadata": meta}, indent=2))
    else:
        print("\n".join(describe(net, meta, fmt, args.model)))
    return 0


# ---------------------------------------------------------------------------
# pybp convert
# ---------------------------------------------------------------------------

def cmd_convert(args: argparse.Namespace) -> int:
    src, dst = args.input, args.output
    for path, what in ((src, "IN"), (dst, "OUT")):
        if _suffix(path) not in MODEL_SUFFIXES:
            raise UsageError(f"{what} {path}: unknown extension "
                             f"{_suffix(path) or '(none)'!r}; expected "
                             ".safetensors, .net or .onnx")
    if _suffix(src) == ".onnx":
        raise UsageError(f"IN {src}: ONNX is export only; pybp cannot read "
                         ".onnx files")
    net, meta, _ = load_model(src)
    out = _suffix(dst)
    if out == ".safetensors":
        pybp.io.save(net, dst, metadata=meta or None)
    elif out == ".net":
        pybp.io.save_fann(net, dst)
    else:
        try:
            pybp.io.export_onnx(net, dst)
        except ImportError:
            raise CLIError('writing .onnx needs the onnx package: pip '
                           'install "pybp[onnx]"') from None
    if cli_meta(meta) is not None and out != ".safetensors":
        print(f"note: {dst} holds the network only; the input scaling, "
              f"column names and class names stored in {src} are not kept "
              "(pybp predict needs the .safetensors file)", file=sys.stderr)
    print(f"wrote {dst} ({'-'.join(map(str, net.sizes))}, "
          f"{net.n_params} parameters)")
    return 0


# ---------------------------------------------------------------------------
# pybp bench
# ---------------------------------------------------------------------------

def _numpy_epoch(Ws: list[np.ndarray], bs: list[np.ndarray], X: np.ndarray,
                 T: np.ndarray, order: np.ndarray, lr: float) -> None:
    """One epoch of per-sample SGD, sigmoid layers, error 1/2 sum (o - t)^2,
    written as plain numpy (one small matrix-vector product per layer)."""
    for k in order:
        acts = [X[k]]
        for W, b in zip(Ws, bs):
            acts.append(1.0 / (1.0 + np.exp(-(W @ acts[-1] + b))))
        o = acts[-1]
        delta = (o - T[k]) * o * (1.0 - o)
        for l in range(len(Ws) - 1, -1, -1):
            a = acts[l]
            back = (Ws[l].T @ delta) * a * (1.0 - a) if l else None
            Ws[l] -= lr * np.outer(delta, a)
            bs[l] -= lr * delta
            if back is not None:
                delta = back


def cmd_bench(args: argparse.Namespace) -> int:
    n = args.samples
    X, T = datasets.credit(n, seed=0)
    start = pybp.Network([10, 4, 6, 8, 4], "sigmoid", seed=0)
    print(f"Credit network 10-4-6-8-4 ({start.n_params} parameters), one "
          f"epoch of per-sample SGD over {n} samples (best of "
          f"{args.repeat}):")
    rows: list[tuple[str, float]] = []
    for backend, label in (("c", "pybp, C backend"),
                           ("python", "pybp, pure-Python backend")):
        best = math.inf
        for _ in range(args.repeat):
            net = start.copy(backend=backend)
            t0 = time.perf_counter()
            net.fit(X, T, optimizer=pybp.optim.SGD(0.5), epochs=1,
                    batch_size=1, seed=1)
            best = min(best, time.perf_counter() - t0)
        rows.append((label, best))
    order = np.random.default_rng(1).permutation(n)
    best = math.inf
    for _ in range(args.repeat):
        Ws = [W.copy() for W in start.weights]
        bs = [b.copy() for b in start.biases]
        t0 = time.perf_counter()
        _numpy_epoch(Ws, bs, X, T, order, 0.5)
        best = min(best, time.perf_counter() - t0)
    rows.append(("plain numpy MLP", best))
    c_time = rows[0][1]
    print(f"  {'implementation':<28}{'seconds':>10}{'samples/s':>14}"
          f"{'x slower than C':>18}")
    for label, sec in rows:
        print(f"  {label:<28}{sec:>10.4f}{n / sec:>14,.0f}"
              f"{sec / c_time:>18.1f}")
    print("The full benchmark (optimizers, mini-batches, scikit-learn, "
          "PyTorch, FANN): python bench/run.py")
    return 0


# ---------------------------------------------------------------------------
# The parser and main()
# ---------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (plus the usage) and exit 2,
    and the message names the subcommand."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _with_progress_bar(parser: argparse.ArgumentParser,
                       func: Any) -> None:
    """A subcommand that shows a progress bar: its -q/--quiet, and what it
    runs."""
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar")
    parser.set_defaults(func=func)


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the whole command line."""
    p = _Parser(prog="pybp", description="Train and use multi-layer "
                "perceptrons by backpropagation (pybp).",
                epilog="Run 'pybp COMMAND --help' for a command's options.")
    p.add_argument("--version", action="version",
                   version=f"pybp {pybp.__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND",
                           parser_class=_Parser)

    d = sub.add_parser("demo", help="the worked example and C vs Python "
                       "(the default command)",
                       description="Reproduce the worked example of Mazur's "
                       "step-by-step backpropagation tutorial on both "
                       "backends, then train a small credit-scoring network "
                       "in C and in pure Python and compare their speed.")
    d.add_argument("--samples", type=_positive_int, default=5000,
                   help="training samples for the credit network "
                   "(default 5000)")
    d.add_argument("--epochs", type=_positive_int, default=3,
                   help="epochs for the credit network (default 3)")
    _with_progress_bar(d, cmd_demo)

    t = sub.add_parser(
        "train", help="train a network on a CSV/.npy/.npz file",
        description="Train a network on a table and save it with what "
        "predict needs (column names, input scaling, class names). A CSV "
        "needs a header row. An .npy file is a 2-D array whose columns are "
        "named by index (--target -1 is the last column); an .npz holds "
        "arrays X and y (or T), whose y columns are the targets, or a single "
        "2-D array. Inputs are standardised. A target with any non-numeric "
        "value means classification (softmax output, cross-entropy loss); "
        "numeric targets mean regression (identity output, mse, targets "
        "standardised too).")
    t.add_argument("data", metavar="DATA", help="CSV, .npy or .npz file")
    t.add_argument("--target", action="append", metavar="COL",
                   help="column to predict (repeat for several); required "
                   "except for an .npz with X and y")
    t.add_argument("--task", choices=("auto", "classification",
                                      "regression"), default="auto",
                   help="auto (default): classification when a target "
                   "holds non-numbers; classification also treats numbers "
                   "as class labels")
    t.add_argument("--layers", type=_layers, default=[32], metavar="N,N",
                   help="hidden layer sizes, e.g. 16,8 (default 32; "
                   "0 for none)")
    t.add_argument("--activation", default="relu",
                   choices=("relu", "tanh", "sigmoid", "leaky_relu",
                            "identity"),
                   help="hidden-layer activation (default relu)")
    t.add_argument("--optimizer", default="adam",
                   choices=tuple(pybp.optim.OPTIMIZERS),
                   help="default adam")
    t.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default: the optimizer's own)")
    t.add_argument("--epochs", type=_positive_int, default=200,
                   help="most epochs (default 200)")
    t.add_argument("--batch-size", type=_positive_int, default=32,
                   help="samples per update (default 32; 1 = per-sample)")
    t.add_argument("--validation-split", type=_fraction, default=0.1,
                   help="fraction held out for validation, after a seeded "
                   "shuffle (default 0.1; 0 for none)")
    t.add_argument("--patience", type=_positive_int, default=20,
                   help="stop after this many epochs without a better "
                   "validation loss and keep the best weights (default 20)")
    t.add_argument("--seed", type=int, default=0,
                   help="seed for the shuffle and the initial weights "
                   "(default 0)")
    t.add_argument("--dtype", choices=("float64", "float32"),
                   default="float64")
    t.add_argument("-o", "--output", default="model.safetensors",
                   metavar="MODEL", help="default model.safetensors")
    t.add_argument("--plot", metavar="PNG", default=None,
                   help="also write the loss curves to this image "
                   "(needs matplotlib)")
    _with_progress_bar(t, cmd_train)

    r = sub.add_parser(
        "predict", help="apply a model to a data file",
        description="Apply a model to a CSV/.npy/.npz file and write CSV "
        "with a header: the class name (classification) or the output "
        "columns. Columns are matched by name to the ones the model was "
        "trained on, and its input scaling is applied. Models without "
        "that information (FANN .net, Network.save) take all columns as "
        "inputs, in order, unscaled.")
    r.add_argument("model", metavar="MODEL", help=".safetensors or .net")
    r.add_argument("data", metavar="DATA", help="CSV, .npy or .npz file")
    r.add_argument("-o", "--output", metavar="OUT.csv", default=None,
                   help="write here (default: stdout)")
    r.add_argument("--proba", action="store_true",
                   help="add one probability column per class")
    r.set_defaults(func=cmd_predict)

    i = sub.add_parser("info", help="describe a model file",
                       description="Architecture, parameter count, dtype, "
                       "activations and, for models from pybp train, the "
                       "training record, input scaling and class names. "
                       "Reads pybp .safetensors and FANN .net files.")
    i.add_argument("model", metavar="MODEL")
    i.add_argument("--json", action="store_true",
                   help="print JSON instead of text")
    i.set_defaults(func=cmd_info)

    b = sub.add_parser("bench", help="quick speed table: C vs pure Python "
                       "vs numpy",
                       description="Time one per-sample SGD epoch of the "
                       "credit network (10-4-6-8-4) in pybp's C and "
                       "pure-Python backends and in a plain numpy MLP. The "
                       "full benchmark is python bench/run.py.")
    b.add_argument("--samples", type=_positive_int, default=2000,
                   help="default 2000")
    b.add_argument("--repeat", type=_positive_int, default=3,
                   help="keep the best of this many runs (default 3)")
    b.set_defaults(func=cmd_bench)

    c = sub.add_parser("convert", help="convert between .safetensors, "
                       ".net and .onnx",
                       description="Convert a model by file extension: "
                       ".safetensors (pybp) and .net (FANN 2.2) both ways, "
                       "and to .onnx (export only; needs pybp[onnx]).")
    c.add_argument("input", metavar="IN")
    c.add_argument("output", metavar="OUT")
    c.set_defaults(func=cmd_convert)
    return p


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, 1 or 2)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if not args_list or args_list[0].startswith("--") and args_list[0] in (
            "--samples", "--epochs", "--quiet"):
        args_list = ["demo", *args_list]
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_usage(sys.stderr)
        print("pybp: error: expected a command (demo, train, predict, info, "
              "bench, convert)", file=sys.stderr)
        return 2
    prog = f"pybp {args.command}"
    try:
        status: int = args.func(args)
        return status
    except UsageError as exc:
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except CLIError as exc:
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except OSError as exc:
        name = exc.filename if exc.filename is not None else ""
        why = exc.strerror or _one_line(exc)
        print(f"{prog}: error: {name}{': ' if name else ''}{why}",
              file=sys.stderr)
        return 1
    except FormatError as exc:
        print(f"{prog}: error: {_file_of(args)}{_one_line(exc)}",
              file=sys.stderr)
        return 1
    except (ValueError, TypeError, ImportError, MemoryError) as exc:
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line, no traceback
        print(f"{prog}: internal error ({type(exc).__name__}): "
              f"{_one_line(exc)}", file=sys.stderr)
        return 1


def _file_of(args: argparse.Namespace) -> str:
    """'PATH: ' for the model file a command was reading, for messages."""
    for attr in ("model", "input"):
        value = getattr(args, attr, None)
        if isinstance(value, str):
            return f"{value}: "
    return ""
