"""Helpers shared by the tests of pybp.io (tests/test_io_*.py)."""
import json
import struct

import numpy as np

import pybp


ARCHS = [
    ([2, 1], ["sigmoid"]),
    ([3, 5, 2], ["tanh", "softmax"]),
    ([4, 3, 3, 2], ["relu", "leaky_relu", "identity"]),
    ([1, 7, 1], ["identity", "sigmoid"]),
    ([5, 2, 4, 3, 6], ["sigmoid", "tanh", "relu", "leaky_relu"]),
]


def make_net(sizes=(3, 5, 2), acts=("tanh", "softmax"), bias=True,
             dtype="float64", seed=0, backend="c"):
    net = pybp.Network(list(sizes), activation=list(acts), bias=bias,
                       dtype=dtype, seed=seed, backend=backend)
    # Give the biases (zero after init) distinct values too.
    rng = np.random.default_rng(seed + 1)
    net.params[...] = rng.standard_normal(net.n_params)
    return net


def assert_same(a, b):
    assert a.sizes == b.sizes
    assert a.activations == b.activations
    assert a.bias == b.bias
    assert a.dtype == b.dtype
    assert a.params.tobytes() == b.params.tobytes()


def parse_independently(data):
    """Read a safetensors file with nothing but struct, json and numpy."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    buf = data[8 + n:]
    meta = header.pop("__metadata__", None)
    tensors = {}
    for name, info in header.items():
        dt = {"F64": "<f8", "F32": "<f4"}[info["dtype"]]
        b, e = info["data_offsets"]
        tensors[name] = np.frombuffer(buf[b:e], dtype=dt).reshape(
            info["shape"])
    return n, header, meta, tensors, buf


def good_bytes(**kw):
    return pybp.io.to_bytes(make_net(**kw))


def assemble(header, data=b"", n=None):
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if n is None else n) + raw + data


def header_of(data):
    n, header, meta, _, buf = parse_independently(data)
    header["__metadata__"] = meta
    return header, bytes(buf)
