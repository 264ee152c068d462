"""ONNX export (optional: ``pip install "pybp[onnx]"``).

One Gemm per layer, transB=1 with the (n_out, n_in) weights as stored, then
the layer's activation.  pybp writes ONNX; it does not read it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from pybp import _registry, _validate
from pybp.io._files import write_to
from pybp.io.model import check_net

if TYPE_CHECKING:
    from pybp._typing import Target
    from pybp.network import Network

_ONNX_OPS: dict[str, tuple[str, dict[str, Any]]] = {
    "sigmoid": ("Sigmoid", {}), "tanh": ("Tanh", {}), "relu": ("Relu", {}),
    "leaky_relu": ("LeakyRelu", {"alpha": _registry.LEAKY_SLOPE}),
    "identity": ("Identity", {}), "softmax": ("Softmax", {"axis": -1}),
}
assert set(_ONNX_OPS) == set(_registry.ACTIVATIONS), "an activation has no ONNX op"


def export_onnx(net: Network, file: Target, *, opset: int = 17) -> Any:
    """Export a network as an ONNX model.

    One Gemm per layer (transB=1 with the (n_out, n_in) weights, plus the
    bias when the network has one) followed by its activation (Sigmoid,
    Tanh, Relu, LeakyRelu alpha=0.01, Identity, Softmax axis=-1).  Input
    "input" of shape [batch, n_inputs] (symbolic batch), output "output";
    element type float32 or float64 as the network's dtype.  Needs the
    optional onnx package: ``pip install "pybp[onnx]"``.  Returns the
    onnx ModelProto (also written to `file`, a path or binary file object).
    """
    check_net(net)
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
    write_to(file, lambda f: f.write(data))
    return model
