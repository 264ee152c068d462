"""pybp networks as PyTorch state dicts, without needing torch.

A pybp network of L layers maps onto

    torch.nn.Sequential(Linear(n0, n1), Act, Linear(n1, n2), Act, ...)

whose state dict has the keys ``"0.weight"``, ``"0.bias"``, ``"2.weight"``,
``"2.bias"``, ...: layer l's Linear is module 2*l (each activation module
has no parameters).  pybp's W has shape (n_out, n_in), which is exactly
``Linear.weight``; the bias is ``Linear.bias``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pybp import _validate
from pybp.io._files import show
from pybp.io.model import build, check_net

if TYPE_CHECKING:
    from pybp._typing import DTypeLike
    from pybp.network import Network

_KEY_RE = re.compile(r"([0-9]{1,9})\.(weight|bias)")


def to_torch_state_dict(net: Network, *,
                        as_tensors: bool = False) -> dict[str, Any]:
    """The state dict of the equivalent ``torch.nn.Sequential``.

    Keys ``"{2l}.weight"`` (n_out, n_in) and, with biases, ``"{2l}.bias"``
    for each layer l, in order.  Values are numpy copies in the network's
    dtype, or torch tensors with ``as_tensors=True`` (ImportError when torch
    is not installed).  ``model.load_state_dict(...)`` accepts either after
    ``torch.as_tensor``; with tensors it accepts the dict directly.
    """
    check_net(net)
    as_tensors = _validate.flag("as_tensors", as_tensors)
    out: dict[str, Any] = {}
    for l, W in enumerate(net.weights):
        out[f"{2 * l}.weight"] = np.array(W)
        if net.bias:
            out[f"{2 * l}.bias"] = np.array(net.biases[l])
    if as_tensors:
        try:
            import torch
        except ImportError as exc:
            raise ImportError("to_torch_state_dict(as_tensors=True) needs "
                              "torch; without it, leave as_tensors=False "
                              "for numpy arrays") from exc
        out = {k: torch.from_numpy(v) for k, v in out.items()}
    return out


def _as_numpy(key: str, value: object) -> np.ndarray[Any, Any]:
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if not isinstance(value, np.ndarray):
        raise TypeError(f"state_dict[{key!r}] must be a torch tensor or a "
                        f"numpy array; got {type(value).__name__}")
    if value.dtype not in (np.float64, np.float32):
        raise TypeError(f"state_dict[{key!r}] has dtype {value.dtype}; "
                        "expected float64 or float32")
    return value


def from_torch_state_dict(state_dict: Mapping[Any, Any],
                          activations: str | Sequence[str],
                          output_activation: str | None = None, *,
                          dtype: DTypeLike | None = None,
                          backend: str = "c") -> Network:
    """A pybp Network from the state dict of a ``torch.nn.Sequential`` of
    Linear layers and activations (keys ``"0.weight"``, ``"0.bias"``,
    ``"2.weight"``, ...; any indices, in increasing order).

    activations: the activation modules, which the state dict cannot hold:
    one name per Linear layer (e.g. ``["relu", "identity"]``), or one name
    for every layer with output_activation naming the last one's, as for
    ``pybp.Network(activation=..., output_activation=...)``.  The Linear layers must chain
    (each one's in_features is the previous one's out_features) and all or
    none have a bias.  dtype: "float64" or "float32"; by default the
    tensors' dtype (which must then be one).  Values must be finite.
    Raises TypeError/ValueError saying what is wrong.
    """
    if not hasattr(state_dict, "items"):
        raise TypeError("state_dict must be a dict (module.state_dict()); got "
                        f"{type(state_dict).__name__}")
    layers: dict[int, dict[str, np.ndarray[Any, Any]]] = {}
    for key, value in state_dict.items():
        m = _KEY_RE.fullmatch(key) if isinstance(key, str) else None
        if m is None:
            raise ValueError(f"unexpected key {show(key)}: expected "
                             "'<index>.weight' or '<index>.bias' of a "
                             "torch.nn.Sequential of Linear layers")
        layers.setdefault(int(m.group(1)), {})[m.group(2)] = _as_numpy(
            key, value)
    if not layers:
        raise ValueError("state_dict has no Linear layers")
    order = sorted(layers)
    weights: list[np.ndarray[Any, Any]] = []
    biases: list[Any] = []  # arrays, or None for a Linear without bias
    for i in order:
        if "weight" not in layers[i]:
            raise ValueError(f"state_dict has {i}.bias but no {i}.weight")
        W = layers[i]["weight"]
        if W.ndim != 2:
            raise ValueError(f"{i}.weight must be 2-D (out_features, "
                             f"in_features); got shape {W.shape}")
        if weights and W.shape[1] != weights[-1].shape[0]:
            raise ValueError(f"{i}.weight has in_features {W.shape[1]}, but "
                             f"the previous Linear has out_features "
                             f"{weights[-1].shape[0]}")
        weights.append(W)
        b = layers[i].get("bias")
        if b is not None and b.shape != (W.shape[0],):
            raise ValueError(f"{i}.bias must have shape ({W.shape[0]},); got "
                             f"{b.shape}")
        biases.append(b)
    has_bias = {b is not None for b in biases}
    if len(has_bias) != 1:
        raise ValueError("either every Linear layer has a bias or none does")
    bias = has_bias.pop()
    if dtype is None:
        dtypes = {a.dtype for a in weights + [b for b in biases if bias]}
        if len(dtypes) != 1:
            raise ValueError("the tensors mix float32 and float64; pass "
                             "dtype='float32' or 'float64'")
        dtype = dtypes.pop().name
    dtype = _validate.choice("dtype", dtype, _validate.DTYPES)
    sizes = _validate.sizes([weights[0].shape[1]] +
                            [W.shape[0] for W in weights])
    acts = _validate.activations(activations, output_activation,
                                 len(sizes) - 1)
    for key, a in zip(order, weights):
        if not np.isfinite(a).all():
            raise ValueError(f"{key}.weight contains NaN or infinite values")
    for key, a in zip(order, biases if bias else []):
        if not np.isfinite(a).all():
            raise ValueError(f"{key}.bias contains NaN or infinite values")
    return build(sizes, acts, bias, dtype, weights,
                 biases if bias else [], backend)
