"""ONNX export (optional extra: pip install "pybp[onnx]")."""
import io
import sys

import numpy as np
import pytest

import pybp

ALL_ACTS = ["sigmoid", "tanh", "relu", "leaky_relu", "identity"]


@pytest.fixture
def onnx():
    return pytest.importorskip("onnx")


@pytest.fixture
def ort():
    return pytest.importorskip("onnxruntime")


def make_net(sizes, acts, bias=True, dtype="float32", seed=0):
    net = pybp.Network(sizes, activation=acts, bias=bias, dtype=dtype,
                       seed=seed)
    if bias:
        rng = np.random.default_rng(seed + 1)
        for b in net.biases:
            b[...] = rng.uniform(-0.5, 0.5, b.shape)
    return net


def run(ort, path, X):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == ["input"]
    assert [o.name for o in sess.get_outputs()] == ["output"]
    return sess.run(["output"], {"input": X})[0]


def tolerance(dtype, acts):
    if dtype == "float32":
        return dict(rtol=1e-5, atol=1e-6)
    if "leaky_relu" in acts:
        # ONNX stores LeakyRelu's alpha as a float32 attribute (0.01f).
        return dict(rtol=1e-8, atol=1e-9)
    return dict(rtol=1e-12, atol=1e-14)


CASES = [
    ([3, 4, 2], ["tanh", "softmax"]),
    ([5, 6, 6, 3], ["relu", "leaky_relu", "sigmoid"]),
    ([2, 8, 1], ["sigmoid", "identity"]),
    ([4, 3], ["softmax"]),
    ([6, 5, 5, 5, 5, 5, 4], ALL_ACTS + ["softmax"]),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("sizes,acts", CASES)
def test_onnxruntime_matches_predict(onnx, ort, tmp_path, dtype, bias,
                                     sizes, acts):
    net = make_net(sizes, acts, bias=bias, dtype=dtype)
    path = tmp_path / "m.onnx"
    pybp.io.export_onnx(net, path)
    for n in (1, 17):
        X = np.random.default_rng(n).standard_normal((n, sizes[0])) * 2
        X = X.astype(dtype)
        got = run(ort, path, X)
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_allclose(got, net.predict(X),
                                   **tolerance(dtype, acts))
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]


def test_graph_structure(onnx, tmp_path):
    net = make_net([3, 4, 2], ["leaky_relu", "softmax"], dtype="float64")
    pybp.io.export_onnx(net, tmp_path / "m.onnx")
    model = onnx.load(str(tmp_path / "m.onnx"))
    onnx.checker.check_model(model)
    g = model.graph
    assert [n.op_type for n in g.node] == ["Gemm", "LeakyRelu", "Gemm",
                                           "Softmax"]
    attrs = {n.op_type: {a.name: onnx.helper.get_attribute_value(a)
                         for a in n.attribute} for n in g.node}
    assert attrs["Gemm"] == {"transB": 1}
    assert attrs["LeakyRelu"]["alpha"] == pytest.approx(0.01)
    assert attrs["Softmax"] == {"axis": -1}
    (inp,), (out,) = g.input, g.output
    assert inp.name == "input" and out.name == "output"
    dims = inp.type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and dims[1].dim_value == 3
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in g.initializer}
    np.testing.assert_array_equal(inits["layers.0.weight"], net.weights[0])
    assert inits["layers.0.weight"].shape == (4, 3)
    np.testing.assert_array_equal(inits["layers.1.bias"], net.biases[1])


def test_no_bias_gemm_has_two_inputs(onnx):
    buf = io.BytesIO()
    model = pybp.io.export_onnx(make_net([3, 2], ["identity"], bias=False),
                                buf)
    assert list(model.graph.node[0].input) == ["input", "layers.0.weight"]
    assert onnx.load_from_string(buf.getvalue()) == model
    assert model.graph.input[0].type.tensor_type.elem_type == \
        onnx.TensorProto.FLOAT


def test_export_needs_onnx(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx fails
    with pytest.raises(ImportError, match=r'pip install "pybp\[onnx\]"'):
        pybp.io.export_onnx(make_net([2, 1], ["sigmoid"]), tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


def test_export_rejects_non_networks(onnx, tmp_path):
    with pytest.raises(TypeError):
        pybp.io.export_onnx("net", tmp_path / "m.onnx")
