"""Networks as JSON-able dicts (``Network.to_dict``/``from_dict``).

Pickle and copy go through the model file's bytes instead (model._reduce).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from pybp import _validate
from pybp.errors import FormatError
from pybp.io._files import show
from pybp.io.model import FORMAT, FORMAT_VERSION, build, check_net

if TYPE_CHECKING:
    from pybp._typing import JSON, FloatArray
    from pybp.network import Network

DICT_KEYS = ("format", "format_version", "sizes", "activations", "bias",
             "dtype", "weights", "biases")


def to_dict(net: Network) -> dict[str, JSON]:
    """A JSON-able dict: format, format_version, sizes, activations, bias,
    dtype, weights (nested lists, (n_out, n_in) per layer) and biases.
    ``json.dumps``/``json.loads`` and ``from_dict`` give the exact network
    back (Python's float repr round-trips every float64)."""
    check_net(net)
    return {
        "format": FORMAT,
        "format_version": int(FORMAT_VERSION),
        "sizes": list(net.sizes),
        "activations": list(net.activations),
        "bias": bool(net.bias),
        "dtype": net.dtype.name,
        "weights": [W.tolist() for W in net.weights],
        "biases": [b.tolist() for b in net.biases],
    }


def _dict_array(name: str, value: object, shape: tuple[int, ...],
                dtype: str) -> FloatArray:
    if isinstance(value, (str, bytes)) or not isinstance(
            value, (list, tuple, np.ndarray)):
        raise FormatError(f"{name} must be a (nested) list of numbers; got "
                          f"{type(value).__name__} {show(value)}")
    try:
        a = _validate.asarray(value)
    except (ValueError, TypeError, OverflowError) as exc:
        raise FormatError(f"{name} is not a rectangular array of numbers: "
                          f"{exc}") from None
    if a.shape != shape:
        raise FormatError(f"{name} must have shape {list(shape)}; got "
                          f"{list(a.shape)}")
    if a.dtype.kind not in "iuf":
        raise FormatError(f"{name} must hold real numbers; got values of "
                          f"dtype {a.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):
        a = a.astype(dtype)
    if not np.isfinite(a).all():
        raise FormatError(f"{name} contains NaN or infinite values (or values "
                          f"too large for {dtype})")
    return a


def from_dict(d: Mapping[str, JSON], backend: str = "c") -> Network:
    """The network described by a dict from ``to_dict`` (validated)."""
    if not isinstance(d, Mapping):
        raise TypeError("from_dict needs a dict as made by Network.to_dict; "
                        f"got {type(d).__name__}")
    unknown = [k for k in d if k not in DICT_KEYS]
    if unknown:
        raise FormatError(f"unknown key(s) {', '.join(map(show, unknown[:5]))}"
                          f"; expected {', '.join(DICT_KEYS)}")
    for key in ("sizes", "activations", "bias", "dtype", "weights"):
        if key not in d:
            raise FormatError(f"the dict has no {key!r}")
    if "format" in d and d["format"] != FORMAT:
        raise FormatError(f"format is {show(d['format'])}, expected "
                          f"{FORMAT!r}")
    if "format_version" in d and d["format_version"] not in (
            int(FORMAT_VERSION), FORMAT_VERSION):
        raise FormatError(f"unsupported format_version "
                          f"{show(d['format_version'])}; this pybp reads "
                          f"version {FORMAT_VERSION}")
    try:
        sizes = _validate.sizes(d["sizes"])
        acts = _validate.activations(d["activations"], None, len(sizes) - 1)
        bias = _validate.flag("bias", d["bias"])
        dtype = _validate.choice("dtype", d["dtype"], _validate.DTYPES)
    except (TypeError, ValueError) as exc:
        raise FormatError(str(exc)) from None
    n = len(sizes) - 1
    weights, biases = d["weights"], d.get("biases", [])
    for key, value, count in (("weights", weights, n),
                              ("biases", biases, n if bias else 0)):
        if not isinstance(value, (list, tuple)) or len(value) != count:
            raise FormatError(f"{key} must be a list of {count} layer(s); got "
                              f"{show(value)}")
    weights = [_dict_array(f"weights[{l}]", weights[l], (o, i), dtype)
               for l, (i, o) in enumerate(zip(sizes[:-1], sizes[1:]))]
    biases = [_dict_array(f"biases[{l}]", biases[l], (o,), dtype)
              for l, o in enumerate(sizes[1:])] if bias else []
    return build(sizes, acts, bias, dtype, weights, biases, backend)
