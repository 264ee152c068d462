"""The safetensors container: pybp.io.read_safetensors/write_safetensors."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pybp
from pybp import FormatError
# tests/ is on sys.path (conftest.py)
from helpers_io import assemble, assert_same, make_net



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
