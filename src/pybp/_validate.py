"""Argument checking for the public API.

Every check raises ValueError or TypeError with a message that names the
argument, what was expected and what was given.  Arrays are converted here,
once, to C-contiguous arrays of the network's dtype (copied only if needed).
"""
from __future__ import annotations

import math
import numbers
import operator
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pybp import _core, _registry

if TYPE_CHECKING:
    from numpy.typing import DTypeLike

    from pybp._typing import FloatArray, Seed

# NumPy 1.x warns (and makes an object array) where 2.x raises ValueError for
# ragged nested lists; pybp refuses them the same way on both.
_RaggedWarning = getattr(np, "exceptions", np).VisibleDeprecationWarning

# The accepted names, from the registry.
ACTIVATIONS = tuple(_registry.ACTIVATIONS)
ACTIVATION_ALIASES = _registry.ACTIVATION_ALIASES
LOSSES = tuple(_registry.LOSSES)
DTYPES = _registry.DTYPES
BACKENDS = _registry.BACKENDS
INITS = _registry.INITS

# Largest parameter count we will lay out: offsets must fit int64 in C.
MAX_PARAMS = 2**62


def _show(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def choice(name: str, value: object, options: Sequence[str],
           aliases: dict[str, str] | None = None) -> str:
    """A string from `options` (or an alias of one)."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {', '.join(options)}; "
                        f"got {type(value).__name__} {_show(value)}")
    key = value.lower()
    if aliases and key in aliases:
        key = aliases[key]
    if key not in options:
        raise ValueError(f"unknown {name} {value!r}; expected one of "
                         f"{', '.join(options)}")
    return key


def _number(name: str, value: object, kind: type, expected: str) -> Any:
    """`value` if it is an instance of the numbers ABC `kind` and not a
    bool; TypeError saying `expected` otherwise."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, kind):
        raise TypeError(f"{name} must be {expected}; got "
                        f"{type(value).__name__} {_show(value)}")
    return value


def _bounded(name: str, value: float, minimum: float | None,
             maximum: float | None, min_inclusive: bool = True,
             max_inclusive: bool = True) -> Any:
    """`value` if it lies within the bounds (None: unbounded); ValueError
    saying which bound it breaks otherwise."""
    if minimum is not None and (value < minimum or
                                (not min_inclusive and value == minimum)):
        op = ">=" if min_inclusive else ">"
        raise ValueError(f"{name} must be {op} {minimum}; got {value}")
    if maximum is not None and (value > maximum or
                                (not max_inclusive and value == maximum)):
        op = "<=" if max_inclusive else "<"
        raise ValueError(f"{name} must be {op} {maximum}; got {value}")
    return value


def integer(name: str, value: object, minimum: int | None = None,
            allow_none: bool = False) -> Any:  # int, or None if allowed
    if type(value) is int:      # the common case, without the ABC checks
        return _bounded(name, value, minimum, None)
    if value is None and allow_none:
        return None
    value = operator.index(_number(name, value, numbers.Integral,
                                   "an integer"))
    return _bounded(name, value, minimum, None)


def real(name: str, value: object, minimum: float | None = None,
         maximum: float | None = None, allow_none: bool = False,
         min_inclusive: bool = True,
         max_inclusive: bool = True) -> Any:  # float, or None if allowed
    """A finite real number within the given bounds, as a Python float."""
    if type(value) is float or type(value) is int:   # without the ABC checks
        value = float(value)
    elif value is None and allow_none:
        return None
    else:
        value = float(_number(name, value, numbers.Real, "a real number"))
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    return _bounded(name, value, minimum, maximum, min_inclusive,
                    max_inclusive)


def flag(name: str, value: object) -> bool:
    if value is True or value is False:
        return value
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False; got "
                        f"{type(value).__name__} {_show(value)}")
    return bool(value)


def seed(value: Seed) -> int | np.random.Generator | None:
    """None, a non-negative integer, or a numpy Generator."""
    if value is None or isinstance(value, np.random.Generator):
        return value
    return integer("seed", value, minimum=0)


def sizes(value: object) -> tuple[int, ...]:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError("sizes must be a sequence of layer widths, input "
                        f"first, e.g. [2, 3, 1]; got {type(value).__name__} "
                        f"{_show(value)}")
    out = tuple(integer(f"sizes[{i}]", v, minimum=1)
                for i, v in enumerate(value))
    if len(out) < 2:
        raise ValueError("sizes needs at least two layers (input and output), "
                         f"e.g. [2, 3, 1]; got {_show(list(out))}")
    n_params = _registry.n_params(out, True)
    if n_params >= MAX_PARAMS:
        raise ValueError(f"sizes {_show(list(out))} give {n_params} "
                         "parameters, more than pybp can lay out")
    return out


def activations(activation: object, output_activation: object,
                n_layers: int) -> tuple[str, ...]:
    """One activation name per weight layer."""
    if isinstance(activation, str):
        hidden = choice("activation", activation, ACTIVATIONS,
                        ACTIVATION_ALIASES)
        if output_activation is None:
            out = hidden
        else:
            out = choice("output_activation", output_activation, ACTIVATIONS,
                         ACTIVATION_ALIASES)
        names = [hidden] * (n_layers - 1) + [out]
    elif isinstance(activation, (list, tuple)):
        if output_activation is not None:
            raise ValueError("output_activation must be None when activation "
                             "is a list (the list names every layer's "
                             "activation, the output layer's last); got "
                             f"output_activation={output_activation!r}")
        if len(activation) != n_layers:
            raise ValueError(f"activation list needs one name per weight "
                             f"layer: expected {n_layers}, got "
                             f"{len(activation)}")
        names = [choice(f"activation[{i}]", a, ACTIVATIONS, ACTIVATION_ALIASES)
                 for i, a in enumerate(activation)]
    else:
        raise TypeError("activation must be a name or a list of names; got "
                        f"{type(activation).__name__} {_show(activation)}")
    for i, name in enumerate(names[:-1]):
        if name == "softmax":
            raise ValueError(f"softmax is for the output layer only; layer {i} "
                             "is a hidden layer")
    return tuple(names)


def loss_for(loss: object, output_activation: str) -> str:
    loss = choice("loss", loss, LOSSES)
    if loss == "cross_entropy" and output_activation != "softmax":
        raise ValueError("loss 'cross_entropy' needs a softmax output layer; "
                         f"this network's output activation is "
                         f"{output_activation!r} (use binary_cross_entropy for "
                         "sigmoid outputs)")
    if loss == "binary_cross_entropy" and output_activation != "sigmoid":
        raise ValueError("loss 'binary_cross_entropy' needs a sigmoid output "
                         f"layer; this network's output activation is "
                         f"{output_activation!r} (use cross_entropy for "
                         "softmax outputs)")
    return loss


def plain(value: object, dtype: DTypeLike) -> bool:
    """Whether value already is what array() returns, unchanged (the same
    object), when it is finite: an ndarray of dtype with at least one
    dimension, C-contiguous and aligned."""
    return (type(value) is np.ndarray and value.ndim > 0
            and value.dtype == dtype and value.flags.c_contiguous
            and value.flags.aligned)


def array(name: str, value: object, dtype: DTypeLike,
          finite: bool = True) -> FloatArray:
    """value as a C-contiguous, aligned array of dtype: numeric, finite.
    Masked arrays are refused (their mask would be silently dropped).
    finite=False: a plain() value is returned without the finiteness
    check, which the caller then owes (see require_finite); any other value
    is converted and checked as usual."""
    if type(value) is np.ndarray and value.ndim and value.dtype == dtype:
        # Already what the general path below would return unchanged (the
        # same object): C-contiguous, aligned, this dtype, finite -- checked
        # in one C pass.  Anything else, or a non-finite value, goes the
        # general way, which converts it or says what is wrong.
        if not finite and plain(value, dtype):
            return value
        if _core.all_finite(value):
            return value
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{name}: masked arrays are not supported: fill or "
                        f"drop masked values, e.g. {name}.filled(...), or "
                        "give them zero weight with sample_weight")
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be numeric (an array or nested lists of "
                        f"numbers); got {type(value).__name__}")
    try:
        a = asarray(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be a rectangular array of numbers; "
                         f"could not convert it: {exc}") from None
    if a.dtype == object or a.dtype.kind not in "biuf":
        kind = {"U": "strings", "S": "bytes", "O": "Python objects",
                "c": "complex numbers", "M": "datetimes", "m": "timedeltas",
                "V": "structured records"}.get(a.dtype.kind, str(a.dtype))
        raise TypeError(f"{name} must hold real numbers; got an array of "
                        f"{kind} (dtype {a.dtype})")
    source = a
    with np.errstate(over="ignore", invalid="ignore"):
        a = np.ascontiguousarray(a, dtype=dtype)
    if not a.flags.aligned:
        # e.g. np.frombuffer(buf, offset=1): the kernels assume alignment.
        a = a.copy()
    bad = _count_nonfinite(a)
    if bad:
        if source.dtype != a.dtype and not _count_nonfinite(source):
            raise ValueError(f"{name} has {bad} value(s) too large for "
                             f"{np.dtype(dtype).name}")
        raise _not_finite(name, bad)
    return a


def _not_finite(name: str, bad: int) -> ValueError:
    return ValueError(f"{name} contains {bad} NaN or infinite value(s); "
                      "all values must be finite")


def require_finite(name: str, a: object) -> None:
    """array()'s finiteness check, owed for an array it returned with
    finite=False: the same ValueError when a value of a is not finite."""
    if _core.all_finite(a):   # None (not a plain buffer): counted below
        return
    bad = _count_nonfinite(np.asarray(a))
    if bad:
        raise _not_finite(name, bad)


def _count_nonfinite(a: np.ndarray[Any, Any], block: int = 1 << 20) -> int:
    """Non-finite values in a, counted a block at a time, so that a huge
    (e.g. memory-mapped) array needs no full-size temporary."""
    if a.dtype.kind in "biu":
        return 0
    flat = a.reshape(-1)
    return int(sum(flat[i:i + block].size -
                   np.count_nonzero(np.isfinite(flat[i:i + block]))
                   for i in range(0, flat.size, block)))


def asarray(value: object) -> np.ndarray[Any, Any]:
    """np.asarray that raises ValueError for ragged nested sequences on every
    NumPy version."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", _RaggedWarning)
        try:
            return np.asarray(value)
        except _RaggedWarning:
            raise ValueError("the nested sequences have different lengths "
                             "(ragged)") from None


def samples(X: object, T: object, n_in: int, n_out: int, dtype: DTypeLike,
            allow_empty: bool = False,
            finite_x: bool = True) -> tuple[FloatArray, FloatArray, bool]:
    """X as (n, n_in) and T as (n, n_out); a 1-D X is one sample.

    Returns (X, T, single) with single True for a 1-D X.  T may be 1-D for a
    single-output network when X is 2-D.  finite_x=False: as array()'s
    finite=False, for X.
    """
    X, single = inputs(X, n_in, dtype, allow_empty=allow_empty,
                       finite=finite_x)
    n = X.shape[0]
    T = array("T", T, dtype)
    if single:
        if T.shape != (n_out,):
            raise ValueError(f"T for a single sample (1-D X) must have shape "
                             f"({n_out},); got shape {T.shape}")
        T = T.reshape(1, n_out)
    elif T.ndim == 1 and n_out == 1:
        T = T.reshape(-1, 1)
    if T.ndim != 2 or T.shape[1] != n_out:
        hint = ""
        if T.ndim == 1 and n_out > 1:
            hint = (" If T holds class labels, use "
                    "pybp.sklearn.MLPClassifier, or one-hot encode with "
                    f"np.eye({n_out})[y].")
        raise ValueError(f"T must have shape (n_samples, {n_out}) for this "
                         f"network's {n_out} outputs; got shape {T.shape}."
                         + hint)
    if T.shape[0] != n:
        raise ValueError(f"X and T must have the same number of samples; X has "
                         f"{n}, T has {T.shape[0]}")
    return X, T, single


def inputs(X: object, n_in: int, dtype: DTypeLike,
           allow_empty: bool = True,
           finite: bool = True) -> tuple[FloatArray, bool]:
    X = array("X", X, dtype, finite)
    single = X.ndim == 1
    if single:
        if X.shape[0] != n_in:
            raise ValueError(f"X as a single sample must have {n_in} values "
                             f"(the network's inputs); got {X.shape[0]}")
        X = X.reshape(1, n_in)
    if X.ndim != 2 or X.shape[1] != n_in:
        raise ValueError(f"X must have shape (n_samples, {n_in}) for this "
                         f"network's {n_in} inputs; got shape {X.shape}")
    if X.shape[0] == 0 and not allow_empty:
        raise ValueError("X has no samples; need at least one")
    return X, single


def sample_weight(value: object, n: int,
                  dtype: DTypeLike) -> FloatArray | None:
    if value is None:
        return None
    sw = array("sample_weight", value, dtype)
    if sw.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},), one weight "
                         f"per sample; got shape {sw.shape}")
    if (sw < 0).any():
        raise ValueError("sample_weight must be non-negative")
    if not sw.any():
        raise ValueError("sample_weight must not be all zero")
    return sw


def targets_for_loss(T: FloatArray, loss: str, name: str = "T") -> None:
    """ValueError unless T suits the loss: binary_cross_entropy needs
    targets in [0, 1]; cross_entropy rows that are probability
    distributions (no negative entry, summing to 1 within 1e-6 plus the
    dtype's rounding).  T: a validated 2-D array."""
    if loss == "binary_cross_entropy":
        bad = np.count_nonzero((T < 0) | (T > 1))
        if bad:
            raise ValueError(f"{name}: loss 'binary_cross_entropy' needs "
                             f"targets in [0, 1]; {bad} value(s) are outside "
                             f"(range {T.min():g} to {T.max():g})")
    elif loss == "cross_entropy" and T.size:
        if (T < 0).any():
            raise ValueError(f"{name}: loss 'cross_entropy' needs each row to "
                             "be a probability distribution; found negative "
                             "entries")
        sums = T.sum(axis=1, dtype=np.float64)
        tol = 1e-6 + T.shape[1] * np.finfo(T.dtype).eps
        off = np.abs(sums - 1.0) > tol
        if off.any():
            row = int(np.argmax(off))
            raise ValueError(f"{name}: loss 'cross_entropy' needs each row to "
                             f"sum to 1 (a probability distribution); "
                             f"{int(off.sum())} row(s) do not, e.g. row {row} "
                             f"sums to {sums[row]:.6g}")


def parameters(params: FloatArray, weights: Sequence[FloatArray],
               biases: Sequence[FloatArray]) -> None:
    """ValueError naming the first layer whose weights or biases are not
    all finite (values can be set element by element, past the checks on
    assignment).  A large flat buffer's sum is the cheap test (NaN and inf
    always reach it; an overflow to inf only sends us to the exact count);
    layers are then counted one at a time, so no full-size temporary."""
    if _core.all_finite(params):    # one C pass (None: not a plain buffer)
        return
    if params.size <= 1 << 16:
        if np.isfinite(params).all():
            return
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            if np.isfinite(np.add.reduce(params)):
                return
    for kind, views in (("weights", weights), ("biases", biases)):
        for l, view in enumerate(views):
            bad = _count_nonfinite(view)
            if bad:
                raise ValueError(f"layer {l} {kind}: parameters are not "
                                 f"finite ({bad} NaN or infinite value(s)); "
                                 "set them to finite values, e.g. "
                                 f"net.{kind}[{l}][...] = "
                                 f"np.nan_to_num(net.{kind}[{l}])")
