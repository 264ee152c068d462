"""pybp's model file: a network as a plain safetensors file.

Tensors ``layers.{l}.weight`` (n_out, n_in) and, with biases,
``layers.{l}.bias``; the architecture in ``__metadata__`` (format,
format_version, sizes, activations, bias), and the caller's own metadata
under keys ``user.<name>`` (JSON values).  Also the bytes behind pickle and
copy (``_reduce``/``_from_bytes``).
"""
from __future__ import annotations

import io as _io
import json
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pybp import _validate
from pybp.errors import FormatError
from pybp.io._files import MAX_NUMBER_CHARS, show
from pybp.io.safetensors import (ST_CODES, read_header, read_safetensors_full,
                                 strict_json, write_safetensors)
from pybp.network import Network

if TYPE_CHECKING:
    from pybp._typing import JSON, FloatArray, Source, Target
    from pybp.io.safetensors import Entry

FORMAT: str = "pybp"
FORMAT_VERSION: str = "1"
# The prefix of the caller's metadata keys in __metadata__; pybp's own keys
# never start with it.
USER_PREFIX = "user."
NET_DTYPES = {"F64": "float64", "F32": "float32"}


def check_net(net: object) -> None:
    """TypeError unless net is a pybp.Network."""
    if not isinstance(net, Network):
        raise TypeError(f"expected a pybp.Network; got {type(net).__name__}")


def network_tensors(net: Network
                    ) -> tuple[dict[str, FloatArray], dict[str, str]]:
    """(tensors, metadata) describing a network; the file's content."""
    tensors = {}
    for l, W in enumerate(net.weights):
        tensors[f"layers.{l}.weight"] = W
        if net.bias:
            tensors[f"layers.{l}.bias"] = net.biases[l]
    metadata = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sizes": json.dumps(list(net.sizes)),
        "activations": json.dumps(list(net.activations)),
        "bias": json.dumps(bool(net.bias)),
    }
    return tensors, metadata


# ---------------------------------------------------------------------------
# The caller's metadata
# ---------------------------------------------------------------------------

def _check_json_value(value, where, depth=0):
    """TypeError unless value is JSON that round-trips: None, bool, int,
    finite float, str, list/tuple of those, dict with str keys."""
    if depth > 64:
        raise TypeError(f"metadata {where} is nested more than 64 deep")
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, int):
        if len(str(value)) > MAX_NUMBER_CHARS:
            raise TypeError(f"metadata {where}: integer {show(value)} is "
                            f"longer than {MAX_NUMBER_CHARS} characters")
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"metadata {where} is {value!r}, which is not "
                            "JSON (use a finite number or None)")
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_json_value(v, f"{where}[{i}]", depth + 1)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"metadata {where} has the key {show(k)}; "
                                "JSON object keys must be str")
            _check_json_value(v, f"{where}[{k!r}]", depth + 1)
        return
    hint = " (use .tolist())" if isinstance(value, np.ndarray) else ""
    raise TypeError(f"metadata {where} is a {type(value).__name__}, which is "
                    "not JSON: expected None, bool, int, float, str, list or "
                    f"dict{hint}")


def encode_user_metadata(metadata: Mapping[str, JSON] | None
                         ) -> dict[str, str]:
    """The __metadata__ entries for the caller's dict of str -> JSON."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise TypeError("metadata must be a dict of str -> JSON-able value; "
                        f"got {type(metadata).__name__}")
    out = {}
    for key, value in metadata.items():
        if not isinstance(key, str):
            raise TypeError(f"metadata keys must be str; got {show(key)}")
        _check_json_value(value, repr(key))
        out[USER_PREFIX + key] = json.dumps(value, allow_nan=False,
                                            ensure_ascii=True)
    return out


def decode_user_metadata(metadata: Mapping[str, str] | None
                         ) -> dict[str, JSON]:
    """The caller's dict back from a file's __metadata__ ({} when none)."""
    out = {}
    for key, text in (metadata or {}).items():
        if key.startswith(USER_PREFIX):
            out[key[len(USER_PREFIX):]] = strict_json(
                text, f"__metadata__ {show(key)}")
    return out


# ---------------------------------------------------------------------------
# The architecture in __metadata__
# ---------------------------------------------------------------------------

def json_field(metadata: Any, key: str) -> JSON:
    """metadata[key] parsed as strict JSON; FormatError if absent or bad."""
    if key not in metadata:
        raise FormatError(f"__metadata__ has no {key!r}")
    return strict_json(metadata[key], f"__metadata__ {key!r}")


def architecture(metadata: Mapping[str, str] | None
                 ) -> tuple[tuple[int, ...], tuple[str, ...], bool]:
    """(sizes, activations, bias) from a file's metadata, validated."""
    if metadata is None:
        raise FormatError("file has no __metadata__; not a pybp model (use "
                          "pybp.io.read_safetensors for plain tensor files)")
    fmt = metadata.get("format")
    if fmt != FORMAT:
        raise FormatError(f"__metadata__ format is {show(fmt)}, expected "
                          f"{FORMAT!r}; not a pybp model file")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise FormatError(f"unsupported format_version {show(version)}; this "
                          f"pybp reads version {FORMAT_VERSION}")
    sizes = json_field(metadata, "sizes")
    if not isinstance(sizes, list):
        raise FormatError(f"__metadata__ sizes must be a JSON list of layer "
                          f"widths; got {show(sizes)}")
    try:
        sizes = _validate.sizes(sizes)
    except (TypeError, ValueError, OverflowError) as exc:
        raise FormatError(f"__metadata__ sizes: {exc}") from None
    acts = json_field(metadata, "activations")
    if not isinstance(acts, list) or not all(isinstance(a, str) for a in acts):
        raise FormatError("__metadata__ activations must be a JSON list of "
                          f"names; got {show(acts)}")
    try:
        acts = _validate.activations(acts, None, len(sizes) - 1)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"__metadata__ activations: {exc}") from None
    bias = json_field(metadata, "bias")
    if not isinstance(bias, bool):
        raise FormatError(f"__metadata__ bias must be true or false; got "
                          f"{show(metadata['bias'])}")
    return sizes, acts, bias


def check_network_entries(entries, metadata):
    """Validate a pybp file's header before its data is read: returns
    (sizes, activations, bias, dtype name)."""
    sizes, acts, bias = architecture(metadata)
    expected = {}
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        expected[f"layers.{l}.weight"] = (n_out, n_in)
        if bias:
            expected[f"layers.{l}.bias"] = (n_out,)
    found = {name: (code, shape) for name, code, shape, _, _ in entries}
    missing = [name for name in expected if name not in found]
    if missing:
        raise FormatError(f"missing tensor(s) {', '.join(missing[:5])} for "
                          f"sizes {list(sizes)} with bias={bias}")
    extra = sorted(name for name in found if name not in expected)
    if extra:
        raise FormatError(f"unexpected tensor(s) "
                          f"{', '.join(map(show, extra[:5]))} for sizes "
                          f"{list(sizes)} with bias={bias}")
    codes = set()
    for name, shape in expected.items():
        code, got = found[name]
        if got != shape:
            raise FormatError(f"tensor {name} has shape {list(got)}; sizes "
                              f"{list(sizes)} need {list(shape)}")
        if code not in NET_DTYPES:
            raise FormatError(f"tensor {name} has dtype {code}; a network's "
                              "tensors must be F64 or F32")
        codes.add(code)
    if len(codes) != 1:
        raise FormatError("a network's tensors must all have one dtype; "
                          f"found {', '.join(sorted(codes))}")
    return sizes, acts, bias, NET_DTYPES[codes.pop()]


def build(sizes: Sequence[int], acts: Sequence[str], bias: bool, dtype: str,
          weights: Sequence[Any], biases: Sequence[Any],
          backend: str = "c") -> Network:
    """A Network with exactly these parameters (no random draws)."""
    net = Network._empty(sizes, acts, bias, dtype, backend)
    for view, W in zip(net.weights, weights):
        view[...] = W
    for view, b in zip(net.biases, biases):
        view[...] = b
    return net


def network_from_tensors(tensors: Mapping[str, np.ndarray[Any, Any]],
                         metadata: Mapping[str, str] | None, *,
                         finite: bool = True, backend: str = "c") -> Network:
    """A Network from (tensors, metadata) as read_safetensors returns them.

    `tensors` must hold exactly the network's tensors (drop others, e.g.
    optimizer state, before calling)."""
    entries = [(name, ST_CODES.get((a.dtype.kind, a.dtype.itemsize)),
                tuple(a.shape), 0, 0) for name, a in tensors.items()]
    sizes, acts, bias, dtype = check_network_entries(entries, metadata)
    if finite:
        for name, a in tensors.items():
            if not np.isfinite(a).all():
                raise FormatError(f"tensor {name} contains NaN or infinite "
                                  "values")
    n = len(sizes) - 1
    weights = [tensors[f"layers.{l}.weight"] for l in range(n)]
    biases = [tensors[f"layers.{l}.bias"] for l in range(n)] if bias else []
    return build(sizes, acts, bias, dtype, weights, biases, backend)


# ---------------------------------------------------------------------------
# Public: save, load, bytes, metadata
# ---------------------------------------------------------------------------

def save(net: Network, file: Target, *,
         metadata: Mapping[str, JSON] | None = None) -> None:
    """Save a network as a safetensors file (pybp format version 1).

    file: a path (str or os.PathLike), replaced atomically, or a binary file
    object.  Tensors ``layers.{l}.weight`` (n_out, n_in) and, with biases,
    ``layers.{l}.bias``; the architecture is in ``__metadata__``.  The dtype
    is kept and the parameters are stored bit for bit.

    metadata: an optional dict of str -> JSON value (None, bool, int, float,
    str, lists and str-keyed dicts of them; tuples come back as lists), read
    back by ``load_metadata``.  Non-str keys or non-JSON values: TypeError.
    """
    check_net(net)
    user = encode_user_metadata(metadata)
    if not np.isfinite(net.params).all():
        raise ValueError("the network has NaN or infinite parameters; "
                         "refusing to save a file that cannot be loaded")
    tensors, meta = network_tensors(net)
    meta.update(user)
    write_safetensors(file, tensors, meta)


def load(file: Source) -> Network:
    """Load a network saved by ``save`` (``net.save``).

    file: a path or a binary file object.  Raises FormatError (a ValueError)
    for anything malformed and OSError if the file cannot be read.
    """
    return load_network(file)


def load_metadata(file: Source) -> dict[str, JSON]:
    """The metadata dict given to ``save`` ({} when none), from a pybp model
    file or checkpoint.  The header is validated as by ``load``; the tensor
    data is not read.  Raises FormatError for anything malformed."""
    def check(entries, metadata):
        architecture(metadata)
    _, metadata = read_header(file, check)
    return decode_user_metadata(metadata)


def load_network(file: Source, finite: bool = True,
                 backend: str = "c") -> Network:
    """load, with the choice to keep non-finite parameters and a backend."""
    # The architecture and the tensor shapes are checked against each other
    # before the tensor data is read.
    tensors, metadata, _ = read_safetensors_full(file, check_network_entries)
    return network_from_tensors(tensors, metadata, finite=finite,
                                backend=backend)


def to_bytes(net: Network) -> bytes:
    """The bytes ``save`` would write (non-finite parameters included)."""
    check_net(net)
    tensors, metadata = network_tensors(net)
    buf = _io.BytesIO()
    write_safetensors(buf, tensors, metadata)
    return buf.getvalue()


def from_bytes(data: bytes | bytearray | memoryview,
               backend: str = "c") -> Network:
    """A network from the bytes of a pybp safetensors file."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes; got {type(data).__name__}")
    return load_network(data, backend=backend)


def _from_bytes(data: bytes | bytearray | memoryview,
                backend: str = "c") -> Network:
    """Unpickling: like from_bytes, but keeps non-finite parameters (a
    pickle or deepcopy reproduces the object as it was)."""
    return load_network(bytes(data), finite=False, backend=backend)


# Pickles name this function pybp.io._from_bytes, as before the split.
_from_bytes.__module__ = "pybp.io"


def _reduce(net: Network) -> tuple[Any, ...]:
    """Network.__reduce__: pickle and copy go through the safetensors bytes."""
    return (_from_bytes, (to_bytes(net), net.backend))
