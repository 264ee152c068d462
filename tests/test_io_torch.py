"""pybp networks as torch.nn.Sequential state dicts (pybp.io.torch):
without torch on numpy arrays, and against real torch when installed."""
import numpy as np
import pytest

import pybp
# tests/ is on sys.path (conftest.py)
from helpers_io import ARCHS, assert_same, make_net


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("sizes,acts", ARCHS)
def test_state_dict_round_trip_exact(dtype, bias, sizes, acts):
    net = make_net(sizes, acts, bias=bias, dtype=dtype)
    sd = pybp.io.to_torch_state_dict(net)
    keys = [f"{2 * l}.{p}" for l in range(len(acts))
            for p in (("weight", "bias") if bias else ("weight",))]
    assert list(sd) == keys
    for l, W in enumerate(net.weights):
        assert sd[f"{2 * l}.weight"].shape == (sizes[l + 1], sizes[l])
        assert sd[f"{2 * l}.weight"].dtype == net.dtype
        np.testing.assert_array_equal(sd[f"{2 * l}.weight"], W)
        if bias:
            np.testing.assert_array_equal(sd[f"{2 * l}.bias"], net.biases[l])
    back = pybp.io.from_torch_state_dict(sd, acts)
    assert_same(back, net)


def test_state_dict_holds_copies():
    net = make_net()
    sd = pybp.io.to_torch_state_dict(net)
    sd["0.weight"][...] = 7.0
    assert not (net.weights[0] == 7.0).any()
    back = pybp.io.from_torch_state_dict(sd, ["tanh", "softmax"])
    sd["0.weight"][...] = 8.0
    assert (back.weights[0] == 7.0).all()


def test_from_state_dict_activation_forms_and_indices():
    net = make_net([3, 4, 4, 2], ["relu", "relu", "identity"])
    sd = pybp.io.to_torch_state_dict(net)
    a = pybp.io.from_torch_state_dict(sd, "relu", "identity")
    assert a.activations == ("relu", "relu", "identity")
    assert_same(a, net)
    # Any increasing indices (e.g. Sequential(Linear, ReLU, Dropout, Linear))
    renamed = {k.replace("2.", "3.").replace("4.", "7."): v
               for k, v in sd.items()}
    assert_same(pybp.io.from_torch_state_dict(renamed, "relu", "identity"),
                net)
    # dtype conversion on request
    b = pybp.io.from_torch_state_dict(sd, "relu", "identity",
                                      dtype="float32")
    assert b.dtype == np.float32
    np.testing.assert_array_equal(b.params, net.params.astype(np.float32))


@pytest.mark.parametrize("change,exc,pattern", [
    (lambda sd: sd.update({"0.running_mean": np.zeros(4)}), ValueError,
     "unexpected key"),
    (lambda sd: sd.update({"layer.0.weight": np.zeros((4, 3))}), ValueError,
     "unexpected key"),
    (lambda sd: sd.pop("2.weight"), ValueError, "no 2.weight"),
    (lambda sd: sd.pop("2.bias"), ValueError, "every Linear layer"),
    (lambda sd: sd.update({"2.weight": np.zeros((2, 4))}), ValueError,
     "in_features 4"),
    (lambda sd: sd.update({"2.bias": np.zeros(3)}), ValueError, "2.bias"),
    (lambda sd: sd.update({"0.weight": np.zeros(4)}), ValueError, "2-D"),
    (lambda sd: sd.update({"0.weight": np.full((5, 3), np.nan)}), ValueError,
     "NaN"),
    (lambda sd: sd.update({"0.bias": np.full(5, np.inf)}), ValueError,
     "NaN or infinite"),
    (lambda sd: sd.update({"0.weight": np.zeros((5, 3), np.int64)}),
     TypeError, "int64"),
    (lambda sd: sd.update({"0.weight": [[0.0] * 3] * 5}), TypeError,
     "numpy array"),
    (lambda sd: sd.update({"0.weight": np.zeros((5, 3), np.float32)}),
     ValueError, "mix float32"),
    (lambda sd: sd.clear(), ValueError, "no Linear"),
])
def test_from_state_dict_refuses_bad_input(change, exc, pattern):
    sd = pybp.io.to_torch_state_dict(make_net())
    change(sd)
    with pytest.raises(exc, match=pattern):
        pybp.io.from_torch_state_dict(sd, ["tanh", "softmax"])


def test_from_state_dict_bad_arguments():
    sd = pybp.io.to_torch_state_dict(make_net())
    with pytest.raises(TypeError, match="state_dict must be a dict"):
        pybp.io.from_torch_state_dict([1, 2], "tanh")
    with pytest.raises(ValueError, match="activation"):
        pybp.io.from_torch_state_dict(sd, ["tanh"])
    with pytest.raises(ValueError, match="softmax"):
        pybp.io.from_torch_state_dict(sd, ["softmax", "tanh"])
    with pytest.raises(ValueError, match="dtype"):
        pybp.io.from_torch_state_dict(sd, ["tanh", "softmax"], dtype="int8")
    with pytest.raises(TypeError, match="Network"):
        pybp.io.to_torch_state_dict(sd)
    with pytest.raises(TypeError, match="as_tensors"):
        pybp.io.to_torch_state_dict(make_net(), as_tensors="yes")


def test_as_tensors_without_torch_says_so(monkeypatch):
    import builtins
    real = builtins.__import__

    def no_torch(name, *args, **kw):
        if name == "torch":
            raise ImportError("No module named 'torch'")
        return real(name, *args, **kw)
    monkeypatch.setattr(builtins, "__import__", no_torch)
    with pytest.raises(ImportError, match="needs torch"):
        pybp.io.to_torch_state_dict(make_net(), as_tensors=True)


# ---- against real torch ----------------------------------------------------

_TORCH_ACTS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "ReLU",
               "identity": "Identity"}


def _sequential(torch, net):
    mods = []
    for W, act in zip(net.weights, net.activations):
        mods.append(torch.nn.Linear(W.shape[1], W.shape[0], bias=net.bias))
        if act == "leaky_relu":
            mods.append(torch.nn.LeakyReLU(0.01))
        elif act == "softmax":
            mods.append(torch.nn.Softmax(dim=-1))
        else:
            mods.append(getattr(torch.nn, _TORCH_ACTS[act])())
    return torch.nn.Sequential(*mods)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("sizes,acts", ARCHS)
def test_torch_sequential_computes_what_pybp_computes(dtype, bias, sizes,
                                                      acts):
    torch = pytest.importorskip("torch")
    net = make_net(sizes, acts, bias=bias, dtype=dtype)
    model = _sequential(torch, net).to(getattr(torch, dtype))
    sd = pybp.io.to_torch_state_dict(net, as_tensors=True)
    assert all(isinstance(v, torch.Tensor) for v in sd.values())
    model.load_state_dict(sd, strict=True)
    X = np.random.default_rng(3).standard_normal((17, sizes[0])).astype(dtype)
    with torch.no_grad():
        got = model(torch.from_numpy(X)).numpy()
    rtol = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(got, net.predict(X), rtol=rtol, atol=rtol)
    # And back: torch's own state dict (tensors) gives the same network.
    assert_same(pybp.io.from_torch_state_dict(model.state_dict(), acts), net)


def test_torch_trained_model_loads_into_pybp():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(),
                                torch.nn.Linear(8, 2))
    net = pybp.io.from_torch_state_dict(model.state_dict(), "tanh",
                                        "identity")
    assert net.sizes == (4, 8, 2) and net.dtype == np.float32
    X = np.random.default_rng(0).standard_normal((9, 4)).astype(np.float32)
    with torch.no_grad():
        want = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(net.predict(X), want, rtol=1e-5, atol=1e-6)
