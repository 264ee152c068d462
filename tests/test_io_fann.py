"""FANN interop: .net files and training-data files, checked against libfann.

The real FANN C library (Debian's libfann-dev: libdoublefann, libfann) is
driven through ctypes; tests that need it skip when it is not installed.
"""
import ctypes
import ctypes.util
import io
import os
import time
import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import pybp
from pybp import FormatError

FANN_LINEAR, FANN_SIGMOID, FANN_SIGMOID_STEPWISE = 0, 3, 4
FANN_SIGMOID_SYMMETRIC, FANN_GAUSSIAN = 5, 7

# $PYBP_DATASETS, else shared/datasets/fann beside the repository (as in
# conftest.py's fann_dir fixture).
DATASETS = (Path(os.environ["PYBP_DATASETS"]) if os.environ.get("PYBP_DATASETS")
            else Path(__file__).resolve().parents[1].parent / "shared" /
            "datasets" / "fann")


class TrainData(ctypes.Structure):
    _fields_ = [("errno_f", ctypes.c_int), ("error_log", ctypes.c_void_p),
                ("errstr", ctypes.c_char_p), ("num_data", ctypes.c_uint),
                ("num_input", ctypes.c_uint), ("num_output", ctypes.c_uint),
                ("input", ctypes.c_void_p), ("output", ctypes.c_void_p)]


class Fann:
    """A thin ctypes binding of the FANN functions these tests use (each C
    function fann_xyz is bound as .c_xyz)."""

    def __init__(self, name, ftype):
        path = ctypes.util.find_library(name)
        if path is None:
            raise OSError(f"lib{name} not found")
        lib = ctypes.CDLL(path)
        self.T = T = ftype
        P, U, I = ctypes.c_void_p, ctypes.c_uint, ctypes.c_int

        class Conn(ctypes.Structure):
            _fields_ = [("from_neuron", U), ("to_neuron", U), ("weight", T)]
        self.Conn = Conn
        TD = ctypes.POINTER(TrainData)
        sigs = {
            "fann_create_standard_array": (P, [U, ctypes.POINTER(U)]),
            "fann_create_shortcut_array": (P, [U, ctypes.POINTER(U)]),
            "fann_create_sparse_array": (P, [ctypes.c_float, U,
                                             ctypes.POINTER(U)]),
            "fann_create_from_file": (P, [ctypes.c_char_p]),
            "fann_save": (I, [P, ctypes.c_char_p]),
            "fann_save_to_fixed": (I, [P, ctypes.c_char_p]),
            "fann_destroy": (None, [P]),
            "fann_run": (ctypes.POINTER(T), [P, ctypes.POINTER(T)]),
            "fann_get_num_output": (U, [P]),
            "fann_get_total_connections": (U, [P]),
            "fann_get_connection_array": (None, [P, ctypes.POINTER(Conn)]),
            "fann_set_weight_array": (None, [P, ctypes.POINTER(Conn), U]),
            "fann_set_activation_function_hidden": (None, [P, I]),
            "fann_set_activation_function_output": (None, [P, I]),
            "fann_set_activation_steepness_hidden": (None, [P, T]),
            "fann_set_activation_steepness_output": (None, [P, T]),
            "fann_set_activation_function": (None, [P, I, I, I]),
            "fann_set_activation_steepness": (None, [P, T, I, I]),
            "fann_read_train_from_file": (TD, [ctypes.c_char_p]),
            "fann_save_train": (I, [TD, ctypes.c_char_p]),
            "fann_destroy_train": (None, [TD]),
        }
        for fname, (res, args) in sigs.items():
            fn = getattr(lib, fname)
            fn.restype, fn.argtypes = res, args
            setattr(self, "c_" + fname[5:], fn)
        self.anns = []

    def _track(self, ann):
        if ann:
            self.anns.append(ann)
        return ann

    def create(self, sizes, kind="standard", rate=1.0):
        arr = (ctypes.c_uint * len(sizes))(*sizes)
        if kind == "shortcut":
            return self._track(self.c_create_shortcut_array(len(sizes), arr))
        if kind == "sparse":
            return self._track(self.c_create_sparse_array(rate, len(sizes),
                                                          arr))
        return self._track(self.c_create_standard_array(len(sizes), arr))

    def from_file(self, path):
        return self._track(self.c_create_from_file(os.fsencode(path)))

    def save(self, ann, path):
        assert self.c_save(ann, os.fsencode(path)) == 0

    def set_random_weights(self, ann, seed, scale=1.0):
        n = self.c_get_total_connections(ann)
        conns = (self.Conn * n)()
        self.c_get_connection_array(ann, conns)
        rng = np.random.default_rng(seed)
        for c, w in zip(conns, rng.uniform(-scale, scale, n)):
            c.weight = w
        self.c_set_weight_array(ann, conns, n)

    def run(self, ann, X):
        n_out = self.c_get_num_output(ann)
        out = []
        for x in np.asarray(X, dtype=float):
            res = self.c_run(ann, (self.T * len(x))(*x))
            out.append([res[k] for k in range(n_out)])
        return np.array(out)

    def read_train(self, path):
        """(X, T) as libfann reads a training-data file."""
        td = self.c_read_train_from_file(os.fsencode(path))
        assert td, f"libfann could not read {path}"
        try:
            d = td.contents
            rows = ctypes.POINTER(ctypes.POINTER(self.T))
            inp = ctypes.cast(d.input, rows)
            out = ctypes.cast(d.output, rows)
            X = np.array([[inp[i][k] for k in range(d.num_input)]
                          for i in range(d.num_data)])
            T = np.array([[out[i][k] for k in range(d.num_output)]
                          for i in range(d.num_data)])
            return X.reshape(d.num_data, d.num_input), T.reshape(
                d.num_data, d.num_output)
        finally:
            self.c_destroy_train(td)

    def destroy_all(self):
        for ann in self.anns:
            self.c_destroy(ann)
        self.anns = []


def _binding(name, ftype):
    try:
        return Fann(name, ftype)
    except (OSError, AttributeError) as exc:
        pytest.skip(f"FANN library lib{name} is not available: {exc}")


@pytest.fixture
def fann():
    """libdoublefann (fann_type = double): exact comparisons."""
    lib = _binding("doublefann", ctypes.c_double)
    yield lib
    lib.destroy_all()


@pytest.fixture
def floatfann():
    """libfann (fann_type = float)."""
    lib = _binding("fann", ctypes.c_float)
    yield lib
    lib.destroy_all()


def inputs(n_in, n=40, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (n, n_in))


def pybp_net(sizes, acts, bias=True, dtype="float64", seed=0):
    net = pybp.Network(list(sizes), activation=list(acts), bias=bias,
                       dtype=dtype, seed=seed)
    if bias:
        rng = np.random.default_rng(seed + 100)
        for b in net.biases:
            b[...] = rng.uniform(-0.5, 0.5, b.shape)
    return net


# ---- libfann -> pybp -------------------------------------------------------

FANN_NETS = [
    # sizes, hidden function, output function, hidden steepness, output's
    ([2, 3, 1], FANN_SIGMOID, FANN_SIGMOID, 0.5, 0.5),
    ([3, 5, 2], FANN_SIGMOID_SYMMETRIC, FANN_LINEAR, 0.73, 1.7),
    ([4, 6, 5, 3], FANN_SIGMOID, FANN_SIGMOID_SYMMETRIC, 1.3, 0.25),
    ([2, 4, 4, 4, 2], FANN_LINEAR, FANN_SIGMOID, 0.9, 2.0),
    ([5, 1], None, FANN_LINEAR, None, 0.6),
    ([6, 8, 3], FANN_SIGMOID_SYMMETRIC, FANN_SIGMOID_SYMMETRIC, 1.0, 3.0),
]


@pytest.mark.parametrize("sizes,hidden,output,s_hidden,s_output", FANN_NETS)
def test_libfann_net_loads_with_fanns_outputs(fann, tmp_path, sizes, hidden,
                                              output, s_hidden, s_output):
    ann = fann.create(sizes)
    if hidden is not None:
        fann.c_set_activation_function_hidden(ann, hidden)
        fann.c_set_activation_steepness_hidden(ann, s_hidden)
    fann.c_set_activation_function_output(ann, output)
    fann.c_set_activation_steepness_output(ann, s_output)
    fann.set_random_weights(ann, seed=sum(sizes))
    path = tmp_path / "fann.net"
    fann.save(ann, path)
    net = pybp.io.load_fann(path)
    assert net.sizes == tuple(sizes)
    assert net.dtype == np.float64 and net.bias
    names = {FANN_SIGMOID: "sigmoid", FANN_SIGMOID_SYMMETRIC: "tanh",
             FANN_LINEAR: "identity"}
    assert net.activations == tuple(
        [names.get(hidden)] * (len(sizes) - 2) + [names[output]])
    X = inputs(sizes[0])
    expected = fann.run(ann, X)
    np.testing.assert_allclose(net.predict(X), expected, rtol=1e-12,
                               atol=1e-15)
    # The file as loaded back by libfann computes the same as well.
    again = fann.from_file(path)
    np.testing.assert_allclose(net.predict(X), fann.run(again, X),
                               rtol=1e-12, atol=1e-15)


def test_per_neuron_steepness(fann, tmp_path):
    sizes = [3, 4, 2]
    ann = fann.create(sizes)
    fann.c_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC)
    fann.c_set_activation_function_output(ann, FANN_SIGMOID)
    for j, s in enumerate([0.3, 0.7, 1.1, 2.3]):
        fann.c_set_activation_steepness(ann, s, 1, j)
    for j, s in enumerate([0.45, 1.9]):
        fann.c_set_activation_steepness(ann, s, 2, j)
    fann.set_random_weights(ann, seed=7)
    fann.save(ann, tmp_path / "f.net")
    assert "2.29999" in (tmp_path / "f.net").read_text()
    net = pybp.io.load_fann(tmp_path / "f.net")
    X = inputs(3)
    np.testing.assert_allclose(net.predict(X), fann.run(ann, X), rtol=1e-12,
                               atol=1e-15)


def test_steepness_is_folded_into_weights(fann, tmp_path):
    ann = fann.create([2, 2, 1])
    fann.c_set_activation_function_hidden(ann, FANN_SIGMOID)
    fann.c_set_activation_steepness_hidden(ann, 0.75)
    fann.c_set_activation_function_output(ann, FANN_LINEAR)
    fann.c_set_activation_steepness_output(ann, 0.5)
    fann.set_random_weights(ann, seed=3)
    fann.save(ann, tmp_path / "f.net")
    text = (tmp_path / "f.net").read_text()
    raw = [float(w) for w in re.findall(
        r"\(\d+, ([-+0-9.e]+)\)", text.split("connections")[1])]
    assert len(raw) == 9
    net = pybp.io.load_fann(tmp_path / "f.net")
    # Hidden neuron 0: inputs 0 and 1, then the bias; sigmoid: 2 * 0.75.
    np.testing.assert_array_equal(net.weights[0][0], np.array(raw[0:2]) * 1.5)
    assert net.biases[0][0] == raw[2] * 1.5
    # Output neuron: linear, steepness 0.5.
    np.testing.assert_array_equal(net.weights[1][0], np.array(raw[6:8]) * 0.5)
    assert net.biases[1][0] == raw[8] * 0.5


def test_float_libfann_files_load(floatfann, tmp_path):
    ann = floatfann.create([3, 4, 2])
    floatfann.c_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC)
    floatfann.c_set_activation_function_output(ann, FANN_SIGMOID)
    floatfann.c_set_activation_steepness_output(ann, 0.8)
    floatfann.set_random_weights(ann, seed=11)
    floatfann.save(ann, tmp_path / "f.net")
    net = pybp.io.load_fann(tmp_path / "f.net")
    assert net.dtype == np.float64
    X = inputs(3)
    np.testing.assert_allclose(net.predict(X), floatfann.run(ann, X),
                               rtol=1e-5, atol=1e-6)


def test_fanns_large_steepness_clipping_is_warned(fann, tmp_path):
    ann = fann.create([2, 1])
    fann.c_set_activation_function_output(ann, FANN_SIGMOID)
    fann.c_set_activation_steepness_output(ann, 100.0)
    fann.save(ann, tmp_path / "f.net")
    with pytest.warns(UserWarning, match="clips"):
        pybp.io.load_fann(tmp_path / "f.net")


# ---- pybp -> libfann -------------------------------------------------------

PYBP_NETS = [
    ([2, 3, 1], ["sigmoid", "sigmoid"]),
    ([3, 5, 2], ["tanh", "identity"]),
    ([4, 6, 5, 3], ["sigmoid", "tanh", "tanh"]),
    ([2, 4, 4, 2], ["identity", "sigmoid", "identity"]),
    ([5, 1], ["identity"]),
]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("sizes,acts", PYBP_NETS)
def test_pybp_file_runs_in_libfann(fann, tmp_path, sizes, acts, bias):
    net = pybp_net(sizes, acts, bias=bias)
    path = tmp_path / "p.net"
    pybp.io.save_fann(net, path)
    ann = fann.from_file(path)
    assert ann, "libfann refused pybp's file"
    X = inputs(sizes[0], seed=5)
    np.testing.assert_allclose(fann.run(ann, X), net.predict(X), rtol=1e-12,
                               atol=1e-15)
    # pybp -> FANN -> pybp: bit for bit (steepness 0.5 / 1 folds exactly).
    back = pybp.io.load_fann(path)
    assert back.sizes == net.sizes and back.activations == net.activations
    assert back.bias
    for a, b in zip(back.weights, net.weights):
        assert a.tobytes() == b.tobytes()
    for l, b in enumerate(back.biases):
        if bias:
            assert b.tobytes() == net.biases[l].tobytes()
        else:
            assert not b.any()
    # libfann re-saving pybp's file gives a file pybp reads the same way.
    fann.save(ann, tmp_path / "again.net")
    again = pybp.io.load_fann(tmp_path / "again.net")
    assert again.params.tobytes() == back.params.tobytes()


def test_float32_network_to_libfann(fann, floatfann, tmp_path):
    net = pybp_net([4, 5, 2], ["tanh", "sigmoid"], dtype="float32")
    pybp.io.save_fann(net, tmp_path / "p.net")
    X = inputs(4, seed=9)
    for lib in (fann, floatfann):
        ann = lib.from_file(tmp_path / "p.net")
        assert ann
        np.testing.assert_allclose(lib.run(ann, X), net.predict(X),
                                   rtol=1e-5, atol=1e-6)
    back = pybp.io.load_fann(tmp_path / "p.net")
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back.params, net.params.astype(np.float64))


def test_save_fann_file_layout(tmp_path):
    net = pybp_net([2, 2, 1], ["tanh", "sigmoid"])
    pybp.io.save_fann(net, tmp_path / "p.net")
    text = (tmp_path / "p.net").read_text()
    lines = text.splitlines()
    assert lines[0] == "FANN_FLO_2.1"
    assert "num_layers=3" in lines and "layer_sizes=3 3 2 " in lines
    assert "network_type=0" in lines and "connection_rate=1.000000" in lines
    neurons = re.findall(r"\((\d+), (\d+), ([-+0-9.e]+)\)",
                         text.split("neurons")[1].split("\n")[0])
    assert [(int(a), int(b), float(c)) for a, b, c in neurons] == [
        (0, 0, 0.0)] * 3 + [(3, 5, 1.0)] * 2 + [(0, 0, 0.0)] + [
        (3, 3, 0.5), (0, 0, 0.0)]
    # Text streams work too.
    buf = io.StringIO()
    pybp.io.save_fann(net, buf)
    assert buf.getvalue() == text


@pytest.mark.parametrize("acts", [["relu", "sigmoid"], ["tanh", "leaky_relu"],
                                  ["tanh", "softmax"]])
def test_save_fann_refuses_what_fann_cannot_compute(tmp_path, acts):
    net = pybp_net([2, 3, 2], acts)
    bad = [a for a in acts if a not in ("sigmoid", "tanh")][0]
    with pytest.raises(ValueError, match=bad):
        pybp.io.save_fann(net, tmp_path / "p.net")
    assert list(tmp_path.iterdir()) == []


def test_save_fann_refuses_non_finite(tmp_path):
    net = pybp_net([2, 1], ["sigmoid"])
    net.weights[0][0, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        pybp.io.save_fann(net, tmp_path / "p.net")


def test_fann_22_has_no_rectifier(tmp_path):
    # FANN 2.3 added FANN_LINEAR_PIECE_RECT(_LEAKY) (18, 19); Debian's 2.2
    # does not know them, so pybp neither writes nor reads them.
    net = pybp_net([2, 1], ["sigmoid"])
    pybp.io.save_fann(net, tmp_path / "p.net")
    text = (tmp_path / "p.net").read_text()
    assert "(3, 3, 5.0" in text
    (tmp_path / "r.net").write_text(text.replace("(3, 3, 5.0", "(3, 18, 5.0"))
    with pytest.raises(FormatError, match="FANN_LINEAR_PIECE_RECT"):
        pybp.io.load_fann(tmp_path / "r.net")


# ---- refusals and malformed files ------------------------------------------

def test_refuses_shortcut_and_sparse(fann, tmp_path):
    fann.save(fann.create([2, 3, 1], "shortcut"), tmp_path / "s.net")
    with pytest.raises(FormatError, match="shortcut"):
        pybp.io.load_fann(tmp_path / "s.net")
    fann.save(fann.create([4, 5, 2], "sparse", 0.5), tmp_path / "sp.net")
    with pytest.raises(FormatError, match="sparse"):
        pybp.io.load_fann(tmp_path / "sp.net")


@pytest.mark.parametrize("functions, match", [
    (None, "FANN_SIGMOID_STEPWISE"),     # FANN's default, left as it is
    ((FANN_SIGMOID, FANN_GAUSSIAN, None), "FANN_GAUSSIAN "),
    ((FANN_SIGMOID, FANN_LINEAR, FANN_SIGMOID_SYMMETRIC), "mixes"),
], ids=["stepwise-default", "gaussian", "mixed-in-a-layer"])
def test_refuses_functions_pybp_does_not_compute(fann, tmp_path, functions,
                                                 match):
    """functions: (hidden, output, one hidden neuron's) FANN functions."""
    ann = fann.create([2, 3, 1])
    if functions is not None:
        hidden, output, one_neuron = functions
        fann.c_set_activation_function_hidden(ann, hidden)
        fann.c_set_activation_function_output(ann, output)
        if one_neuron is not None:    # layer 1, neuron 1 only
            fann.c_set_activation_function(ann, one_neuron, 1, 1)
    fann.save(ann, tmp_path / "f.net")
    with pytest.raises(FormatError, match=match):
        pybp.io.load_fann(tmp_path / "f.net")


def test_refuses_fixed_point(fann, tmp_path):
    ann = fann.create([2, 2, 1])
    fann.c_set_activation_function_hidden(ann, FANN_SIGMOID)
    fann.c_set_activation_function_output(ann, FANN_SIGMOID)
    fann.c_save_to_fixed(ann, os.fsencode(tmp_path / "x.net"))
    with pytest.raises(FormatError, match="fixed-point"):
        pybp.io.load_fann(tmp_path / "x.net")


def test_scaling_parameters_are_ignored_with_a_warning(tmp_path):
    net = pybp_net([2, 1], ["sigmoid"])
    pybp.io.save_fann(net, tmp_path / "p.net")
    text = (tmp_path / "p.net").read_text().replace(
        "scale_included=0\n",
        "scale_included=1\nscale_mean_in=0.5 0.5 \nscale_factor_out=1.0 \n")
    (tmp_path / "s.net").write_text(text)
    with pytest.warns(UserWarning, match="scaling"):
        back = pybp.io.load_fann(tmp_path / "s.net")
    assert back.params.tobytes() == net.params.tobytes()


def _good_fann_text():
    buf = io.StringIO()
    pybp.io.save_fann(pybp_net([2, 2, 1], ["tanh", "sigmoid"]), buf)
    return buf.getvalue()


def _edit(old, new, count=1):
    def make():
        text = _good_fann_text()
        assert old in text, old
        return text.replace(old, new, count)
    return make


def _edit_re(pattern, new):
    def make():
        text, n = re.subn(pattern, new, _good_fann_text(), count=1,
                          flags=re.M)
        assert n == 1, pattern
        return text
    return make


BAD_NETS = {
    "empty": (lambda: "", "not a FANN network file"),
    "other format": (lambda: "hello\n", "not a FANN network file"),
    "old version": (_edit("FANN_FLO_2.1", "FANN_FLO_1.1"), "version"),
    "no equals": (_edit("num_layers=3", "num_layers 3"), "key=value"),
    "duplicate": (_edit("num_layers=3\n", "num_layers=3\nnum_layers=3\n"),
                  "twice"),
    "missing layer_sizes": (_edit_re(r"^layer_sizes=.*\n", ""),
                            "layer_sizes"),
    "missing neurons": (_edit_re(r"^neurons \(num_inputs.*\n", ""),
                        "neurons"),
    "missing connections": (_edit_re(r"^connections \(connected.*\n", ""),
                            "connections"),
    "num_layers text": (_edit("num_layers=3", "num_layers=three"),
                        "integer"),
    "num_layers huge digits": (_edit("num_layers=3",
                                     "num_layers=" + "9" * 5000), "integer"),
    "num_layers mismatch": (_edit("num_layers=3", "num_layers=4"),
                            "num_layers"),
    "layer too small": (_edit("layer_sizes=3 3 2 ", "layer_sizes=3 1 2 "),
                        ">= 2"),
    "network type": (_edit("network_type=0", "network_type=1"), "shortcut"),
    "connection rate": (_edit("connection_rate=1.000000",
                              "connection_rate=0.5"), "sparse"),
    "scale flag": (_edit("scale_included=0", "scale_included=7"),
                   "scale_included"),
    "neuron count": (_edit("(0, 0, 0.00000000000000000000e+00) ", "", 1),
                     "neurons"),
    "neuron syntax": (_edit("(3, 5, ", "(3; 5, "), "cannot parse neurons"),
    "neuron inputs": (_edit("(3, 5, ", "(2, 5, "), "inputs"),
    "bias neuron with inputs": (_edit_re(
        r"\(0, 0, 0\.0+e\+00\) \(3, 3", "(1, 0, 0.0) (3, 3"), "bias neuron"),
    "input with inputs": (_edit("(0, 0, ", "(1, 0, "), "input neurons"),
    "steepness zero": (_edit("(3, 5, 1.00000000000000000000e+00)",
                             "(3, 5, 0.0)"), "steepness"),
    "steepness negative": (_edit("(3, 5, 1.00000000000000000000e+00)",
                                 "(3, 5, -1.0)"), "steepness"),
    "steepness inf": (_edit("(3, 5, 1.00000000000000000000e+00)",
                            "(3, 5, 1e999)"), "steepness"),
    "steepness nan": (_edit("(3, 5, 1.00000000000000000000e+00)",
                            "(3, 5, nan)"), "finite"),
    "unknown function": (_edit("(3, 3, ", "(3, 77, "), "unknown activation"),
    "connection count": (_edit_re(r"\(5, [-+0-9.e]+\) $", ""),
                         "connections"),
    "connection target": (_edit_re(r"\(1, ", "(0, "), "goes to neuron 0"),
    "connection syntax": (_edit_re(r"\(1, ", "(1 "), "cannot parse conn"),
    "weight overflow": (_edit_re(r"\(1, [-+0-9.e]+\)", "(1, 1e999)"),
                        "finite"),
    "control chars": (lambda: "FANN_FLO_2.1\n\x01\x02", "key=value"),
}


@pytest.mark.parametrize("name", sorted(BAD_NETS))
def test_malformed_net_files(tmp_path, name):
    make, pattern = BAD_NETS[name]
    path = tmp_path / "bad.net"
    path.write_text(make())
    with pytest.raises(FormatError, match=pattern):
        pybp.io.load_fann(path)


def test_non_text_net_file(tmp_path):
    (tmp_path / "b.net").write_bytes(b"FANN_FLO_2.1\n\xff\xfe\x00")
    with pytest.raises(FormatError, match="not text"):
        pybp.io.load_fann(tmp_path / "b.net")
    with pytest.raises(FileNotFoundError):
        pybp.io.load_fann(tmp_path / "missing.net")


def test_net_file_truncations_and_flips_only_format_error():
    text = _good_fann_text()
    rng = np.random.default_rng(0)
    cases = [text[:cut] for cut in range(0, len(text), 7)]
    for _ in range(400):
        chars = list(text)
        for pos in rng.integers(0, len(chars), size=rng.integers(1, 4)):
            chars[pos] = chr(int(rng.integers(32, 127)))
        cases.append("".join(chars))
    errors = 0
    for case in cases:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                net = pybp.io.load_fann(io.StringIO(case))
        except FormatError:
            errors += 1
        else:
            assert np.isfinite(net.params).all()
    assert errors > len(cases) // 4


# ---- training-data files ---------------------------------------------------

def test_data_round_trip_exact(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((25, 3)) * 10.0 ** rng.integers(-8, 8, (25, 3))
    T = rng.standard_normal(25)
    pybp.io.save_fann_data(tmp_path / "d.data", X, T)
    X2, T2 = pybp.io.load_fann_data(tmp_path / "d.data")
    assert X2.tobytes() == X.tobytes()
    assert T2.shape == (25, 1) and T2[:, 0].tobytes() == T.tobytes()
    lines = (tmp_path / "d.data").read_text().splitlines()
    assert lines[0] == "25 3 1" and len(lines) == 51
    assert len(lines[1].split()) == 3 and len(lines[2].split()) == 1
    buf = io.StringIO()
    pybp.io.save_fann_data(buf, X, T)
    X3, _ = pybp.io.load_fann_data(io.StringIO(buf.getvalue()))
    assert X3.tobytes() == X.tobytes()


def test_data_files_agree_with_libfann(fann, tmp_path):
    rng = np.random.default_rng(1)
    X, T = rng.uniform(-1, 1, (12, 4)), rng.uniform(0, 1, (12, 2))
    pybp.io.save_fann_data(tmp_path / "p.data", X, T)
    FX, FT = fann.read_train(tmp_path / "p.data")
    assert FX.tobytes() == X.tobytes() and FT.tobytes() == T.tobytes()
    # What libfann writes, pybp reads as libfann does.
    td = fann.c_read_train_from_file(os.fsencode(tmp_path / "p.data"))
    assert fann.c_save_train(td, os.fsencode(tmp_path / "f.data")) == 0
    fann.c_destroy_train(td)
    PX, PT = pybp.io.load_fann_data(tmp_path / "f.data")
    FX, FT = fann.read_train(tmp_path / "f.data")
    np.testing.assert_array_equal(PX, FX)
    np.testing.assert_array_equal(PT, FT)
    np.testing.assert_allclose(PX, X, atol=1e-6)


def test_save_fann_data_validates(tmp_path):
    with pytest.raises(ValueError, match="same number"):
        pybp.io.save_fann_data(tmp_path / "d", np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="n_inputs"):
        pybp.io.save_fann_data(tmp_path / "d", np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        pybp.io.save_fann_data(tmp_path / "d", [[np.nan]], [1.0])
    assert list(tmp_path.iterdir()) == []


BAD_DATA = {
    "empty": ("", "first line"),
    "short header": ("3 2\n", "first line"),
    "header text": ("three 2 1\n", "num_samples"),
    "negative count": ("-1 2 1\n", "num_samples"),
    "float count": ("1.0 2 1\n0 0\n1\n", "num_samples"),
    "huge count": ("9" * 30 + " 2 1\n", "num_samples"),
    "zero inputs": ("1 0 1\n1\n", "num_inputs"),
    "too few": ("2 2 1\n0 0\n1\n1 1\n", "sample 1's outputs"),
    "short line": ("2 2 1\n0 0\n1\n1\n1\n", "inputs line has 1 values"),
    "too many": ("1 2 1\n0 0\n1\n5\n", "extra"),
    "claims many": ("1000000000 2 1\n0 0\n1\n", "3000000000"),
    "not a number": ("1 2 1\n0 x\n1\n", "not a number: 'x'"),
    "nan": ("1 2 1\n0 nan\n1\n", "finite"),
    "inf": ("1 2 1\n0 0\n-inf\n", "finite"),
}


@pytest.mark.parametrize("name", sorted(BAD_DATA))
def test_malformed_data_files(tmp_path, name):
    text, pattern = BAD_DATA[name]
    (tmp_path / "bad.data").write_text(text)
    with pytest.raises(FormatError, match=pattern):
        pybp.io.load_fann_data(tmp_path / "bad.data")


def test_binary_data_file(tmp_path):
    (tmp_path / "b.data").write_bytes(b"1 1 1\n\xff\n\x00\n")
    with pytest.raises(FormatError):
        pybp.io.load_fann_data(tmp_path / "b.data")


def test_data_any_whitespace_like_fann(fann, tmp_path):
    (tmp_path / "w.data").write_text("2 2 1\n0 1 1\n1   0\n\t0\n")
    X, T = pybp.io.load_fann_data(tmp_path / "w.data")
    np.testing.assert_array_equal(X, [[0, 1], [1, 0]])
    np.testing.assert_array_equal(T, [[1], [0]])
    FX, FT = fann.read_train(tmp_path / "w.data")
    np.testing.assert_array_equal(X, FX)
    np.testing.assert_array_equal(T, FT)


needs_datasets = pytest.mark.skipif(not DATASETS.is_dir(),
                                    reason=f"{DATASETS} not present")


@needs_datasets
@pytest.mark.parametrize("name,shape", [
    ("two-spiral.train", (193, 2, 1)), ("parity8.train", (256, 8, 1)),
    ("scaling.data", None), ("thyroid.train", None)])
def test_shared_datasets(name, shape):
    path = DATASETS / name
    header = [int(v) for v in path.read_text().split(None, 3)[:3]]
    X, T = pybp.io.load_fann_data(path)
    assert X.shape == (header[0], header[1])
    assert T.shape == (header[0], header[2])
    if shape is not None:
        assert tuple(header) == shape
    if name.startswith("parity8"):
        # Inputs are bits; the target is their parity.
        assert set(np.unique(X)) <= {0.0, 1.0}
        np.testing.assert_array_equal(T[:, 0], X.sum(axis=1) % 2)
    if name.startswith("two-spiral"):
        assert set(np.unique(T)) == {0.0, 1.0}
        assert X[0].tolist() == [0.499995, 0.653846]


@needs_datasets
def test_every_shared_dataset_reads_like_libfann(fann):
    files = sorted(p for p in DATASETS.iterdir()
                   if p.suffix in (".train", ".test", ".data"))
    assert files
    for path in files:
        X, T = pybp.io.load_fann_data(path)
        assert np.isfinite(X).all() and np.isfinite(T).all()
        if path.stat().st_size < 100_000:
            FX, FT = fann.read_train(path)
            np.testing.assert_array_equal(X, FX)
            np.testing.assert_array_equal(T, FT)


@needs_datasets
def test_shared_dataset_through_a_net_exported_to_fann(fann, tmp_path):
    X, T = pybp.io.load_fann_data(DATASETS / "two-spiral.train")
    net = pybp.Network([2, 8, 1], "tanh", "sigmoid", seed=0)
    pybp.io.save_fann(net, tmp_path / "s.net")
    ann = fann.from_file(tmp_path / "s.net")
    np.testing.assert_allclose(fann.run(ann, X), net.predict(X), rtol=1e-12)


# ---- linear time on hostile files (issue 11, defect 1) ---------------------

MB = 1 << 20


def _load_time(func, text, tmp_path):
    path = tmp_path / "hostile"
    path.write_text(text)
    t = time.perf_counter()
    with pytest.raises(FormatError):
        func(path)
    return time.perf_counter() - t


@pytest.mark.parametrize("old,new", [
    ("connection_rate=1.000000", "connection_rate=" + "1" * MB + "x"),
    ("connection_rate=1.000000", "connection_rate=1." + "0" * MB + "x"),
    ("connection_rate=1.000000", "connection_rate=" + "1" * MB),
    ("num_layers=3", "num_layers=" + "3" * MB + "x"),
    ("(3, 5, ", "(3, 5, " + "1" * MB + "x"),
    ("(3, 5, ", "(" + "3" * MB + "x, 5, "),
    ("(3, 5, ", "(3, 5, 1e" + "9" * MB + "x"),
    ("(0, ", "(0, " + "2" * MB + "x"),
    ("(0, ", "(" + "0" * MB + "x, "),
    ("(0, ", "(0, " + "(" * MB),
    ("(0, ", "(0, " + " " * MB + "x"),
    ("layer_sizes=3 3 2 ", "layer_sizes=" + "3 " * (MB // 2)),
    ("layer_sizes=3 3 2 ", "layer_sizes=" + "3" * MB),
    ("FANN_FLO_2.1", "FANN_FLO_2.1" + "1" * MB),
    ("num_layers=3\n", "num_layers=3\n" + "k" * MB + "\n"),
    ("num_layers=3\n", "num_layers=3\n" + "=\n" * (MB // 2)),
    ("num_layers=3\n", "num_layers=3\n" + "a=1\n" * (MB // 4)),
], ids=lambda v: v[:24] if isinstance(v, str) else None)
def test_megabyte_hostile_net_files_are_fast(tmp_path, old, new):
    text = _good_fann_text()
    assert old in text
    assert _load_time(pybp.io.load_fann, text.replace(old, new, 1),
                      tmp_path) < 1.0


@pytest.mark.parametrize("text", [
    "1 1 1\n" + "1" * MB + "x\n1\n",
    "1 1 1\n" + "1" * MB + "\n1\n",
    "1 1 1\n1." + "5" * MB + "\n1\n",
    "1" * MB + " 1 1\n",
    "1 1 1\n1e" + "9" * MB + "\n1\n",
    "3 1 1\n" + "1 " * (MB // 2),
    "1 1 1\n0\n" + "1_0" * (MB // 3) + "\n",
    "1 1 1\n" + "\n" * MB + "1\n",
], ids=range(8))
def test_megabyte_hostile_data_files_are_fast(tmp_path, text):
    assert _load_time(pybp.io.load_fann_data, text, tmp_path) < 1.0


def test_time_grows_linearly_with_the_hostile_token(tmp_path):
    """The old reader took 0.7 s at 5,000 digits and 10 s at 20,000."""
    text = _good_fann_text()
    times = []
    for n in (20_000, 320_000):
        bad = text.replace("connection_rate=1.000000",
                           "connection_rate=" + "1" * n + "x")
        times.append(_load_time(pybp.io.load_fann, bad, tmp_path))
    assert times[1] < 0.5
    assert times[0] < 0.05


def _net_file_with_connection_rate(tmp_path, text):
    """A good .net file whose connection_rate value is replaced by text."""
    path = tmp_path / "r.net"
    path.write_text(_good_fann_text().replace("connection_rate=1.000000",
                                              f"connection_rate={text}"))
    return path


@pytest.mark.parametrize("value", ["1e999", "-1e999", "inf", "nan", "Infinity",
                                   "1_0", "0x10", "1.0.0", "", "+"])
def test_connection_rate_must_be_a_finite_number(tmp_path, value):
    path = _net_file_with_connection_rate(tmp_path, value)
    with pytest.raises(FormatError, match="connection_rate"):
        pybp.io.load_fann(path)


@pytest.mark.parametrize("token", ["1" * 65, "1." + "0" * 63])
def test_number_tokens_longer_than_64_characters_are_refused(tmp_path, token):
    path = _net_file_with_connection_rate(tmp_path, token)
    with pytest.raises(FormatError, match="at most 64"):
        pybp.io.load_fann(path)
    (tmp_path / "d.data").write_text(f"1 1 1\n{token}\n1\n")
    with pytest.raises(FormatError, match="at most 64"):
        pybp.io.load_fann_data(tmp_path / "d.data")
    # 64 characters are still read.
    (tmp_path / "d.data").write_text(f"1 1 1\n{token[:64]}\n1\n")
    X, _ = pybp.io.load_fann_data(tmp_path / "d.data")
    assert X[0, 0] == float(token[:64])


def test_data_values_with_underscores_are_refused(tmp_path):
    (tmp_path / "d.data").write_text("1 1 1\n1_000\n1\n")
    with pytest.raises(FormatError, match="not a number: '1_000'"):
        pybp.io.load_fann_data(tmp_path / "d.data")


def test_non_ascii_is_refused(tmp_path):
    (tmp_path / "d.data").write_text("1 1 1\n١\n1\n", encoding="utf-8")
    with pytest.raises(FormatError, match="not text"):
        pybp.io.load_fann_data(tmp_path / "d.data")
