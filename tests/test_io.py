"""pybp's own model files (safetensors), pickling, copying and dicts."""
import copy
import io
import json
import os
import pickle
import stat
import struct
import threading

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pybp
from pybp import FormatError

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


# ---- round trips ---------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("sizes,acts", ARCHS)
def test_round_trip_exact(tmp_path, dtype, bias, sizes, acts):
    net = make_net(sizes, acts, bias=bias, dtype=dtype)
    for target in (str(tmp_path / "m.safetensors"),
                   tmp_path / "m2.safetensors"):
        net.save(target)
        back = pybp.load(target)
        assert_same(net, back)
        X = np.random.default_rng(1).standard_normal((6, sizes[0]))
        np.testing.assert_array_equal(back.predict(X), net.predict(X))
    # Layer views of the loaded network still share its flat buffer.
    back.weights[0][0, 0] = 123.0
    assert back.params[0] == 123.0


def test_every_activation_round_trips(tmp_path):
    for act in ("sigmoid", "tanh", "relu", "leaky_relu", "identity"):
        for out in (act, "softmax"):
            net = make_net([3, 4, 2], [act, out])
            net.save(tmp_path / "a.safetensors")
            back = pybp.load(tmp_path / "a.safetensors")
            assert back.activations == (act, out)
            assert_same(net, back)


def test_file_is_plain_safetensors(tmp_path):
    net = make_net([3, 4, 2], ["tanh", "softmax"], dtype="float32")
    path = tmp_path / "m.safetensors"
    net.save(path)
    data = path.read_bytes()
    n, header, meta, tensors, buf = parse_independently(data)
    assert n % 8 == 0
    assert meta == {"format": "pybp", "format_version": "1",
                    "sizes": "[3, 4, 2]",
                    "activations": '["tanh", "softmax"]', "bias": "true"}
    assert set(header) == {"layers.0.weight", "layers.0.bias",
                           "layers.1.weight", "layers.1.bias"}
    assert header["layers.0.weight"] == {"dtype": "F32", "shape": [4, 3],
                                         "data_offsets": [0, 48]}
    assert sum(e - b for b, e in (h["data_offsets"] for h in header.values())
               ) == len(buf)
    for l in range(2):
        np.testing.assert_array_equal(tensors[f"layers.{l}.weight"],
                                      net.weights[l])
        np.testing.assert_array_equal(tensors[f"layers.{l}.bias"],
                                      net.biases[l])


def test_readable_by_safetensors_package(tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy")
    safetensors = pytest.importorskip("safetensors")
    net = make_net([4, 3, 2], ["relu", "sigmoid"], bias=True)
    path = tmp_path / "m.safetensors"
    net.save(path)
    tensors = st_numpy.load_file(str(path))
    assert set(tensors) == {"layers.0.weight", "layers.0.bias",
                            "layers.1.weight", "layers.1.bias"}
    np.testing.assert_array_equal(tensors["layers.1.weight"], net.weights[1])
    with safetensors.safe_open(str(path), "np") as f:
        assert f.metadata()["format"] == "pybp"
    # And pybp reads what the safetensors package writes.
    st_numpy.save_file({"a": np.arange(6.0).reshape(2, 3),
                        "b": np.array([1, 2], dtype=np.int32)},
                       str(tmp_path / "o.safetensors"), metadata={"k": "v"})
    got, meta = pybp.io.read_safetensors(tmp_path / "o.safetensors")
    assert meta == {"k": "v"}
    np.testing.assert_array_equal(got["a"], np.arange(6.0).reshape(2, 3))
    assert got["b"].dtype == np.int32


def test_file_objects(tmp_path):
    net = make_net(dtype="float32")
    buf = io.BytesIO()
    pybp.io.save(net, buf)
    buf.seek(0)
    assert_same(net, pybp.io.load(buf))
    assert buf.getvalue() == pybp.io.to_bytes(net)
    with open(tmp_path / "f.safetensors", "wb") as f:
        net.save(f)
    with open(tmp_path / "f.safetensors", "rb") as f:
        assert_same(net, pybp.load(f))
    assert_same(net, pybp.io.from_bytes(pybp.io.to_bytes(net)))


def test_generic_tensor_layer(tmp_path):
    tensors = {
        "layers.0.weight": np.arange(6.0).reshape(2, 3),
        "optimizer.m": np.linspace(0, 1, 5, dtype=np.float32),
        "step": np.array(7, dtype=np.int64),
        "mask": np.array([True, False, True]),
        "empty": np.zeros((0, 4)),
        "half": np.array([1.5, -2.0], dtype=np.float16),
        "strided": np.arange(20.0).reshape(4, 5)[:, ::2],
    }
    pybp.io.write_safetensors(tmp_path / "t.safetensors", tensors,
                              {"note": "x"})
    got, meta = pybp.io.read_safetensors(tmp_path / "t.safetensors")
    assert meta == {"note": "x"}
    assert list(got) == list(tensors)
    for name, a in tensors.items():
        assert got[name].dtype == a.dtype, name
        assert got[name].shape == a.shape, name
        np.testing.assert_array_equal(got[name], a)
        assert got[name].flags.writeable
    # A model file plus optimizer state is a valid safetensors file but not
    # a valid plain model file.
    net = make_net()
    t, m = pybp.io._network_tensors(net)
    t["optimizer.m"] = np.zeros(net.n_params)
    pybp.io.write_safetensors(tmp_path / "o.safetensors", t, m)
    with pytest.raises(FormatError, match="unexpected tensor"):
        pybp.load(tmp_path / "o.safetensors")
    got, meta = pybp.io.read_safetensors(tmp_path / "o.safetensors")
    del got["optimizer.m"]
    assert_same(net, pybp.io._network_from_tensors(got, meta))


def test_write_safetensors_rejects_bad_input(tmp_path):
    with pytest.raises(TypeError):
        pybp.io.write_safetensors(tmp_path / "x", {"a": np.array(["s"])})
    with pytest.raises(TypeError):
        pybp.io.write_safetensors(tmp_path / "x", {"a": np.zeros(2)}, {"k": 1})
    with pytest.raises(ValueError):
        pybp.io.write_safetensors(tmp_path / "x", {"__metadata__": np.zeros(2)})
    with pytest.raises(TypeError):
        pybp.io.write_safetensors(12, {"a": np.zeros(2)})
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("shape", [[0, 2**62], [0, 2**63], [0, 2**40, 2**40],
                                   [2**64, 0]])
def test_absurd_empty_shapes(shape):
    # Zero bytes, but no array of that shape can exist.
    header = {"a": {"dtype": "F64", "shape": shape, "data_offsets": [0, 0]}}
    with pytest.raises(FormatError, match="too large"):
        pybp.io.read_safetensors(assemble(header))


def test_missing_file_is_oserror(tmp_path):
    with pytest.raises(FileNotFoundError):
        pybp.load(tmp_path / "nope.safetensors")
    with pytest.raises(OSError):
        pybp.load(tmp_path)  # a directory
    with pytest.raises(FileNotFoundError):
        make_net().save(tmp_path / "no" / "such" / "dir.safetensors")


def test_save_rejects_non_finite_and_non_networks(tmp_path):
    net = make_net()
    net.weights[0][0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        net.save(tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(TypeError):
        pybp.io.save("not a net", tmp_path / "m.safetensors")


def test_format_error_is_value_error():
    assert issubclass(FormatError, ValueError)
    assert pybp.io.FormatError is FormatError
    assert pybp.errors.FormatError is FormatError


# ---- malformed files: only ever FormatError --------------------------------

def good_bytes(**kw):
    return pybp.io.to_bytes(make_net(**kw))


def assemble(header, data=b"", n=None):
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if n is None else n) + raw + data


def header_of(data):
    n, header, meta, _, buf = parse_independently(data)
    header["__metadata__"] = meta
    return header, bytes(buf)


def mutated(change, **kw):
    """A good file whose header dict went through change(header)."""
    header, buf = header_of(good_bytes(**kw))
    out = change(header)
    return assemble(header if out is None else out, buf)


def set_meta(key, value):
    def change(h):
        if value is None:
            del h["__metadata__"][key]
        else:
            h["__metadata__"][key] = value
    return change


def set_entry(name, key, value):
    def change(h):
        h[name][key] = value
    return change


def all_dtypes(code):
    def change(h):
        for name in h:
            if name != "__metadata__":
                h[name]["dtype"] = code
    return change


def move_tensor_bytes(h):
    # layers.0.bias and layers.0.weight swap places: still tiles, fine.
    w, b = h["layers.0.weight"], h["layers.0.bias"]
    nb = b["data_offsets"][1] - b["data_offsets"][0]
    w0 = w["data_offsets"][0]
    b["data_offsets"] = [w0, w0 + nb]
    w["data_offsets"] = [w0 + nb, w0 + nb + w["data_offsets"][1] -
                         w["data_offsets"][0]]


BAD_FILES = {
    "empty": (lambda: b"", "too short"),
    "short length": (lambda: b"\x10\x00\x00", "too short"),
    "huge header length": (lambda: struct.pack("<Q", 2**63) + b"{}",
                           "larger than the limit"),
    "header past end": (lambda: struct.pack("<Q", 5000) + b"{}" * 10,
                        "larger than the 20 bytes"),
    "not utf8": (lambda: assemble(b'{"\xff\xfe": 1}'), "UTF-8"),
    "bad json": (lambda: assemble(b'{"a": '), "not valid JSON"),
    "json list": (lambda: assemble(b"[1, 2]"), "JSON object"),
    "json nan": (lambda: assemble(b'{"__metadata__": {"a": NaN}}'),
                 "not JSON"),
    "deep json": (lambda: assemble(b"[" * 100000 + b"]" * 100000),
                  "not valid JSON"),
    "duplicate key": (lambda: assemble(b'{"a": 1, "a": 2}'), "twice"),
    "metadata not dict": (lambda: assemble({"__metadata__": [1]}),
                          "__metadata__"),
    "metadata not str": (lambda: assemble({"__metadata__": {"a": 1}}),
                         "must be a string"),
    "entry not dict": (lambda: mutated(lambda h: h.update(
        {"layers.0.weight": 5})), "entry must be an object"),
    "entry extra key": (lambda: mutated(set_entry(
        "layers.0.weight", "extra", 1)), "exactly dtype"),
    "dtype unknown": (lambda: mutated(set_entry(
        "layers.0.weight", "dtype", "F128")), "unknown dtype"),
    "dtype lowercase": (lambda: mutated(set_entry(
        "layers.0.weight", "dtype", "f64")), "unknown dtype"),
    "dtype not str": (lambda: mutated(set_entry(
        "layers.0.weight", "dtype", 8)), "unknown dtype"),
    "dtype int for net": (lambda: mutated(all_dtypes("I64")), "F64 or F32"),
    "mixed dtypes": (lambda: mutated(set_entry(
        "layers.1.bias", "dtype", "I64")), "F64 or F32"),
    "dtype size mismatch": (lambda: mutated(set_entry(
        "layers.0.weight", "dtype", "F32")), "needs"),
    "shape negative": (lambda: mutated(set_entry(
        "layers.0.weight", "shape", [-5, -3])), "non-negative"),
    "shape float": (lambda: mutated(set_entry(
        "layers.0.weight", "shape", [5.0, 3])), "non-negative integers"),
    "shape bool": (lambda: mutated(set_entry(
        "layers.0.weight", "shape", [True, 15])), "non-negative integers"),
    "shape not list": (lambda: mutated(set_entry(
        "layers.0.weight", "shape", "5,3")), "list"),
    "shape too many dims": (lambda: mutated(set_entry(
        "layers.0.weight", "shape", [1] * 40 + [15])), "dimensions"),
    "shape bytes mismatch": (lambda: mutated(set_entry(
        "layers.0.weight", "shape", [5, 4])), "needs"),
    "shape transposed": (lambda: mutated(set_entry(
        "layers.0.weight", "shape", [3, 5])), "need \\[5, 3\\]"),
    "offsets out of range": (lambda: mutated(set_entry(
        "layers.1.bias", "data_offsets", [10**6, 10**6 + 16])),
        "past the end"),
    "offsets negative": (lambda: mutated(set_entry(
        "layers.0.weight", "data_offsets", [-8, 112])), "non-negative"),
    "offsets float": (lambda: mutated(set_entry(
        "layers.0.weight", "data_offsets", [0.0, 120.0])), "integers"),
    "offsets string": (lambda: mutated(set_entry(
        "layers.0.weight", "data_offsets", ["0", "120"])), "integers"),
    "offsets three": (lambda: mutated(set_entry(
        "layers.0.weight", "data_offsets", [0, 60, 120])), "two"),
    "offsets reversed": (lambda: mutated(set_entry(
        "layers.0.weight", "data_offsets", [120, 0])), "after"),
    "offsets huge int": (lambda: mutated(set_entry(
        "layers.0.weight", "data_offsets", [0, 2**80])), "needs"),
    "overlap": (lambda: mutated(set_entry(
        "layers.0.bias", "data_offsets", [80, 120])), "overlap"),
    "gap": (lambda: mutated(set_entry(
        "layers.1.bias", "data_offsets", [0, 16])), "overlap|gap"),
    "trailing bytes": (lambda: good_bytes() + b"\x00" * 8, "cover"),
    "no metadata": (lambda: mutated(lambda h: h.pop("__metadata__") and None),
                    "no __metadata__"),
    "format missing": (lambda: mutated(set_meta("format", None)), "format"),
    "format other": (lambda: mutated(set_meta("format", "torch")),
                     "not a pybp model"),
    "version missing": (lambda: mutated(set_meta("format_version", None)),
                        "format_version"),
    "version unknown": (lambda: mutated(set_meta("format_version", "2")),
                        "unsupported format_version '2'"),
    "version int-like": (lambda: mutated(set_meta("format_version", "1.0")),
                         "unsupported format_version"),
    "activation unknown": (lambda: mutated(set_meta(
        "activations", '["tanh", "swish"]')), "swish"),
    "softmax hidden": (lambda: mutated(set_meta(
        "activations", '["softmax", "softmax"]')), "softmax"),
    "activation count": (lambda: mutated(set_meta(
        "activations", '["tanh"]')), "one name per"),
    "activations not json": (lambda: mutated(set_meta(
        "activations", "tanh,softmax")), "not valid JSON"),
    "activations not names": (lambda: mutated(set_meta(
        "activations", "[1, 2]")), "list of names"),
    "sizes mismatch": (lambda: mutated(set_meta("sizes", "[3, 4, 2]")),
                       "shape"),
    "sizes not list": (lambda: mutated(set_meta("sizes", '"3,5,2"')),
                       "list"),
    "sizes zero": (lambda: mutated(set_meta("sizes", "[3, 0, 2]")),
                   "sizes"),
    "sizes huge": (lambda: mutated(set_meta("sizes", "[100000000000, "
                                            "100000000000, 2]")), "sizes"),
    "sizes missing": (lambda: mutated(set_meta("sizes", None)), "sizes"),
    "bias not bool": (lambda: mutated(set_meta("bias", "yes")), "bias"),
    "bias says false": (lambda: mutated(set_meta("bias", "false")),
                        "unexpected tensor"),
    "bias says true": (lambda: mutated(set_meta("bias", "true"),
                                       bias=False), "missing tensor"),
    "missing tensor": (lambda: assemble(*_without("layers.1.bias")),
                       r"missing tensor.*layers\.1\.bias"),
    "missing tensor, bytes left": (lambda: mutated(
        lambda h: h.pop("layers.1.bias") and None), "cover"),
    "real gap": (lambda: assemble(*_with_gap()), "gap"),
    "sizes huge, no allocation": (lambda: mutated(set_meta(
        "sizes", "[1000000000, 1000000000, 2]")), "shape"),
    "extra tensor": (lambda: assemble(*_with_extra()), "unexpected tensor"),
    "nan weight": (lambda: _nan_file(), "NaN"),
}


def _with_extra():
    header, buf = header_of(good_bytes())
    header["layers.9.weight"] = {"dtype": "F64", "shape": [1],
                                 "data_offsets": [len(buf), len(buf) + 8]}
    return header, buf + struct.pack("<d", 1.0)


def _without(name):
    header, buf = header_of(good_bytes())
    b, e = header.pop(name)["data_offsets"]
    assert e == len(buf)
    return header, buf[:b]


def _with_gap():
    header, buf = header_of(good_bytes())
    b, e = header["layers.1.bias"]["data_offsets"]
    header["layers.1.bias"]["data_offsets"] = [b + 8, e + 8]
    return header, buf[:b] + b"\x00" * 8 + buf[b:]


def _nan_file():
    net = make_net()
    data = bytearray(pybp.io.to_bytes(net))
    n, header, _, _, _ = parse_independently(bytes(data))
    begin = 8 + n + header["layers.1.weight"]["data_offsets"][0]
    data[begin:begin + 8] = struct.pack("<d", float("nan"))
    return bytes(data)


def test_the_good_file_loads():
    # The mutations below start from this file: it must be valid.
    header, buf = header_of(good_bytes())
    assert_same(pybp.io.from_bytes(assemble(header, buf)), make_net())
    swapped = mutated(lambda h: move_tensor_bytes(h))
    assert pybp.io.from_bytes(swapped).sizes == (3, 5, 2)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_raises_format_error(tmp_path, name):
    make, pattern = BAD_FILES[name]
    data = make()
    path = tmp_path / "bad.safetensors"
    path.write_bytes(data)
    with pytest.raises(FormatError, match=pattern):
        pybp.load(path)
    with pytest.raises(FormatError, match=pattern):
        pybp.io.from_bytes(data)
    # A stream of unknown length: the same verdict (the message may differ
    # where the file's size matters).
    with pytest.raises(FormatError):
        pybp.io.load(io.BytesIO(data))


def test_truncation_everywhere_is_format_error(tmp_path):
    data = good_bytes(sizes=(3, 2, 1), acts=("tanh", "sigmoid"))
    path = tmp_path / "t.safetensors"
    for cut in range(len(data)):
        path.write_bytes(data[:cut])
        with pytest.raises(FormatError):
            pybp.load(path)
        with pytest.raises(FormatError):
            pybp.io.load(io.BytesIO(data[:cut]))


def test_flipped_bytes_never_crash():
    data = good_bytes(sizes=(3, 2, 1), acts=("tanh", "sigmoid"))
    (n,) = struct.unpack("<Q", data[:8])
    rng = np.random.default_rng(1234)
    errors = 0
    for _ in range(1500):
        d = bytearray(data)
        for pos in rng.integers(0, len(d), size=rng.integers(1, 4)):
            d[pos] ^= int(rng.integers(1, 256))
        try:
            net = pybp.io.from_bytes(bytes(d))
        except FormatError:
            errors += 1
        else:
            assert net.sizes == (3, 2, 1)
            assert np.isfinite(net.params).all()
    # Most flips hit the header (it is most of this small file).
    assert errors > 1500 * 0.5 * (8 + n) / len(data)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_mutations_only_format_error(data):
    base = bytearray(good_bytes(sizes=(2, 3, 1), acts=("relu", "identity"),
                                bias=data.draw(st.booleans())))
    ops = data.draw(st.lists(st.tuples(
        st.sampled_from(["set", "insert", "delete", "truncate", "length"]),
        st.integers(0, len(base)), st.integers(0, 255)),
        min_size=1, max_size=5))
    for op, pos, value in ops:
        pos = min(pos, len(base))
        if op == "set" and pos < len(base):
            base[pos] = value
        elif op == "insert":
            base[pos:pos] = bytes([value])
        elif op == "delete":
            del base[pos:pos + 1 + value % 4]
        elif op == "truncate":
            del base[pos:]
        elif op == "length" and len(base) >= 8:
            base[0:8] = struct.pack("<Q", value * 97 + pos)
    try:
        net = pybp.io.from_bytes(bytes(base))
    except FormatError:
        return
    assert isinstance(net, pybp.Network)
    assert np.isfinite(net.params).all()


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20))
def test_random_json_headers_only_format_error(header):
    raw = json.dumps(header).encode()
    with pytest.raises(FormatError):
        pybp.io.from_bytes(assemble(raw, b"\x00" * 16))


# ---- atomic saving ---------------------------------------------------------

def test_save_over_existing_replaces_whole_file(tmp_path):
    path = tmp_path / "m.safetensors"
    old, new = make_net([3, 5, 2], ["tanh", "softmax"]), make_net(
        [2, 8, 8, 1], ["relu", "relu", "sigmoid"], seed=3)
    old.save(path)
    new.save(path)
    assert path.read_bytes() == pybp.io.to_bytes(new)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


@pytest.mark.parametrize("fail", ["fsync", "replace", "write", "interrupt"])
def test_failed_save_leaves_old_file(tmp_path, monkeypatch, fail):
    path = tmp_path / "m.safetensors"
    old = make_net()
    old.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise (KeyboardInterrupt if fail == "interrupt" else
               OSError("disk full"))

    if fail in ("fsync", "interrupt"):
        monkeypatch.setattr(os, "fsync", boom)
    elif fail == "replace":
        monkeypatch.setattr(os, "replace", boom)
    else:
        class Exploding:
            nbytes = 8

            def reshape(self, *shape):
                raise OSError("disk full mid-write")
        real = pybp.io._encode_tensors

        def encode(tensors, metadata):
            prefix, arrays = real(tensors, metadata)
            return prefix, arrays[:1] + [Exploding()]  # fails midway
        monkeypatch.setattr(pybp.io, "_encode_tensors", encode)
    with pytest.raises((OSError, KeyboardInterrupt)):
        make_net([2, 8, 1], ["tanh", "tanh"], seed=5).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
    assert_same(pybp.load(path), old)


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(
        OSError("no")))
    with pytest.raises(OSError):
        make_net().save(tmp_path / "m.safetensors")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_save_keeps_permissions(tmp_path):
    path = tmp_path / "m.safetensors"
    make_net().save(path)
    umask = pybp.io._umask()
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    os.chmod(path, 0o640)
    make_net(seed=2).save(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640


def test_concurrent_save_and_load_never_see_partial_files(tmp_path):
    path = tmp_path / "m.safetensors"
    nets = [make_net([3, 5, 2], ["tanh", "softmax"], seed=1),
            make_net([4, 16, 16, 3], ["relu", "tanh", "sigmoid"], seed=2,
                     dtype="float32")]
    blobs = {pybp.io.to_bytes(n) for n in nets}
    nets[0].save(path)
    errors, loads = [], [0]
    done = threading.Event()

    def writer():
        try:
            for i in range(300):
                nets[i % 2].save(path)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    def reader():
        try:
            while not done.is_set() or loads[0] < 300:
                net = pybp.load(path)
                assert pybp.io.to_bytes(net) in blobs
                loads[0] += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert loads[0] >= 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


# ---- pickle, copy, dicts ---------------------------------------------------

@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("backend", ["c", "python"])
def test_pickle_and_copies(dtype, backend):
    net = make_net([4, 6, 3], ["leaky_relu", "softmax"], dtype=dtype,
                   backend=backend)
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(net, protocol=proto))
        assert_same(net, back)
        assert back.backend == backend
    for clone in (copy.copy(net), copy.deepcopy(net),
                  copy.deepcopy([net, net])[0]):
        assert clone is not net
        assert_same(net, clone)
        assert clone.backend == backend
        clone.params[0] += 1.0
        assert clone.params[0] != net.params[0]
    X = np.random.default_rng(0).standard_normal((5, 4))
    np.testing.assert_array_equal(copy.deepcopy(net).predict(X),
                                  net.predict(X))


def test_pickle_keeps_non_finite_parameters():
    net = make_net()
    net.weights[1][0, 0] = np.inf
    net.biases[0][1] = np.nan
    back = pickle.loads(pickle.dumps(net))
    assert back.params.tobytes() == net.params.tobytes()
    assert copy.deepcopy(net).params.tobytes() == net.params.tobytes()


def test_pickle_payload_is_the_file_bytes():
    net = make_net()
    func, args = net.__reduce__()
    assert func is pybp.io._from_bytes
    assert args == (pybp.io.to_bytes(net), "c")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("sizes,acts", ARCHS)
def test_dict_json_round_trip_exact(dtype, bias, sizes, acts):
    net = make_net(sizes, acts, bias=bias, dtype=dtype)
    d = net.to_dict()
    assert d["sizes"] == list(sizes) and d["dtype"] == dtype
    assert d["activations"] == list(acts) and d["bias"] is bias
    assert len(d["biases"]) == (len(sizes) - 1 if bias else 0)
    back = pybp.Network.from_dict(json.loads(json.dumps(d)))
    assert_same(net, back)


def _dict_with(**changes):
    d = make_net().to_dict()
    for key, value in changes.items():
        if value is KeyError:
            del d[key]
        else:
            d[key] = value
    return d


@pytest.mark.parametrize("d,exc,pattern", [
    ([1, 2], TypeError, "dict"),
    (_dict_with(weights=KeyError), FormatError, "weights"),
    (_dict_with(sizes=KeyError), FormatError, "sizes"),
    (_dict_with(extra=1), FormatError, "unknown key"),
    (_dict_with(format="fann"), FormatError, "format"),
    (_dict_with(format_version=9), FormatError, "format_version"),
    (_dict_with(sizes=[3, 4, 2]), FormatError, "shape"),
    (_dict_with(sizes="352"), FormatError, "sizes"),
    (_dict_with(activations=["tanh", "nope"]), FormatError, "nope"),
    (_dict_with(activations=["softmax", "softmax"]), FormatError, "softmax"),
    (_dict_with(bias="true"), FormatError, "bias"),
    (_dict_with(dtype="float16"), FormatError, "dtype"),
    (_dict_with(weights=[[[0.0] * 3] * 5]), FormatError, "2 layer"),
    (_dict_with(weights=[[[0.0] * 3] * 5, [["x"] * 5] * 2]), FormatError,
     "real numbers"),
    (_dict_with(weights=[[[0.0] * 3] * 5, [[0.0] * 5, [0.0] * 4]]),
     FormatError, "rectangular|shape"),
    (_dict_with(weights=[[[0.0] * 3] * 5, [[float("nan")] * 5] * 2]),
     FormatError, "NaN"),
    (_dict_with(weights=[[[0.0] * 3] * 5, [[True] * 5] * 2]), FormatError,
     "real numbers"),
    (_dict_with(weights="abc"), FormatError, "weights"),
    (_dict_with(biases=[[0.0] * 5]), FormatError, "biases"),
    (_dict_with(biases=[[0.0] * 5, [0.0] * 3]), FormatError, "shape"),
    (_dict_with(dtype="float32", weights=[[[1e300] * 3] * 5, [[0.0] * 5] * 2]),
     FormatError, "too large"),
])
def test_from_dict_rejects_bad_dicts(d, exc, pattern):
    with pytest.raises(exc, match=pattern):
        pybp.Network.from_dict(d)


def test_from_dict_without_biases_key():
    net = make_net(bias=False)
    d = net.to_dict()
    del d["biases"]
    assert_same(pybp.Network.from_dict(d), net)
