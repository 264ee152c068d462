"""Pickle, copy (through the model file's bytes) and JSON-able dicts."""
import copy
import json
import pickle

import numpy as np
import pytest

import pybp
from pybp import FormatError
# tests/ is on sys.path (conftest.py)
from helpers_io import ARCHS, assert_same, make_net



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
