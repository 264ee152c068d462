"""The safetensors container: any dict of named arrays, with a string ->
string ``__metadata__``, read with every size it claims checked first.

    bytes 0..7      N, the header length (unsigned 64-bit little-endian)
    bytes 8..8+N    the header: UTF-8 JSON, padded with spaces to 8 bytes
    bytes 8+N..     the tensor data, raw little-endian, C order

Parsing is linear in the file size: JSON numbers longer than
MAX_NUMBER_CHARS are refused before they are converted.
"""
from __future__ import annotations

import io as _io
import json
import math
import os
import struct
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from pybp.errors import FormatError
from pybp.io._files import (MAX_NUMBER_CHARS, as_path, is_stream,
                            read_exact, show, write_to)

if TYPE_CHECKING:
    from pybp._typing import Source, Target

# A header entry: (name, dtype code, shape, data begin, data end).
Entry = tuple[str, str, tuple[int, ...], int, int]
# The check read_safetensors_full runs on the header: check(entries, metadata).
HeaderCheck = Callable[[list[Entry], "dict[str, str] | None"], object]

# The largest JSON header we accept (the safetensors library's own cap).
MAX_HEADER_BYTES: int = 100 * 1024 * 1024
# Most dimensions a tensor may have.
MAX_NDIM: int = 32

# safetensors dtype strings and the little-endian numpy types they name.
ST_DTYPES: dict[str, np.dtype[Any]] = {
    "F64": np.dtype("<f8"), "F32": np.dtype("<f4"), "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"), "U64": np.dtype("<u8"), "U32": np.dtype("<u4"),
    "U16": np.dtype("<u2"), "U8": np.dtype("u1"), "BOOL": np.dtype("?"),
}
ST_CODES = {(dt.kind, dt.itemsize): code for code, dt in ST_DTYPES.items()}


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def encode_tensors(tensors, metadata):
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
                            f"{show(metadata)}")
        header["__metadata__"] = dict(metadata)
    for name, value in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ValueError(f"tensor names must be strings other than "
                             f"'__metadata__'; got {show(name)}")
        a = np.asarray(value)
        code = ST_CODES.get((a.dtype.kind, a.dtype.itemsize))
        if code is None:
            raise TypeError(f"tensor {name!r} has dtype {a.dtype}, which "
                            "safetensors cannot store here; use one of "
                            "float64/32/16, (u)int64/32/16/8, bool")
        a = np.asarray(a, dtype=ST_DTYPES[code], order="C")
        header[name] = {"dtype": code, "shape": list(a.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        arrays.append(a)
        offset += a.nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=True)
    raw = text.encode("ascii")
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw, arrays


def write_safetensors(file: Target, tensors: Mapping[str, Any],
                      metadata: Mapping[str, str] | None = None) -> None:
    """Write a dict of named arrays as a safetensors file.

    file: a path (str or os.PathLike; replaced atomically) or a binary file
    object.  tensors: name -> array (float64/32/16, (u)int64..8 or bool),
    stored little-endian, C order, in the dict's order.  metadata: optional
    dict of str -> str, stored as the header's ``__metadata__``.
    """
    prefix, arrays = encode_tensors(tensors, metadata)

    def write(f):
        f.write(prefix)
        for a in arrays:
            if a.nbytes:
                f.write(memoryview(a.reshape(-1)).cast("B"))

    write_to(file, write)


# ---------------------------------------------------------------------------
# JSON, strictly and in linear time
# ---------------------------------------------------------------------------

def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise FormatError(f"the key {show(key)} appears twice")
        out[key] = value
    return out


def _no_constants(name):
    raise FormatError(f"{name} is not JSON")


def _bounded_number(convert):
    def parse(text):
        if len(text) > MAX_NUMBER_CHARS:
            raise FormatError(f"a number of {len(text)} characters (at most "
                              f"{MAX_NUMBER_CHARS} are read): {show(text)}")
        return convert(text)
    return parse


_parse_json_int = _bounded_number(int)
_parse_json_float = _bounded_number(float)


def strict_json(text: str, what: str) -> Any:
    """json.loads with no NaN/Infinity, no duplicate keys, numbers of at
    most MAX_NUMBER_CHARS characters and bounded nesting; every problem is
    a FormatError naming `what`."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates,
                          parse_constant=_no_constants,
                          parse_int=_parse_json_int,
                          parse_float=_parse_json_float)
    except FormatError as exc:
        raise FormatError(f"{what}: {exc}") from None
    except (ValueError, RecursionError, TypeError) as exc:
        raise FormatError(f"{what} is not valid JSON: {exc}") from None


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

def parse_header(raw):
    """The header's entries as [(name, dtype code, shape, begin, end)] and
    its metadata dict (or None)."""
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"header is not valid UTF-8: {exc}") from None
    header = strict_json(text, "header")
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
                raise FormatError(f"__metadata__[{show(key)}] must be a "
                                  f"string; got {show(value)}")
    entries = []
    for name, info in header.items():
        where = f"tensor {show(name)}"
        if not isinstance(info, dict):
            raise FormatError(f"{where}: entry must be an object with dtype, "
                              f"shape and data_offsets; got {show(info)}")
        keys = set(info)
        if keys != {"dtype", "shape", "data_offsets"}:
            missing = {"dtype", "shape", "data_offsets"} - keys
            extra = keys - {"dtype", "shape", "data_offsets"}
            raise FormatError(f"{where}: entry must have exactly dtype, shape "
                              f"and data_offsets (missing {sorted(missing)}, "
                              f"unknown {[show(k) for k in sorted(extra)[:5]]})")
        dtype = info["dtype"]
        if not isinstance(dtype, str) or dtype not in ST_DTYPES:
            raise FormatError(f"{where}: unknown dtype {show(dtype)}; pybp "
                              f"reads {', '.join(ST_DTYPES)}")
        shape = info["shape"]
        if not isinstance(shape, list) or not all(
                is_int(d) and d >= 0 for d in shape):
            raise FormatError(f"{where}: shape must be a list of "
                              f"non-negative integers; got {show(shape)}")
        if len(shape) > MAX_NDIM:
            raise FormatError(f"{where}: shape has {len(shape)} dimensions; "
                              f"at most {MAX_NDIM} are supported")
        if math.prod(max(d, 1) for d in shape) >= 2**62:
            raise FormatError(f"{where}: shape {show(shape)} is too large "
                              "for an array")
        offsets = info["data_offsets"]
        if not (isinstance(offsets, list) and len(offsets) == 2 and
                all(is_int(o) and o >= 0 for o in offsets)):
            raise FormatError(f"{where}: data_offsets must be two "
                              f"non-negative integers [begin, end]; got "
                              f"{show(offsets)}")
        begin, end = offsets
        if begin > end:
            raise FormatError(f"{where}: data_offsets begin {begin} is after "
                              f"end {end}")
        nbytes = math.prod(shape) * ST_DTYPES[dtype].itemsize
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
            raise FormatError(f"tensor {show(name)}: data_offsets [{begin}, "
                              f"{end}] run past the end of the data "
                              f"({data_len} bytes)")
    pos, prev = 0, None
    for name, _, _, begin, end in sorted(entries, key=lambda e: (e[3], e[4])):
        if begin < pos:
            raise FormatError(f"tensors {show(prev)} and {show(name)} "
                              f"overlap (byte {begin} < {pos})")
        if begin > pos:
            raise FormatError(f"gap in the tensor data: bytes {pos} to "
                              f"{begin} belong to no tensor (before "
                              f"{show(name)})")
        pos, prev = end, name
    if pos != data_len:
        raise FormatError(f"the tensors cover {pos} bytes but the file has "
                          f"{data_len} bytes of tensor data")


def _looks_like_onnx(head):
    """An ONNX ModelProto starts with field 1 (ir_version, a small varint:
    tag 0x08) followed by another field's tag."""
    return (len(head) >= 3 and head[0] == 0x08 and 1 <= head[1] < 0x80
            and head[2] in (0x12, 0x1a, 0x22, 0x2a, 0x32, 0x3a, 0x40, 0x42))


def _not_safetensors(head, name):
    """A FormatError for a file that is some other known format, or None."""
    if bytes(head[:5]) == b"FANN_":
        return FormatError("this is a FANN network file, not a pybp "
                           "safetensors file; read it with "
                           "pybp.io.load_fann(path)")
    if (name or "").lower().endswith(".onnx") or _looks_like_onnx(head):
        return FormatError("this looks like an ONNX model, not a pybp "
                           "safetensors file; pybp cannot load ONNX; it "
                           "exports it (pybp.io.export_onnx)")
    return None


def read_safetensors_full(source: Source, check: HeaderCheck | None = None
                          ) -> tuple[dict[str, np.ndarray[Any, Any]],
                                     dict[str, str] | None, list[Entry]]:
    """Parse a safetensors file from a path, bytes or a binary stream.

    check(entries, metadata), if given, runs after the header is validated
    and before the tensor data is read.  Returns (tensors, metadata, entries).
    """
    return _read(source, check, header_only=False)


def read_header(source: Source, check: HeaderCheck | None = None
                ) -> tuple[list[Entry], dict[str, str] | None]:
    """(entries, metadata) of a safetensors file, validated as by
    read_safetensors_full but without reading the tensor data."""
    return _read(source, check, header_only=True)


def _read(source, check, header_only):
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = memoryview(source).cast("B")
        return _read_stream(_io.BytesIO(data), len(data), check, None,
                            header_only)
    if is_stream(source, "read"):
        return _read_stream(source, None, check,
                            getattr(source, "name", None), header_only)
    path = as_path(source, "file")
    with open(path, "rb") as f:
        return _read_stream(f, os.fstat(f.fileno()).st_size, check, path,
                            header_only)


def _read_stream(f, size, check, name, header_only):
    if not isinstance(name, str):
        name = None
    head = read_exact(f, 8, "the header length", exact=False)
    if len(head) < 8:
        raise (_not_safetensors(head, name) or FormatError(
            f"file is {len(head)} bytes long, too short for a safetensors "
            "file (8-byte header length first)"))
    (n,) = struct.unpack("<Q", bytes(head))
    if n > MAX_HEADER_BYTES or (size is not None and n > size - 8):
        known = _not_safetensors(head, name)
        if known is not None:
            raise known
    if n > MAX_HEADER_BYTES:
        raise FormatError(f"header length {n} is larger than the limit of "
                          f"{MAX_HEADER_BYTES} bytes; not a safetensors file?")
    if size is not None and n > size - 8:
        raise FormatError(f"header length {n} is larger than the "
                          f"{size - 8} bytes that follow it")
    entries, metadata = parse_header(read_exact(f, n, "the header"))
    data_len = None if size is None else size - 8 - n
    if data_len is None:
        # A stream of unknown length: the header says how much data follows.
        data_len = max((e[4] for e in entries), default=0)
    _check_tiling(entries, data_len)
    if check is not None:
        check(entries, metadata)
    if header_only:
        return entries, metadata
    data = read_exact(f, data_len, "the tensor data")
    if size is None and f.read(1):
        raise FormatError("unexpected bytes after the last tensor")
    tensors = {}
    for tname, code, shape, begin, end in entries:
        dt = ST_DTYPES[code]
        a = np.frombuffer(data, dtype=dt, count=(end - begin) // dt.itemsize,
                          offset=begin).reshape(shape)
        if code == "BOOL" and a.size and a.view(np.uint8).max() > 1:
            raise FormatError(f"tensor {show(tname)}: BOOL values must be 0 "
                              "or 1")
        if not a.dtype.isnative:
            a = a.astype(a.dtype.newbyteorder("="))
        tensors[tname] = a
    return tensors, metadata, entries


def read_safetensors(file: Source) -> tuple[dict[str, np.ndarray[Any, Any]],
                                            dict[str, str] | None]:
    """Read a safetensors file: (tensors, metadata).

    file: a path, a binary file object, or bytes.  tensors maps each name to
    a numpy array (writable, native byte order); metadata is the header's
    ``__metadata__`` dict (str -> str), or None when the file has none.
    Raises FormatError for anything malformed.
    """
    tensors, metadata, _ = read_safetensors_full(file)
    return tensors, metadata
