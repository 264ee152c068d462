"""pybp's own model files (pybp.io.save/load, to_bytes/from_bytes): round
trips, and malformed files raising only FormatError."""
import io
import struct
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pybp
from pybp import FormatError
# tests/ is on sys.path (conftest.py)
from helpers_io import (ARCHS, assemble, assert_same, good_bytes,
                        header_of, make_net, parse_independently)



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


# ---- the caller's metadata (pybp.io.save(..., metadata=), load_metadata) ---

CLI_METADATA = {
    "input_mean": [0.5, -1.25, 3.0], "input_scale": [1.0, 2.0, 0.1],
    "classes": ["bad", "good", "ok"], "epochs": 12, "note": "ünïcode ✓",
    "nested": {"a": [1, None, True, {"b": 1e-300}]}, "format": "not pybp's",
    "sizes": "mine", "": 0,
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_metadata_round_trip(tmp_path, dtype):
    net = make_net(dtype=dtype)
    path = tmp_path / "m.safetensors"
    pybp.io.save(net, path, metadata=CLI_METADATA)
    assert pybp.io.load_metadata(path) == CLI_METADATA
    # pybp.load ignores it; keys that look like pybp's collide with nothing
    assert_same(pybp.load(path), net)
    _, meta = pybp.io.read_safetensors(path)
    assert meta["format"] == "pybp" and meta["user.format"] == '"not pybp\'s"'
    # streams and bytes too
    buf = io.BytesIO()
    pybp.io.save(net, buf, metadata={"k": [1, 2]})
    assert pybp.io.load_metadata(io.BytesIO(buf.getvalue())) == {"k": [1, 2]}
    assert pybp.io.load_metadata(buf.getvalue()) == {"k": [1, 2]}


def test_metadata_absent_or_empty_is_empty_dict(tmp_path):
    net = make_net()
    net.save(tmp_path / "a.safetensors")
    pybp.io.save(net, tmp_path / "b.safetensors", metadata={})
    assert pybp.io.load_metadata(tmp_path / "a.safetensors") == {}
    assert pybp.io.load_metadata(tmp_path / "b.safetensors") == {}
    assert (tmp_path / "a.safetensors").read_bytes() == \
        (tmp_path / "b.safetensors").read_bytes()


def test_metadata_tuples_come_back_as_lists(tmp_path):
    pybp.io.save(make_net(), tmp_path / "m", metadata={"t": (1, (2, 3))})
    assert pybp.io.load_metadata(tmp_path / "m") == {"t": [1, [2, 3]]}


def test_checkpoint_metadata_is_empty(tmp_path):
    net = make_net()
    trainer = pybp.Trainer(optimizer=pybp.optim.SGD(0.1))
    trainer.save(tmp_path / "c", net)
    assert pybp.io.load_metadata(tmp_path / "c") == {}


@pytest.mark.parametrize("metadata,pattern", [
    ([("a", 1)], "dict"),
    ({1: "a"}, "keys must be str"),
    ({"a": {2: "x"}}, "keys must be str"),
    ({"a": float("nan")}, "not JSON"),
    ({"a": [1.0, float("inf")]}, "not JSON"),
    ({"a": np.zeros(3)}, "tolist"),
    ({"a": {1, 2}}, "set"),
    ({"a": b"bytes"}, "bytes"),
    ({"a": 10**80}, "longer than"),
])
def test_metadata_refused_on_save(tmp_path, metadata, pattern):
    path = tmp_path / "m.safetensors"
    with pytest.raises(TypeError, match=pattern):
        pybp.io.save(make_net(), path, metadata=metadata)
    assert not path.exists()


def test_metadata_nested_too_deep_refused(tmp_path):
    value = []
    for _ in range(100):
        value = [value]
    with pytest.raises(TypeError, match="nested"):
        pybp.io.save(make_net(), tmp_path / "m", metadata={"a": value})


@pytest.mark.parametrize("text", ['{"a": ', "NaN", "[1, 2", "'x'",
                                  "1" * 100, '{"a": 1, "a": 2}'])
def test_bad_metadata_json_is_format_error_on_load(tmp_path, text):
    tensors, meta = pybp.io._network_tensors(make_net())
    meta["user.bad"] = text
    pybp.io.write_safetensors(tmp_path / "m", tensors, meta)
    with pytest.raises(FormatError, match="user.bad"):
        pybp.io.load_metadata(tmp_path / "m")
    assert_same(pybp.load(tmp_path / "m"), make_net())   # load ignores it


def test_load_metadata_validates_the_header(tmp_path):
    with pytest.raises(FormatError, match="not a pybp model"):
        pybp.io.load_metadata(assemble(b'{}'.ljust(8)))
    pybp.io.write_safetensors(tmp_path / "t", {"x": np.zeros(2)},
                              {"format": "other"})
    with pytest.raises(FormatError, match="format"):
        pybp.io.load_metadata(tmp_path / "t")
    with pytest.raises(FileNotFoundError):
        pybp.io.load_metadata(tmp_path / "missing")


# ---- other formats given to pybp.load --------------------------------------

def test_load_recognises_a_fann_file(tmp_path):
    net = pybp.Network([2, 3, 1], "tanh", "sigmoid", seed=0)
    pybp.io.save_fann(net, tmp_path / "m.net")
    for source in (tmp_path / "m.net", (tmp_path / "m.net").read_bytes(),
                   io.BytesIO((tmp_path / "m.net").read_bytes())):
        with pytest.raises(FormatError, match=r"FANN.*pybp\.io\.load_fann"):
            pybp.load(source)
    with pytest.raises(FormatError, match="load_fann"):
        pybp.load(b"FANN_")          # even shorter than 8 bytes


# Bytes as an ONNX exporter writes them: ir_version (field 1), then the
# producer name (field 2); made by hand so that the test needs no onnx.
_ONNX_HEAD = b"\x08\x08\x12\x04pybp\x1a\x050.1.0" + b"\x00" * 40


def test_load_recognises_an_onnx_file(tmp_path):
    (tmp_path / "m.bin").write_bytes(_ONNX_HEAD)
    (tmp_path / "junk.onnx").write_bytes(b"\xff" * 64)
    for path in (tmp_path / "m.bin", tmp_path / "junk.onnx"):
        with pytest.raises(FormatError, match="pybp cannot load ONNX; it "
                                              "exports it"):
            pybp.load(path)


def test_onnx_sniffing_does_not_touch_valid_files(tmp_path):
    # A valid pybp file named .onnx still loads.
    net = make_net()
    net.save(tmp_path / "really-pybp.onnx")
    assert_same(pybp.load(tmp_path / "really-pybp.onnx"), net)
    # Other garbage keeps its own message.
    with pytest.raises(FormatError, match="header length"):
        pybp.load(b"\xff" * 64)


def test_real_onnx_export_is_recognised(tmp_path):
    pytest.importorskip("onnx")
    pybp.io.export_onnx(make_net(), tmp_path / "m.data")
    with pytest.raises(FormatError, match="cannot load ONNX"):
        pybp.load(tmp_path / "m.data")


# ---- linear time on hostile headers ----------------------------------------

def _timed(func, *args):
    t = time.perf_counter()
    with pytest.raises(FormatError):
        func(*args)
    return time.perf_counter() - t


@pytest.mark.parametrize("make", [
    lambda n: b'{"a":{"dtype":"F64","shape":[' + b"1" * n + b"x",
    lambda n: b'{"a":{"dtype":"F64","shape":[' + b"1" * n + b"]",
    lambda n: b'{"a":{"dtype":"F64","shape":[1.' + b"5" * n + b"e",
    lambda n: b'{"__metadata__":{"sizes":"[' + b"7" * n + b'"}}',
    lambda n: b"[" * n,
    lambda n: b'{"' + b"a" * n,
    lambda n: b'{"a":' + b" " * n,
], ids=["digits", "long int", "long float", "metadata digits", "nesting",
        "long key", "spaces"])
def test_megabyte_hostile_headers_are_fast(make):
    header = make(1 << 20)
    data = assemble(header.ljust(-(-len(header) // 8) * 8))
    assert _timed(pybp.load, data) < 1.0
    assert _timed(pybp.io.load_metadata, data) < 1.0


def test_megabyte_digits_in_metadata_values_are_fast(tmp_path):
    tensors, meta = pybp.io._network_tensors(make_net())
    meta["sizes"] = "[" + "3" * (1 << 20) + "]"
    pybp.io.write_safetensors(tmp_path / "m", tensors, meta)
    assert _timed(pybp.load, tmp_path / "m") < 1.0


def test_network_save_passes_metadata_through(tmp_path):
    net = pybp.Network([3, 4, 2], "tanh", seed=0)
    path = tmp_path / "m.safetensors"
    net.save(path, metadata={"classes": ["a", "b"], "epochs": 3})
    assert pybp.io.load_metadata(path) == {"classes": ["a", "b"], "epochs": 3}
    np.testing.assert_array_equal(pybp.load(path).params, net.params)
    net.save(path)
    assert pybp.io.load_metadata(path) == {}
