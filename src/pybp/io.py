"""Saving and loading networks.

pybp's own format is a plain safetensors file (see docs/serialization.md):

    >>> net.save("model.safetensors")            # or pybp.io.save(net, path)
    >>> net = pybp.load("model.safetensors")

Under it lies a general tensor layer, ``write_safetensors(file, tensors,
metadata)`` and ``read_safetensors(file) -> (tensors, metadata)``, for any
dict of named arrays (optimizer state can ride along as extra tensors).

Also here: ``to_dict``/``from_dict`` (JSON-able dicts), FANN 2.2 ``.net`` files
(``load_fann``, ``save_fann``), FANN training-data files
(``load_fann_data``, ``save_fann_data``) and ONNX export (``export_onnx``,
needs the optional ``onnx`` package).

Reading never executes code: every reader checks the whole structure of a file
before it allocates anything whose size the file claims, and any malformed
input raises ``pybp.FormatError`` (a ValueError) saying what is wrong.  A
missing or unreadable file raises the usual OSError.  Writers replace their
target atomically: a reader sees the old file or the new one, never a part.
"""
import io as _io
import json
import math
import os
import re
import stat
import struct
import tempfile
import warnings
from collections.abc import Mapping

import numpy as np

from pybp import _validate
from pybp.errors import FormatError
from pybp.network import Network

__all__ = [
    "save", "load", "load_metadata", "to_bytes", "from_bytes", "to_dict", "from_dict",
    "write_safetensors", "read_safetensors",
    "load_fann", "save_fann", "load_fann_data", "save_fann_data",
    "export_onnx", "save_checkpoint", "load_checkpoint", "FormatError",
    "FORMAT", "FORMAT_VERSION",
]

FORMAT = "pybp"
FORMAT_VERSION = "1"

# The largest JSON header we accept (the safetensors library's own cap).
MAX_HEADER_BYTES = 100 * 1024 * 1024
# Most dimensions a tensor may have.
MAX_NDIM = 32
# Reads of sizes a file claims go in pieces of this size, so that a false
# claim costs no memory beyond the bytes that are really there.
_CHUNK = 1 << 20

# safetensors dtype strings and the little-endian numpy types they name.
_ST_DTYPES = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U64": np.dtype("<u8"), "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
_ST_CODES = {(dt.kind, dt.itemsize): code for code, dt in _ST_DTYPES.items()}
_NET_DTYPES = {"F64": "float64", "F32": "float32"}


def _show(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------
# Files: paths, file objects, atomic replacement
# ---------------------------------------------------------------------------

def _is_stream(target, method):
    return not isinstance(target, (str, bytes, os.PathLike)) and hasattr(
        target, method)


def _path(target, what):
    try:
        return os.fsdecode(os.fspath(target))
    except TypeError:
        raise TypeError(f"{what} must be a path (str or os.PathLike) or a "
                        f"binary file object; got {type(target).__name__} "
                        f"{_show(target)}") from None


def _umask():
    """The process umask, read without changing it (Linux); else 0o022."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def _fsync_dir(directory):
    """Make a rename in `directory` durable (POSIX; best effort)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _atomic_write(path, write):
    """Call write(f) on a temporary file beside `path`, then move it over
    `path` in one step (os.replace).  On any error the temporary file is
    removed and `path` is left as it was."""
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)[:64]
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()
    except OSError:
        mode = None
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp",
                               dir=directory)
    try:
        with open(fd, "wb", closefd=True) as f:
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(directory)


def _write_to(target, write, what="file"):
    """Write through write(f) to a path (atomically) or a binary stream."""
    if _is_stream(target, "write"):
        write(target)
    else:
        _atomic_write(_path(target, what), write)


def _read_exact(f, n, what, exact=True):
    """n bytes from f, read in pieces; FormatError if fewer are there (or,
    with exact=False, what there is)."""
    buf = bytearray()
    while len(buf) < n:
        piece = f.read(min(_CHUNK, n - len(buf)))
        if not piece:
            break
        buf += piece
    if exact and len(buf) < n:
        raise FormatError(f"file is truncated: {what} needs {n} bytes, only "
                          f"{len(buf)} are there")
    return buf


# ---------------------------------------------------------------------------
# safetensors: the general tensor layer
# ---------------------------------------------------------------------------

def _encode_tensors(tensors, metadata):
    """(header bytes with its length prefix, [contiguous LE arrays])."""
    if not isinstance(tensors, Mapping):
        raise TypeError("tensors must be a dict of name -> array; got "
                        f"{type(tensors).__name__}")
    header, arrays, offset = {}, [], 0
    if metadata is not None:
        if not isinstance(metadata, Mapping) or not all(
                isinstance(k, str) and isinstance(v, str)
                for k, v in metadata.items()):
            raise TypeError("metadata must be a dict of str -> str (the "
                            "safetensors __metadata__); got "
                            f"{_show(metadata)}")
        header["__metadata__"] = dict(metadata)
    for name, value in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError(f"tensor names must be strings other than "
                             f"'__metadata__'; got {_show(name)}")
        a = np.asarray(value)
        code = _ST_CODES.get((a.dtype.kind, a.dtype.itemsize))
        if code is None:
            raise TypeError(f"tensor {name!r} has dtype {a.dtype}, which "
                            "safetensors cannot store here; use one of "
                            "float64/32/16, (u)int64/32/16/8, bool")
        a = np.asarray(a, dtype=_ST_DTYPES[code], order="C")
        header[name] = {"dtype": code, "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        arrays.append(a)
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=True)
    raw = text.encode("ascii")
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw, arrays


def write_safetensors(file, tensors, metadata=None):
    """Write a dict of named arrays as a safetensors file.

    file: a path (str or os.PathLike; replaced atomically) or a binary file
    object.  tensors: name -> array (float64/32/16, (u)int64..8 or bool),
    stored little-endian, C order, in the dict's order.  metadata: optional
    dict of str -> str, stored as the header's ``__metadata__``.
    """
    prefix, arrays = _encode_tensors(tensors, metadata)

    def write(f):
        f.write(prefix)
        for a in arrays:
            if a.nbytes:
                f.write(memoryview(a.reshape(-1)).cast("B"))

    _write_to(file, write)


def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise FormatError(f"header has the key {_show(key)} twice")
        out[key] = value
    return out


def _no_constants(name):
    raise FormatError(f"header contains {name}, which is not JSON")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_header(raw):
    """The header's entries as [(name, dtype code, shape, begin, end)] and
    its metadata dict (or None)."""
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"header is not valid UTF-8: {exc}") from None
    try:
        header = json.loads(text, object_pairs_hook=_no_duplicates,
                            parse_constant=_no_constants)
    except FormatError:
        raise
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"header is not valid JSON: {exc}") from None
    if not isinstance(header, dict):
        raise FormatError("header must be a JSON object (name -> tensor); "
                          f"got a JSON {type(header).__name__}")
    metadata = header.pop("__metadata__", None)
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise FormatError("__metadata__ must be an object of string "
                              f"values; got a JSON {type(metadata).__name__}")
        for key, value in metadata.items():
            if not isinstance(value, str):
                raise FormatError(f"__metadata__[{_show(key)}] must be a "
                                  f"string; got {_show(value)}")
    entries = []
    for name, info in header.items():
        where = f"tensor {_show(name)}"
        if not isinstance(info, dict):
            raise FormatError(f"{where}: entry must be an object with dtype, "
                              f"shape and data_offsets; got {_show(info)}")
        keys = set(info)
        if keys != {"dtype", "shape", "data_offsets"}:
            missing = {"dtype", "shape", "data_offsets"} - keys
            extra = keys - {"dtype", "shape", "data_offsets"}
            raise FormatError(f"{where}: entry must have exactly dtype, shape "
                              f"and data_offsets (missing {sorted(missing)}, "
                              f"unknown {sorted(extra)[:5]})")
        dtype = info["dtype"]
        if not isinstance(dtype, str) or dtype not in _ST_DTYPES:
            raise FormatError(f"{where}: unknown dtype {_show(dtype)}; pybp "
                              f"reads {', '.join(_ST_DTYPES)}")
        shape = info["shape"]
        if not isinstance(shape, list) or not all(
                _is_int(d) and d >= 0 for d in shape):
            raise FormatError(f"{where}: shape must be a list of "
                              f"non-negative integers; got {_show(shape)}")
        if len(shape) > MAX_NDIM:
            raise FormatError(f"{where}: shape has {len(shape)} dimensions; "
                              f"at most {MAX_NDIM} are supported")
        if math.prod(max(d, 1) for d in shape) >= 2**62:
            raise FormatError(f"{where}: shape {_show(shape)} is too large "
                              "for an array")
        offsets = info["data_offsets"]
        if not (isinstance(offsets, list) and len(offsets) == 2 and
                all(_is_int(o) and o >= 0 for o in offsets)):
            raise FormatError(f"{where}: data_offsets must be two "
                              f"non-negative integers [begin, end]; got "
                              f"{_show(offsets)}")
        begin, end = offsets
        if begin > end:
            raise FormatError(f"{where}: data_offsets begin {begin} is after "
                              f"end {end}")
        nbytes = math.prod(shape) * _ST_DTYPES[dtype].itemsize
        if end - begin != nbytes:
            raise FormatError(f"{where}: shape {shape} of {dtype} needs "
                              f"{nbytes} bytes but data_offsets span "
                              f"{end - begin}")
        entries.append((name, dtype, tuple(shape), begin, end))
    return entries, metadata


def _check_tiling(entries, data_len):
    """The tensors must cover the data buffer exactly: no gap, no overlap,
    nothing outside, nothing left over."""
    for name, _, _, begin, end in entries:
        if end > data_len:
            raise FormatError(f"tensor {_show(name)}: data_offsets [{begin}, "
                              f"{end}] run past the end of the data "
                              f"({data_len} bytes)")
    pos, prev = 0, None
    for name, _, _, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):
        if begin < pos:
            raise FormatError(f"tensors {_show(prev)} and {_show(name)} "
                              f"overlap (byte {begin} < {pos})")
        if begin > pos:
            raise FormatError(f"gap in the tensor data: bytes {pos} to "
                              f"{begin} belong to no tensor (before "
                              f"{_show(name)})")
        pos, prev = end, name
    if pos != data_len:
        raise FormatError(f"the tensors cover {pos} bytes but the file has "
                          f"{data_len} bytes of tensor data")


def _read_safetensors(source, check=None):
    """Parse a safetensors file from a path, bytes or a binary stream.

    check(entries, metadata), if given, runs after the header is validated
    and before the tensor data is read.  Returns (tensors, metadata, entries).
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = memoryview(source).cast("B")
        return _read_stream(_io.BytesIO(data), len(data), check)
    if _is_stream(source, "read"):
        return _read_stream(source, None, check)
    path = _path(source, "file")
    with open(path, "rb") as f:
        return _read_stream(f, os.fstat(f.fileno()).st_size, check)


def _read_stream(f, size, check):
    if size is not None and size < 8:
        raise FormatError(f"file is {size} bytes long, too short for a "
                          "safetensors file (8-byte header length first)")
    head = _read_exact(f, 8, "the header length", exact=False)
    if len(head) < 8:
        raise FormatError(f"file is {len(head)} bytes long, too short for a "
                          "safetensors file (8-byte header length first)")
    (n,) = struct.unpack("<Q", bytes(head))
    if n > MAX_HEADER_BYTES:
        raise FormatError(f"header length {n} is larger than the limit of "
                          f"{MAX_HEADER_BYTES} bytes; not a safetensors file?")
    if size is not None and n > size - 8:
        raise FormatError(f"header length {n} is larger than the "
                          f"{size - 8} bytes that follow it")
    entries, metadata = _parse_header(_read_exact(f, n, "the header"))
    data_len = None if size is None else size - 8 - n
    if data_len is None:
        # A stream of unknown length: the header says how much data follows.
        data_len = max((e[4] for e in entries), default=0)
    _check_tiling(entries, data_len)
    if check is not None:
        check(entries, metadata)
    data = _read_exact(f, data_len, "the tensor data")
    if size is None and f.read(1):
        raise FormatError("unexpected bytes after the last tensor")
    tensors = {}
    for name, code, shape, begin, end in entries:
        dt = _ST_DTYPES[code]
        a = np.frombuffer(data, dtype=dt, count=(end - begin) // dt.itemsize,
                          offset=begin).reshape(shape)
        if code == "BOOL" and a.size and a.view(np.uint8).max() > 1:
            raise FormatError(f"tensor {_show(name)}: BOOL values must be 0 "
                              "or 1")
        if not a.dtype.isnative:
            a = a.astype(a.dtype.newbyteorder("="))
        tensors[name] = a
    return tensors, metadata, entries


def read_safetensors(file):
    """Read a safetensors file: (tensors, metadata).

    file: a path, a binary file object, or bytes.  tensors maps each name to
    a numpy array (writable, native byte order); metadata is the header's
    ``__metadata__`` dict (str -> str), or None when the file has none.
    Raises FormatError for anything malformed.
    """
    tensors, metadata, _ = _read_safetensors(file)
    return tensors, metadata


# ---------------------------------------------------------------------------
# Networks in safetensors
# ---------------------------------------------------------------------------

def _network_tensors(net):
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


def _json_field(metadata, key):
    if key not in metadata:
        raise FormatError(f"__metadata__ has no {key!r}")
    try:
        return json.loads(metadata[key])
    except (ValueError, RecursionError):
        raise FormatError(f"__metadata__ {key!r} is not valid JSON: "
                          f"{_show(metadata[key])}") from None


def _architecture(metadata):
    """(sizes, activations, bias) from a file's metadata, validated."""
    if metadata is None:
        raise FormatError("file has no __metadata__; not a pybp model (use "
                          "pybp.io.read_safetensors for plain tensor files)")
    fmt = metadata.get("format")
    if fmt != FORMAT:
        raise FormatError(f"__metadata__ format is {_show(fmt)}, expected "
                          f"{FORMAT!r}; not a pybp model file")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise FormatError(f"unsupported format_version {_show(version)}; this "
                          f"pybp reads version {FORMAT_VERSION}")
    sizes = _json_field(metadata, "sizes")
    if not isinstance(sizes, list):
        raise FormatError(f"__metadata__ sizes must be a JSON list of layer "
                          f"widths; got {_show(sizes)}")
    try:
        sizes = _validate.sizes(sizes)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"__metadata__ sizes: {exc}") from None
    acts = _json_field(metadata, "activations")
    if not isinstance(acts, list) or not all(isinstance(a, str) for a in acts):
        raise FormatError("__metadata__ activations must be a JSON list of "
                          f"names; got {_show(acts)}")
    try:
        acts = _validate.activations(acts, None, len(sizes) - 1)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"__metadata__ activations: {exc}") from None
    bias = _json_field(metadata, "bias")
    if not isinstance(bias, bool):
        raise FormatError(f"__metadata__ bias must be true or false; got "
                          f"{_show(metadata['bias'])}")
    return sizes, acts, bias


def _check_network_entries(entries, metadata):
    """Validate a pybp file's header before its data is read: returns
    (sizes, activations, bias, dtype name)."""
    sizes, acts, bias = _architecture(metadata)
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
        raise FormatError(f"unexpected tensor(s) {', '.join(map(_show, extra[:5]))} "
                          f"for sizes {list(sizes)} with bias={bias}")
    codes = set()
    for name, shape in expected.items():
        code, got = found[name]
        if got != shape:
            raise FormatError(f"tensor {name} has shape {list(got)}; sizes "
                              f"{list(sizes)} need {list(shape)}")
        if code not in _NET_DTYPES:
            raise FormatError(f"tensor {name} has dtype {code}; a network's "
                              "tensors must be F64 or F32")
        codes.add(code)
    if len(codes) != 1:
        raise FormatError("a network's tensors must all have one dtype; "
                          f"found {', '.join(sorted(codes))}")
    return sizes, acts, bias, _NET_DTYPES[codes.pop()]


def _build(sizes, acts, bias, dtype, weights, biases, backend="c"):
    net = Network._empty(sizes, acts, bias, dtype, backend)
    for view, W in zip(net.weights, weights):
        view[...] = W
    for view, b in zip(net.biases, biases):
        view[...] = b
    return net


def _network_from_tensors(tensors, metadata, *, finite=True, backend="c"):
    """A Network from (tensors, metadata) as read_safetensors returns them.

    `tensors` must hold exactly the network's tensors (drop others, e.g.
    optimizer state, before calling)."""
    entries = [(name, _ST_CODES.get((a.dtype.kind, a.dtype.itemsize)),
                tuple(a.shape), 0, 0) for name, a in tensors.items()]
    sizes, acts, bias, dtype = _check_network_entries(entries, metadata)
    if finite:
        for name, a in tensors.items():
            if not np.isfinite(a).all():
                raise FormatError(f"tensor {name} contains NaN or infinite "
                                  "values")
    n = len(sizes) - 1
    weights = [tensors[f"layers.{l}.weight"] for l in range(n)]
    biases = [tensors[f"layers.{l}.bias"] for l in range(n)] if bias else []
    return _build(sizes, acts, bias, dtype, weights, biases, backend)


_USER_KEY = "pybp.user"


def save(net, file, *, metadata=None):
    """Save a network as a safetensors file (pybp format version 1).

    file: a path (str or os.PathLike), replaced atomically, or a binary file
    object.  Tensors ``layers.{l}.weight`` (n_out, n_in) and, with biases,
    ``layers.{l}.bias``; the architecture is in ``__metadata__``.  The dtype
    is kept and the parameters are stored bit for bit.  metadata: an optional
    dict of str -> JSON-able value, kept in the header (``load_metadata``).
    """
    _check_net(net)
    if not np.isfinite(net.params).all():
        raise ValueError("the network has NaN or infinite parameters; "
                         "refusing to save a file that cannot be loaded")
    tensors, header = _network_tensors(net)
    if metadata is not None:
        if not isinstance(metadata, Mapping) or not all(
                isinstance(k, str) for k in metadata):
            raise TypeError("metadata must be a dict with str keys; got "
                            f"{_show(metadata)}")
        header[_USER_KEY] = json.dumps(dict(metadata), allow_nan=False)
    write_safetensors(file, tensors, header)


def load_metadata(file):
    """The metadata dict given to ``save`` ({} when there was none)."""
    _, metadata = read_safetensors(file)
    if not metadata or _USER_KEY not in metadata:
        return {}
    value = _json_field(metadata, _USER_KEY)
    if not isinstance(value, dict):
        raise FormatError(f"__metadata__ {_USER_KEY!r} is not a JSON object")
    return value


def load(file):
    """Load a network saved by ``save`` (``net.save``).

    file: a path or a binary file object.  Raises FormatError (a ValueError)
    for anything malformed and OSError if the file cannot be read.
    """
    return _load(file)


def _load(file, finite=True, backend="c"):
    # The architecture and the tensor shapes are checked against each other
    # before the tensor data is read.
    tensors, metadata, _ = _read_safetensors(file, _check_network_entries)
    return _network_from_tensors(tensors, metadata, finite=finite,
                                 backend=backend)


def _check_net(net):
    if not isinstance(net, Network):
        raise TypeError(f"expected a pybp.Network; got {type(net).__name__}")


def to_bytes(net):
    """The bytes ``save`` would write (non-finite parameters included)."""
    _check_net(net)
    tensors, metadata = _network_tensors(net)
    buf = _io.BytesIO()
    write_safetensors(buf, tensors, metadata)
    return buf.getvalue()


def from_bytes(data, backend="c"):
    """A network from the bytes of a pybp safetensors file."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes; got {type(data).__name__}")
    return _load(data, backend=backend)


def _from_bytes(data, backend="c"):
    """Unpickling: like from_bytes, but keeps non-finite parameters (a
    pickle or deepcopy reproduces the object as it was)."""
    return _load(bytes(data), finite=False, backend=backend)


def _reduce(net):
    """Network.__reduce__: pickle and copy go through the safetensors bytes."""
    return (_from_bytes, (to_bytes(net), net.backend))


# ---------------------------------------------------------------------------
# Training checkpoints: a network plus a Trainer's state
# ---------------------------------------------------------------------------

_STATE_TENSOR = "trainer.optimizer_state"


def save_checkpoint(trainer, net, file):
    """Save net and trainer so that training resumes exactly: the network's
    tensors, the optimizer state as tensor ``trainer.optimizer_state``
    (slots x n_params), and in ``__metadata__`` key ``trainer`` the options,
    the optimizer and its schedule, the step/epoch/sample counters and the
    shuffling random stream.  Callbacks are not saved.  Atomic like save()."""
    from pybp.train import Trainer
    _check_net(net)
    if not isinstance(trainer, Trainer):
        raise TypeError(f"expected a pybp.Trainer; got {type(trainer).__name__}")
    tensors, metadata = _network_tensors(net)
    state = trainer._state_for(net, trainer.optimizer.hyper())
    slots = state.size // max(net.n_params, 1) if net.n_params else 0
    tensors[_STATE_TENSOR] = state.reshape(slots, net.n_params)
    metadata["trainer"] = json.dumps(trainer._checkpoint_config())
    write_safetensors(file, tensors, metadata)


def load_checkpoint(file):
    """(trainer, net) from a file written by save_checkpoint."""
    from pybp.train import Trainer

    def check(entries, metadata):
        _check_network_entries(
            [e for e in entries if e[0] != _STATE_TENSOR], metadata)
        if _STATE_TENSOR not in {e[0] for e in entries}:
            raise FormatError(f"no tensor {_STATE_TENSOR}; not a pybp "
                              "training checkpoint")

    tensors, metadata, _ = _read_safetensors(file, check)
    state = tensors.pop(_STATE_TENSOR)
    net = _network_from_tensors(tensors, metadata)
    config = _json_field(metadata, "trainer")
    try:
        trainer = Trainer._from_checkpoint_config(config)
        expected = (_pycore_slots(trainer), net.n_params)
        if state.shape != expected:
            raise ValueError(f"optimizer state has shape {list(state.shape)}; "
                             f"{trainer.optimizer!r} on {net.n_params} "
                             f"parameters needs {list(expected)}")
        if state.dtype != net.dtype:
            raise ValueError(f"optimizer state is {state.dtype}; the network "
                             f"is {net.dtype}")
        if not np.isfinite(state).all():
            raise ValueError("optimizer state contains NaN or infinite values")
    except (TypeError, ValueError, KeyError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"__metadata__ trainer: {exc}") from None
    trainer._state_for(net, trainer.optimizer.hyper())[...] = state.reshape(-1)
    return trainer, net


def _pycore_slots(trainer):
    from pybp import _pycore
    return _pycore.state_slots(trainer.optimizer.hyper())


# ---------------------------------------------------------------------------
# JSON-able dicts
# ---------------------------------------------------------------------------

_DICT_KEYS = ("format", "format_version", "sizes", "activations", "bias",
              "dtype", "weights", "biases")


def to_dict(net):
    """A JSON-able dict: format, format_version, sizes, activations, bias,
    dtype, weights (nested lists, (n_out, n_in) per layer) and biases.
    ``json.dumps``/``json.loads`` and ``from_dict`` give the exact network
    back (Python's float repr round-trips every float64)."""
    _check_net(net)
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


def _dict_array(name, value, shape, dtype):
    if isinstance(value, (str, bytes)) or not isinstance(
            value, (list, tuple, np.ndarray)):
        raise FormatError(f"{name} must be a (nested) list of numbers; got "
                          f"{type(value).__name__} {_show(value)}")
    try:
        a = _validate.asarray(value)
    except (ValueError, TypeError) as exc:
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


def from_dict(d, backend="c"):
    """The network described by a dict from ``to_dict`` (validated)."""
    if not isinstance(d, Mapping):
        raise TypeError("from_dict needs a dict as made by Network.to_dict; "
                        f"got {type(d).__name__}")
    unknown = [k for k in d if k not in _DICT_KEYS]
    if unknown:
        raise FormatError(f"unknown key(s) {', '.join(map(_show, unknown[:5]))}"
                          f"; expected {', '.join(_DICT_KEYS)}")
    for key in ("sizes", "activations", "bias", "dtype", "weights"):
        if key not in d:
            raise FormatError(f"the dict has no {key!r}")
    if "format" in d and d["format"] != FORMAT:
        raise FormatError(f"format is {_show(d['format'])}, expected "
                          f"{FORMAT!r}")
    if "format_version" in d and d["format_version"] not in (
            int(FORMAT_VERSION), FORMAT_VERSION):
        raise FormatError(f"unsupported format_version "
                          f"{_show(d['format_version'])}; this pybp reads "
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
                              f"{_show(value)}")
    weights = [_dict_array(f"weights[{l}]", weights[l], (o, i), dtype)
               for l, (i, o) in enumerate(zip(sizes[:-1], sizes[1:]))]
    biases = [_dict_array(f"biases[{l}]", biases[l], (o,), dtype)
              for l, o in enumerate(sizes[1:])] if bias else []
    return _build(sizes, acts, bias, dtype, weights, biases, backend)


# ---------------------------------------------------------------------------
# FANN 2.2 network files (.net, "FANN_FLO_2.1")
# ---------------------------------------------------------------------------

FANN_ACTIVATIONS = (
    "FANN_LINEAR", "FANN_THRESHOLD", "FANN_THRESHOLD_SYMMETRIC",
    "FANN_SIGMOID", "FANN_SIGMOID_STEPWISE", "FANN_SIGMOID_SYMMETRIC",
    "FANN_SIGMOID_SYMMETRIC_STEPWISE", "FANN_GAUSSIAN",
    "FANN_GAUSSIAN_SYMMETRIC", "FANN_GAUSSIAN_STEPWISE", "FANN_ELLIOT",
    "FANN_ELLIOT_SYMMETRIC", "FANN_LINEAR_PIECE",
    "FANN_LINEAR_PIECE_SYMMETRIC", "FANN_SIN_SYMMETRIC", "FANN_COS_SYMMETRIC",
    "FANN_SIN", "FANN_COS", "FANN_LINEAR_PIECE_RECT",
    "FANN_LINEAR_PIECE_RECT_LEAKY",
)
# FANN function -> (pybp activation, factor): the pybp layer computes
# act(factor * steepness * (sum w x + b)), which is FANN's function exactly.
#   FANN_LINEAR             s*x             = identity(s*x)
#   FANN_SIGMOID            1/(1+e^(-2sx))  = sigmoid(2s*x)
#   FANN_SIGMOID_SYMMETRIC  tanh(s*x)       = tanh(s*x)
_FANN_TO_PYBP = {0: ("identity", 1.0), 3: ("sigmoid", 2.0), 5: ("tanh", 1.0)}
# pybp activation -> (FANN function, steepness); with these steepnesses the
# folding factor is 1 and the weights are written unchanged.
_PYBP_TO_FANN = {"identity": (0, 1.0), "sigmoid": (3, 0.5), "tanh": (5, 1.0)}

_FANN_VERSION = "FANN_FLO_2.1"
_NEURONS_KEY = "neurons (num_inputs, activation_function, activation_steepness)"
_CONNECTIONS_KEY = "connections (connected_to_neuron, weight)"
_INT = r"[+-]?\d{1,18}"
_FLOAT = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_INT_RE = re.compile(_INT)
_FLOAT_RE = re.compile(_FLOAT)
_NEURON_RE = re.compile(rf"\s*\(\s*({_INT})\s*,\s*({_INT})\s*,\s*({_FLOAT})\s*\)")
_CONNECTION_RE = re.compile(rf"\s*\(\s*({_INT})\s*,\s*({_FLOAT})\s*\)")
# Steepness above which FANN's clipping of the net input at +-150/steepness
# changes sigmoid/tanh outputs in double precision (tanh(150/s) < 1).
_CLIP_STEEPNESS = 7.5

# The header FANN 2.2 writes, in its order, with FANN's default values (FANN
# reads these fields in exactly this order).
_FANN_DEFAULTS = (
    ("learning_rate", "0.700000"), ("connection_rate", "1.000000"),
    ("network_type", "0"), ("learning_momentum", "0.000000"),
    ("training_algorithm", "2"), ("train_error_function", "1"),
    ("train_stop_function", "0"), ("cascade_output_change_fraction", "0.010000"),
    ("quickprop_decay", "-0.000100"), ("quickprop_mu", "1.750000"),
    ("rprop_increase_factor", "1.200000"), ("rprop_decrease_factor", "0.500000"),
    ("rprop_delta_min", "0.000000"), ("rprop_delta_max", "50.000000"),
    ("rprop_delta_zero", "0.100000"), ("cascade_output_stagnation_epochs", "12"),
    ("cascade_candidate_change_fraction", "0.010000"),
    ("cascade_candidate_stagnation_epochs", "12"),
    ("cascade_max_out_epochs", "150"), ("cascade_min_out_epochs", "50"),
    ("cascade_max_cand_epochs", "150"), ("cascade_min_cand_epochs", "50"),
    ("cascade_num_candidate_groups", "2"),
    ("bit_fail_limit", "%.20e" % 0.35),
    ("cascade_candidate_limit", "%.20e" % 1000.0),
    ("cascade_weight_multiplier", "%.20e" % 0.4),
    ("cascade_activation_functions_count", "10"),
    ("cascade_activation_functions", "3 5 7 8 10 11 14 15 16 17 "),
    ("cascade_activation_steepnesses_count", "4"),
    ("cascade_activation_steepnesses", " ".join(
        "%.20e" % s for s in (0.25, 0.5, 0.75, 1.0)) + " "),
)


def _read_text(file, what):
    if _is_stream(file, "read"):
        raw = file.read()
    else:
        with open(_path(file, what), "rb") as f:
            raw = f.read()
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"{what} is not text (UTF-8/ASCII): {exc}") from None


def _fann_int(key, text):
    text = text.strip()
    if not _INT_RE.fullmatch(text):
        raise FormatError(f"FANN file: {key} must be an integer; got "
                          f"{_show(text)}")
    return int(text)


def _fann_float(key, text):
    text = text.strip()
    if not _FLOAT_RE.fullmatch(text):
        raise FormatError(f"FANN file: {key} must be a number; got "
                          f"{_show(text)}")
    return float(text)


def _fann_tuples(key, text, pattern):
    out, pos, text = [], 0, text.rstrip()
    while pos < len(text):
        m = pattern.match(text, pos)
        if m is None:
            raise FormatError(f"FANN file: cannot parse {key.split()[0]} "
                              f"near {_show(text[pos:pos + 40])}")
        out.append(m.groups())
        pos = m.end()
    return out


def _parse_fann(text):
    lines = text.splitlines()
    first = lines[0].strip() if lines else ""
    if first != _FANN_VERSION:
        if first.startswith("FANN_FIX"):
            raise FormatError(f"{first} is a fixed-point FANN file; pybp reads "
                              f"floating-point {_FANN_VERSION} files (save "
                              "the network with fann_save, not "
                              "fann_save_to_fixed)")
        if first.startswith("FANN_FLO"):
            raise FormatError(f"unsupported FANN file version {_show(first)}; "
                              f"pybp reads {_FANN_VERSION} (FANN 2.1/2.2)")
        raise FormatError(f"not a FANN network file: first line is "
                          f"{_show(first)}, expected {_FANN_VERSION}")
    fields = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise FormatError(f"FANN file line {number}: expected key=value; "
                              f"got {_show(line)}")
        if key in fields:
            raise FormatError(f"FANN file: {key!r} appears twice")
        fields[key] = value
    for key in ("num_layers", "connection_rate", "network_type",
                "layer_sizes", _NEURONS_KEY, _CONNECTIONS_KEY):
        if key not in fields:
            raise FormatError(f"FANN file has no {key.split(' (')[0]!r} line")
    return fields


def load_fann(file):
    """Load a standard fully connected FANN network from a ``.net`` file.

    Reads FANN 2.1/2.2 floating-point files (first line ``FANN_FLO_2.1``)
    of networks made by fann_create_standard with FANN_LINEAR, FANN_SIGMOID
    or FANN_SIGMOID_SYMMETRIC neurons (one function per layer; steepness may
    differ per neuron).  FANN's bias neurons become pybp biases and each
    neuron's steepness is folded into its incoming weights, so that the pybp
    network computes what fann_run computes (up to rounding, and up to
    FANN's clipping of the scaled net input at +-150/steepness).  The
    network has dtype float64.  Shortcut and sparse networks, other
    activation functions and malformed files raise FormatError.
    """
    fields = _parse_fann(_read_text(file, "FANN network file"))
    network_type = _fann_int("network_type", fields["network_type"])
    if network_type != 0:
        raise FormatError(
            f"FANN network_type={network_type} (shortcut network) is not "
            "supported: pybp layers connect only to the previous layer")
    rate = _fann_float("connection_rate", fields["connection_rate"])
    if rate < 1:
        raise FormatError(f"FANN connection_rate={rate} (sparse network) is "
                          "not supported: pybp layers are fully connected")
    num_layers = _fann_int("num_layers", fields["num_layers"])
    layer_sizes = [_fann_int("layer_sizes", v)
                   for v in fields["layer_sizes"].split()]
    if num_layers < 2 or len(layer_sizes) != num_layers:
        raise FormatError(f"FANN file: num_layers={num_layers} but "
                          f"layer_sizes lists {len(layer_sizes)} layer(s); "
                          "need at least 2")
    if any(n < 2 for n in layer_sizes):
        raise FormatError(f"FANN file: layer_sizes {layer_sizes} must each be "
                          ">= 2 (neurons plus the bias neuron)")
    scale = fields.get("scale_included", "0").strip()
    if scale not in ("0", "1"):
        raise FormatError(f"FANN file: scale_included must be 0 or 1; got "
                          f"{_show(scale)}")
    if scale == "1":
        warnings.warn("the FANN file includes scaling parameters, which pybp "
                      "ignores (as fann_run does; scale inputs and outputs "
                      "yourself if you used fann_scale_input/output)",
                      UserWarning, stacklevel=2)
    neurons = _fann_tuples(_NEURONS_KEY, fields[_NEURONS_KEY], _NEURON_RE)
    if len(neurons) != sum(layer_sizes):
        raise FormatError(f"FANN file lists {len(neurons)} neurons; "
                          f"layer_sizes {layer_sizes} need {sum(layer_sizes)}")
    neurons = [(int(n), int(a), float(s)) for n, a, s in neurons]
    first = [0]
    for n in layer_sizes:
        first.append(first[-1] + n)
    if any(n != 0 for n, _, _ in neurons[:layer_sizes[0]]):
        raise FormatError("FANN file: input neurons must have no inputs")

    # Pass 1: the structure, layer by layer, before any weight is read.
    acts, steepness = [], []
    for l in range(1, num_layers):
        layer = neurons[first[l]:first[l + 1]]
        prev_n = layer_sizes[l - 1]
        if layer[-1][0] != 0:
            raise FormatError(f"FANN file: the last neuron of layer {l} must "
                              "be its bias neuron (no inputs)")
        for j, (n_in, _, steep) in enumerate(layer[:-1]):
            if n_in != prev_n:
                raise FormatError(
                    f"FANN file: neuron {j} of layer {l} has {n_in} inputs; "
                    f"a fully connected layer has {prev_n} (with the bias)")
            if not (math.isfinite(steep) and steep > 0):
                raise FormatError(f"FANN file: neuron {j} of layer {l} has "
                                  f"steepness {steep}; pybp needs a finite "
                                  "positive steepness")
        codes = sorted({a for _, a, _ in layer[:-1]})
        if len(codes) > 1:
            names = ", ".join(_fann_act_name(a) for a in codes)
            raise FormatError(f"FANN layer {l} mixes activation functions "
                              f"({names}); pybp has one activation per layer")
        if codes[0] not in _FANN_TO_PYBP:
            raise FormatError(
                f"FANN layer {l} uses {_fann_act_name(codes[0])}, which pybp "
                "cannot represent exactly; supported: FANN_LINEAR, "
                "FANN_SIGMOID, FANN_SIGMOID_SYMMETRIC")
        act, factor = _FANN_TO_PYBP[codes[0]]
        steep = np.array([s for _, _, s in layer[:-1]])
        if act != "identity" and steep.max() > _CLIP_STEEPNESS:
            warnings.warn(
                f"FANN layer {l} has steepness up to {steep.max()}: FANN clips "
                "the net input at +-150/steepness, so its outputs differ "
                "from pybp's for large inputs", UserWarning, stacklevel=2)
        acts.append(act)
        steepness.append(steep * factor)

    # Pass 2: the weights; each neuron's inputs in order, its bias last.
    connections = _fann_tuples(_CONNECTIONS_KEY, fields[_CONNECTIONS_KEY],
                               _CONNECTION_RE)
    n_conn = sum(n for n, _, _ in neurons)
    if len(connections) != n_conn:
        raise FormatError(f"FANN file lists {len(connections)} connections; "
                          f"its neurons have {n_conn} inputs")
    sizes = [n - 1 for n in layer_sizes]
    weights, biases, conn = [], [], 0
    for l in range(1, num_layers):
        prev_first, prev_n = first[l - 1], layer_sizes[l - 1]
        block = connections[conn:conn + sizes[l] * prev_n]
        conn += len(block)
        targets = np.array([int(t) for t, _ in block]).reshape(sizes[l], prev_n)
        expected = np.arange(prev_first, prev_first + prev_n)
        bad = np.argwhere(targets != expected)
        if bad.size:
            j, k = (int(v) for v in bad[0])
            raise FormatError(
                f"FANN file: connection {k} of neuron {j} in layer {l} goes "
                f"to neuron {targets[j, k]}; a standard network connects it "
                f"to neuron {prev_first + k}")
        rows = np.array([float(w) for _, w in block]).reshape(sizes[l], prev_n)
        rows *= steepness[l - 1][:, None]
        if not np.isfinite(rows).all():
            raise FormatError(f"FANN layer {l} has NaN or infinite weights")
        weights.append(np.ascontiguousarray(rows[:, :-1]))
        biases.append(np.ascontiguousarray(rows[:, -1]))
    try:
        sizes = _validate.sizes(sizes)
        acts = _validate.activations(acts, None, len(sizes) - 1)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"FANN file: {exc}") from None
    return _build(sizes, acts, True, "float64", weights, biases)


def _fann_act_name(code):
    if 0 <= code < len(FANN_ACTIVATIONS):
        return f"{FANN_ACTIVATIONS[code]} ({code})"
    return f"unknown activation function {code}"


def _fann_text(net):
    for l, act in enumerate(net.activations):
        if act not in _PYBP_TO_FANN:
            raise ValueError(
                f"layer {l} uses {act!r}, which FANN 2.2 cannot represent; "
                "save_fann supports sigmoid, tanh and identity layers")
    if not np.isfinite(net.params).all():
        raise ValueError("the network has NaN or infinite parameters")
    sizes = net.sizes
    layer_sizes = [n + 1 for n in sizes]
    fmt = "%.20e"
    lines = [_FANN_VERSION, f"num_layers={len(sizes)}"]
    lines += [f"{k}={v}" for k, v in _FANN_DEFAULTS]
    lines.append("layer_sizes=" + "".join(f"{n} " for n in layer_sizes))
    lines.append("scale_included=0")
    neurons = ["(0, 0, %s) " % (fmt % 0.0)] * layer_sizes[0]
    connections = []
    first_prev = 0
    for l, (W, act) in enumerate(zip(net.weights, net.activations)):
        code, steep = _PYBP_TO_FANN[act]
        n_out, n_in = W.shape
        neurons += [f"({n_in + 1}, {code}, {fmt % steep}) "] * n_out
        neurons.append("(0, 0, %s) " % (fmt % 0.0))
        W = W.astype(np.float64).tolist()
        b = (net.biases[l].astype(np.float64).tolist() if net.bias
             else [0.0] * n_out)
        for j in range(n_out):
            connections.extend(f"({first_prev + i}, {fmt % w}) "
                               for i, w in enumerate(W[j]))
            connections.append(f"({first_prev + n_in}, {fmt % b[j]}) ")
        first_prev += n_in + 1
    lines.append(f"{_NEURONS_KEY}=" + "".join(neurons))
    lines.append(f"{_CONNECTIONS_KEY}=" + "".join(connections))
    return "\n".join(lines) + "\n"


def save_fann(net, file):
    """Save a network as a FANN 2.2 ``.net`` file (``FANN_FLO_2.1``).

    sigmoid layers become FANN_SIGMOID with steepness 0.5, tanh layers
    FANN_SIGMOID_SYMMETRIC and identity layers FANN_LINEAR with steepness 1,
    so the weights are written unchanged (exactly, with 21 significant
    digits) and fann_run computes what pybp computes.  A network without
    biases gets zero weights on FANN's bias neurons.  relu, leaky_relu and
    softmax have no FANN 2.2 counterpart: ValueError.  FANN clips a
    FANN_LINEAR neuron's output at +-150 (its net input at +-150/steepness).
    """
    _check_net(net)
    data = _fann_text(net).encode("ascii")
    if _is_stream(file, "write") and isinstance(file, _io.TextIOBase):
        file.write(data.decode("ascii"))
        return
    _write_to(file, lambda f: f.write(data))


# ---------------------------------------------------------------------------
# FANN training-data files
# ---------------------------------------------------------------------------

def _data_diagnosis(text, n, n_in, n_out):
    """Where a FANN data file's line structure breaks first (for messages)."""
    lines = [line.split() for line in text.splitlines()[1:]]
    lines = [line for line in lines if line]
    for k in range(n):
        for part, width, idx in (("inputs", n_in, 2 * k),
                                 ("outputs", n_out, 2 * k + 1)):
            if idx >= len(lines):
                return f"; the file ends before sample {k}'s {part}"
            if len(lines[idx]) != width:
                return (f"; sample {k}'s {part} line has {len(lines[idx])} "
                        f"values, expected {width}")
    if len(lines) > 2 * n:
        return f"; {len(lines) - 2 * n} extra line(s) after sample {n - 1}"
    return ""


def load_fann_data(file):
    """Read a FANN training-data file: (X, T) as float64 arrays.

    The format: a first line ``num_samples num_inputs num_outputs``, then for
    every sample a line of inputs and a line of outputs (FANN reads any
    whitespace; so does pybp).  The number of values must match the counts
    exactly; values must be finite numbers.  Anything else: FormatError.
    """
    text = _read_text(file, "FANN data file")
    tokens = text.split()
    if len(tokens) < 3:
        raise FormatError("FANN data file: the first line must be "
                          "'num_samples num_inputs num_outputs'")
    counts = []
    for name, tok in zip(("num_samples", "num_inputs", "num_outputs"),
                         tokens[:3]):
        if not re.fullmatch(r"\d{1,18}", tok):
            raise FormatError(f"FANN data file: {name} must be a non-negative "
                              f"integer; got {_show(tok)}")
        counts.append(int(tok))
    n, n_in, n_out = counts
    if n_in < 1 or n_out < 1:
        raise FormatError(f"FANN data file: num_inputs and num_outputs must "
                          f"be >= 1; got {n_in} and {n_out}")
    expected = n * (n_in + n_out)
    if len(tokens) - 3 != expected:
        raise FormatError(
            f"FANN data file: the header says {n} samples of {n_in} inputs and "
            f"{n_out} outputs ({expected} values) but {len(tokens) - 3} values "
            f"follow" + _data_diagnosis(text, n, n_in, n_out))
    values = tokens[3:]
    try:
        flat = np.array([float(v) for v in values], dtype=np.float64)
    except ValueError:
        for i, v in enumerate(values):
            try:
                float(v)
            except ValueError:
                raise FormatError(f"FANN data file: value {i} "
                                  f"(sample {i // (n_in + n_out)}) is not a "
                                  f"number: {_show(v)}") from None
        raise
    if not np.isfinite(flat).all():
        i = int(np.flatnonzero(~np.isfinite(flat))[0])
        raise FormatError(f"FANN data file: value {i} (sample "
                          f"{i // (n_in + n_out)}) is {values[i]}; values "
                          "must be finite")
    flat = flat.reshape(n, n_in + n_out)
    return (np.ascontiguousarray(flat[:, :n_in]),
            np.ascontiguousarray(flat[:, n_in:]))


def save_fann_data(file, X, T):
    """Write (X, T) as a FANN training-data file (path replaced atomically).

    X: (n, n_inputs); T: (n, n_outputs), or 1-D for one output.  Values are
    written with Python's repr, so load_fann_data reads them back exactly.
    """
    X = _validate.array("X", X, np.float64)
    T = _validate.array("T", T, np.float64)
    if T.ndim == 1:
        T = T.reshape(-1, 1)
    if X.ndim != 2 or X.shape[1] < 1:
        raise ValueError(f"X must have shape (n_samples, n_inputs) with "
                         f"n_inputs >= 1; got shape {X.shape}")
    if T.ndim != 2 or T.shape[1] < 1:
        raise ValueError(f"T must have shape (n_samples, n_outputs); got "
                         f"shape {T.shape}")
    if X.shape[0] != T.shape[0]:
        raise ValueError(f"X and T must have the same number of samples; X "
                         f"has {X.shape[0]}, T has {T.shape[0]}")
    parts = [f"{X.shape[0]} {X.shape[1]} {T.shape[1]}\n"]
    for x, t in zip(X.tolist(), T.tolist()):
        parts.append(" ".join(map(repr, x)) + "\n")
        parts.append(" ".join(map(repr, t)) + "\n")
    data = "".join(parts).encode("ascii")
    if _is_stream(file, "write") and isinstance(file, _io.TextIOBase):
        file.write(data.decode("ascii"))
        return
    _write_to(file, lambda f: f.write(data))


# ---------------------------------------------------------------------------
# ONNX export (optional: pip install "pybp[onnx]")
# ---------------------------------------------------------------------------

_ONNX_OPS = {
    "sigmoid": ("Sigmoid", {}), "tanh": ("Tanh", {}), "relu": ("Relu", {}),
    "leaky_relu": ("LeakyRelu", {"alpha": 0.01}),
    "identity": ("Identity", {}), "softmax": ("Softmax", {"axis": -1}),
}


def export_onnx(net, file, *, opset=17):
    """Export a network as an ONNX model.

    One Gemm per layer (transB=1 with the (n_out, n_in) weights, plus the
    bias when the network has one) followed by its activation (Sigmoid,
    Tanh, Relu, LeakyRelu alpha=0.01, Identity, Softmax axis=-1).  Input
    "input" of shape [batch, n_inputs] (symbolic batch), output "output";
    element type float32 or float64 as the network's dtype.  Needs the
    optional onnx package: ``pip install "pybp[onnx]"``.  Returns the
    onnx ModelProto (also written to `file`, a path or binary file object).
    """
    _check_net(net)
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError as exc:
        raise ImportError('export_onnx needs the onnx package; install it '
                          'with: pip install "pybp[onnx]"') from exc
    opset = _validate.integer("opset", opset, minimum=13)
    from pybp import __version__
    elem = TensorProto.DOUBLE if net.dtype == np.float64 else TensorProto.FLOAT
    nodes, inits = [], []
    x, last = "input", len(net.weights) - 1
    for l, (W, act) in enumerate(zip(net.weights, net.activations)):
        inputs = [x, f"layers.{l}.weight"]
        inits.append(numpy_helper.from_array(np.array(W), inputs[1]))
        if net.bias:
            inputs.append(f"layers.{l}.bias")
            inits.append(numpy_helper.from_array(np.array(net.biases[l]),
                                                 inputs[2]))
        z = f"layers.{l}.net"
        nodes.append(helper.make_node("Gemm", inputs, [z],
                                      name=f"layers.{l}.gemm", transB=1))
        y = "output" if l == last else f"layers.{l}.out"
        op, attrs = _ONNX_OPS[act]
        nodes.append(helper.make_node(op, [z], [y], name=f"layers.{l}.{act}",
                                      **attrs))
        x = y
    graph = helper.make_graph(
        nodes, "pybp_network",
        [helper.make_tensor_value_info("input", elem,
                                       ["batch", net.n_inputs])],
        [helper.make_tensor_value_info("output", elem,
                                       ["batch", net.n_outputs])],
        initializer=inits)
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(graph, opset_imports=opsets,
                              producer_name="pybp",
                              producer_version=__version__)
    if hasattr(helper, "find_min_ir_version_for"):
        model.ir_version = helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    _write_to(file, lambda f: f.write(data))
    return model
