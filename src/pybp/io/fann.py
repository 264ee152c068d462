"""FANN 2.2 interop: network files (``.net``, ``FANN_FLO_2.1``) and
training-data files (``.data``).

Both readers run in time linear in the file size: the text is split into
tokens with str.split (no regular expression spans more than one token),
and every number token is checked for length (at most MAX_NUMBER_CHARS) and
form with an unambiguous pattern before it is converted.
"""
from __future__ import annotations

import io as _io
import warnings
from typing import TYPE_CHECKING

import numpy as np

from pybp import _validate
from pybp.errors import FormatError
from pybp.io._files import (MAX_NUMBER_CHARS, is_stream, parse_float,
                            parse_int, read_text, show, write_to)
from pybp.io.model import build, check_net

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from pybp._typing import FloatArray, Target, TextSource
    from pybp.network import Network

FANN_ACTIVATIONS: tuple[str, ...] = (
    "FANN_LINEAR", "FANN_THRESHOLD", "FANN_THRESHOLD_SYMMETRIC",
    "FANN_SIGMOID", "FANN_SIGMOID_STEPWISE", "FANN_SIGMOID_SYMMETRIC",
    "FANN_SIGMOID_SYMMETRIC_STEPWISE", "FANN_GAUSSIAN",
    "FANN_GAUSSIAN_SYMMETRIC", "FANN_GAUSSIAN_STEPWISE", "FANN_ELLIOT",
    "FANN_ELLIOT_SYMMETRIC", "FANN_LINEAR_PIECE",
    "FANN_LINEAR_PIECE_SYMMETRIC", "FANN_SIN_SYMMETRIC", "FANN_COS_SYMMETRIC",
    "FANN_SIN", "FANN_COS", "FANN_LINEAR_PIECE_RECT",
    "FANN_LINEAR_PIECE_RECT_LEAKY",
)
# FANN function -> (pybp activation, factor): the pybp layer computes
# act(factor * steepness * (sum w x + b)), which is FANN's function exactly.
#   FANN_LINEAR             s*x             = identity(s*x)
#   FANN_SIGMOID            1/(1+e^(-2sx))  = sigmoid(2s*x)
#   FANN_SIGMOID_SYMMETRIC  tanh(s*x)       = tanh(s*x)
_FANN_TO_PYBP = {0: ("identity", 1.0), 3: ("sigmoid", 2.0), 5: ("tanh", 1.0)}
# pybp activation -> (FANN function, steepness); with these steepnesses the
# folding factor is 1 and the weights are written unchanged.
_PYBP_TO_FANN = {"identity": (0, 1.0), "sigmoid": (3, 0.5), "tanh": (5, 1.0)}

_FANN_VERSION = "FANN_FLO_2.1"
_NEURONS_KEY = "neurons (num_inputs, activation_function, activation_steepness)"
_CONNECTIONS_KEY = "connections (connected_to_neuron, weight)"
# Steepness above which FANN's clipping of the net input at +-150/steepness
# changes sigmoid/tanh outputs in double precision (tanh(150/s) < 1).
_CLIP_STEEPNESS = 7.5

# The header FANN 2.2 writes, in its order, with FANN's default values (FANN
# reads these fields in exactly this order).
_FANN_DEFAULTS = (
    ("learning_rate", "0.700000"), ("connection_rate", "1.000000"),
    ("network_type", "0"), ("learning_momentum", "0.000000"),
    ("training_algorithm", "2"), ("train_error_function", "1"),
    ("train_stop_function", "0"), ("cascade_output_change_fraction", "0.010000"),
    ("quickprop_decay", "-0.000100"), ("quickprop_mu", "1.750000"),
    ("rprop_increase_factor", "1.200000"), ("rprop_decrease_factor", "0.500000"),
    ("rprop_delta_min", "0.000000"), ("rprop_delta_max", "50.000000"),
    ("rprop_delta_zero", "0.100000"), ("cascade_output_stagnation_epochs", "12"),
    ("cascade_candidate_change_fraction", "0.010000"),
    ("cascade_candidate_stagnation_epochs", "12"),
    ("cascade_max_out_epochs", "150"), ("cascade_min_out_epochs", "50"),
    ("cascade_max_cand_epochs", "150"), ("cascade_min_cand_epochs", "50"),
    ("cascade_num_candidate_groups", "2"),
    ("bit_fail_limit", "%.20e" % 0.35),
    ("cascade_candidate_limit", "%.20e" % 1000.0),
    ("cascade_weight_multiplier", "%.20e" % 0.4),
    ("cascade_activation_functions_count", "10"),
    ("cascade_activation_functions", "3 5 7 8 10 11 14 15 16 17 "),
    ("cascade_activation_steepnesses_count", "4"),
    ("cascade_activation_steepnesses", " ".join(
        "%.20e" % s for s in (0.25, 0.5, 0.75, 1.0)) + " "),
)



def _fann_int(key, text):
    return parse_int(text.strip(), f"FANN file: {key}")


def _fann_float(key, text):
    return parse_float(text.strip(), f"FANN file: {key}")


def _fann_tuples(key, text, width):
    """The tuples "(a, b[, c]) (a, b[, c]) ..." of a neurons or connections
    line, as lists of `width` stripped strings (not yet converted)."""
    name = key.split()[0]
    pieces = text.split(")")
    if pieces[-1].strip():
        raise FormatError(f"FANN file: cannot parse {name} near "
                          f"{show(pieces[-1].strip()[:40])} (no closing ')')")
    out = []
    for piece in pieces[:-1]:
        piece = piece.strip()
        fields = piece[1:].split(",") if piece.startswith("(") else None
        if fields is None or len(fields) != width:
            raise FormatError(f"FANN file: cannot parse {name} near "
                              f"{show(piece[:40] + ')')}; expected "
                              f"{width} comma-separated numbers in "
                              "parentheses")
        out.append([f.strip() for f in fields])
    return out


def _parse_fann(text):
    lines = text.splitlines()
    first = lines[0].strip() if lines else ""
    if first != _FANN_VERSION:
        if first.startswith("FANN_FIX"):
            raise FormatError(f"{show(first)} is a fixed-point FANN file; "
                              f"pybp reads floating-point {_FANN_VERSION} "
                              "files (save the network with fann_save, not "
                              "fann_save_to_fixed)")
        if first.startswith("FANN_FLO"):
            raise FormatError(f"unsupported FANN file version {show(first)}; "
                              f"pybp reads {_FANN_VERSION} (FANN 2.1/2.2)")
        raise FormatError(f"not a FANN network file: first line is "
                          f"{show(first)}, expected {_FANN_VERSION}")
    fields = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise FormatError(f"FANN file line {number}: expected key=value; "
                              f"got {show(line)}")
        if key in fields:
            raise FormatError(f"FANN file: {show(key)} appears twice")
        fields[key] = value
    for key in ("num_layers", "connection_rate", "network_type",
                "layer_sizes", _NEURONS_KEY, _CONNECTIONS_KEY):
        if key not in fields:
            raise FormatError(f"FANN file has no {key.split(' (')[0]!r} line")
    return fields


def load_fann(file: TextSource) -> Network:
    """Load a standard fully connected FANN network from a ``.net`` file.

    Reads FANN 2.1/2.2 floating-point files (first line ``FANN_FLO_2.1``)
    of networks made by fann_create_standard with FANN_LINEAR, FANN_SIGMOID
    or FANN_SIGMOID_SYMMETRIC neurons (one function per layer; steepness may
    differ per neuron).  FANN's bias neurons become pybp biases and each
    neuron's steepness is folded into its incoming weights, so that the pybp
    network computes what fann_run computes (up to rounding, and up to
    FANN's clipping of the scaled net input at +-150/steepness).  The
    network has dtype float64.  Shortcut and sparse networks, other
    activation functions and malformed files raise FormatError.
    """
    fields = _parse_fann(read_text(file, "FANN network file"))
    network_type = _fann_int("network_type", fields["network_type"])
    if network_type != 0:
        raise FormatError(
            f"FANN network_type={network_type} (shortcut network) is not "
            "supported: pybp layers connect only to the previous layer")
    rate = _fann_float("connection_rate", fields["connection_rate"])
    if rate < 1:
        raise FormatError(f"FANN connection_rate={rate} (sparse network) is "
                          "not supported: pybp layers are fully connected")
    num_layers = _fann_int("num_layers", fields["num_layers"])
    layer_sizes = fields["layer_sizes"].split()
    if num_layers < 2 or len(layer_sizes) != num_layers:
        raise FormatError(f"FANN file: num_layers={num_layers} but "
                          f"layer_sizes lists {len(layer_sizes)} layer(s); "
                          "need at least 2")
    layer_sizes = [_fann_int("layer_sizes", v) for v in layer_sizes]
    if any(n < 2 for n in layer_sizes):
        raise FormatError(f"FANN file: layer_sizes {show(layer_sizes)} must "
                          "each be >= 2 (neurons plus the bias neuron)")
    scale = fields.get("scale_included", "0").strip()
    if scale not in ("0", "1"):
        raise FormatError(f"FANN file: scale_included must be 0 or 1; got "
                          f"{show(scale)}")
    if scale == "1":
        warnings.warn("the FANN file includes scaling parameters, which pybp "
                      "ignores (as fann_run does; scale inputs and outputs "
                      "yourself if you used fann_scale_input/output)",
                      UserWarning, stacklevel=2)
    neurons = _fann_tuples(_NEURONS_KEY, fields[_NEURONS_KEY], 3)
    if len(neurons) != sum(layer_sizes):
        raise FormatError(f"FANN file lists {len(neurons)} neurons; "
                          f"layer_sizes {layer_sizes} need {sum(layer_sizes)}")
    neurons = [(_fann_int("neuron num_inputs", n),
                _fann_int("neuron activation_function", a),
                _fann_float("neuron activation_steepness", s))
               for n, a, s in neurons]
    first = [0]
    for n in layer_sizes:
        first.append(first[-1] + n)
    if any(n != 0 for n, _, _ in neurons[:layer_sizes[0]]):
        raise FormatError("FANN file: input neurons must have no inputs")

    # Pass 1: the structure, layer by layer, before any weight is read.
    acts, steepness = [], []
    for l in range(1, num_layers):
        layer = neurons[first[l]:first[l + 1]]
        prev_n = layer_sizes[l - 1]
        if layer[-1][0] != 0:
            raise FormatError(f"FANN file: the last neuron of layer {l} must "
                              "be its bias neuron (no inputs)")
        for j, (n_in, _, steep) in enumerate(layer[:-1]):
            if n_in != prev_n:
                raise FormatError(
                    f"FANN file: neuron {j} of layer {l} has {n_in} inputs; "
                    f"a fully connected layer has {prev_n} (with the bias)")
            if not steep > 0:
                raise FormatError(f"FANN file: neuron {j} of layer {l} has "
                                  f"steepness {steep}; pybp needs a finite "
                                  "positive steepness")
        codes = sorted({a for _, a, _ in layer[:-1]})
        if len(codes) > 1:
            names = ", ".join(_fann_act_name(a) for a in codes)
            raise FormatError(f"FANN layer {l} mixes activation functions "
                              f"({names}); pybp has one activation per layer")
        if codes[0] not in _FANN_TO_PYBP:
            raise FormatError(
                f"FANN layer {l} uses {_fann_act_name(codes[0])}, which pybp "
                "cannot represent exactly; supported: FANN_LINEAR, "
                "FANN_SIGMOID, FANN_SIGMOID_SYMMETRIC")
        act, factor = _FANN_TO_PYBP[codes[0]]
        steep = np.array([s for _, _, s in layer[:-1]])
        if act != "identity" and steep.max() > _CLIP_STEEPNESS:
            warnings.warn(
                f"FANN layer {l} has steepness up to {steep.max()}: FANN clips "
                "the net input at +-150/steepness, so its outputs differ "
                "from pybp's for large inputs", UserWarning, stacklevel=2)
        acts.append(act)
        steepness.append(steep * factor)

    # Pass 2: the weights; each neuron's inputs in order, its bias last.
    connections = _fann_tuples(_CONNECTIONS_KEY, fields[_CONNECTIONS_KEY], 2)
    n_conn = sum(n for n, _, _ in neurons)
    if len(connections) != n_conn:
        raise FormatError(f"FANN file lists {len(connections)} connections; "
                          f"its neurons have {n_conn} inputs")
    sizes = [n - 1 for n in layer_sizes]
    weights, biases, conn = [], [], 0
    for l in range(1, num_layers):
        prev_first, prev_n = first[l - 1], layer_sizes[l - 1]
        block = connections[conn:conn + sizes[l] * prev_n]
        conn += len(block)
        targets = np.array([_fann_int("connected_to_neuron", t)
                            for t, _ in block]).reshape(sizes[l], prev_n)
        expected = np.arange(prev_first, prev_first + prev_n)
        bad = np.argwhere(targets != expected)
        if bad.size:
            j, k = (int(v) for v in bad[0])
            raise FormatError(
                f"FANN file: connection {k} of neuron {j} in layer {l} goes "
                f"to neuron {targets[j, k]}; a standard network connects it "
                f"to neuron {prev_first + k}")
        rows = np.array([_fann_float("connection weight", w)
                         for _, w in block]).reshape(sizes[l], prev_n)
        with np.errstate(over="ignore"):
            rows *= steepness[l - 1][:, None]
        if not np.isfinite(rows).all():
            raise FormatError(f"FANN layer {l} has weights that overflow "
                              "when multiplied by the steepness")
        weights.append(np.ascontiguousarray(rows[:, :-1]))
        biases.append(np.ascontiguousarray(rows[:, -1]))
    try:
        # (The lists become the validated tuples.)
        sizes = _validate.sizes(sizes)  # type: ignore[assignment]
        acts = _validate.activations(  # type: ignore[assignment]
            acts, None, len(sizes) - 1)
    except (TypeError, ValueError) as exc:
        raise FormatError(f"FANN file: {exc}") from None
    return build(sizes, acts, True, "float64", weights, biases)


def _fann_act_name(code):
    if 0 <= code < len(FANN_ACTIVATIONS):
        return f"{FANN_ACTIVATIONS[code]} ({code})"
    return f"unknown activation function {code}"


def _fann_text(net):
    for l, act in enumerate(net.activations):
        if act not in _PYBP_TO_FANN:
            raise ValueError(
                f"layer {l} uses {act!r}, which FANN 2.2 cannot represent; "
                "save_fann supports sigmoid, tanh and identity layers")
    if not np.isfinite(net.params).all():
        raise ValueError("the network has NaN or infinite parameters")
    sizes = net.sizes
    layer_sizes = [n + 1 for n in sizes]
    fmt = "%.20e"
    lines = [_FANN_VERSION, f"num_layers={len(sizes)}"]
    lines += [f"{k}={v}" for k, v in _FANN_DEFAULTS]
    lines.append("layer_sizes=" + "".join(f"{n} " for n in layer_sizes))
    lines.append("scale_included=0")
    neurons = ["(0, 0, %s) " % (fmt % 0.0)] * layer_sizes[0]
    connections = []
    first_prev = 0
    for l, (W, act) in enumerate(zip(net.weights, net.activations)):
        code, steep = _PYBP_TO_FANN[act]
        n_out, n_in = W.shape
        neurons += [f"({n_in + 1}, {code}, {fmt % steep}) "] * n_out
        neurons.append("(0, 0, %s) " % (fmt % 0.0))
        W = W.astype(np.float64).tolist()
        b = (net.biases[l].astype(np.float64).tolist() if net.bias
             else [0.0] * n_out)
        for j in range(n_out):
            connections.extend(f"({first_prev + i}, {fmt % w}) "
                               for i, w in enumerate(W[j]))
            connections.append(f"({first_prev + n_in}, {fmt % b[j]}) ")
        first_prev += n_in + 1
    lines.append(f"{_NEURONS_KEY}=" + "".join(neurons))
    lines.append(f"{_CONNECTIONS_KEY}=" + "".join(connections))
    return "\n".join(lines) + "\n"


def save_fann(net: Network, file: Target) -> None:
    """Save a network as a FANN 2.2 ``.net`` file (``FANN_FLO_2.1``).

    sigmoid layers become FANN_SIGMOID with steepness 0.5, tanh layers
    FANN_SIGMOID_SYMMETRIC and identity layers FANN_LINEAR with steepness 1,
    so the weights are written unchanged (exactly, with 21 significant
    digits) and fann_run computes what pybp computes.  A network without
    biases gets zero weights on FANN's bias neurons.  relu, leaky_relu and
    softmax have no FANN 2.2 counterpart: ValueError.  FANN clips a
    FANN_LINEAR neuron's output at +-150 (its net input at +-150/steepness).
    """
    check_net(net)
    data = _fann_text(net).encode("ascii")
    if is_stream(file, "write") and isinstance(file, _io.TextIOBase):
        file.write(data.decode("ascii"))
        return
    write_to(file, lambda f: f.write(data))




# ---------------------------------------------------------------------------
# FANN training-data files
# ---------------------------------------------------------------------------

def _data_diagnosis(text, n, n_in, n_out):
    """Where a FANN data file's line structure breaks first (for messages);
    reads lines only up to the first one that is off."""
    lines = (line for line in text.splitlines()[1:]
             if line and not line.isspace())
    for k in range(n):
        for part, width in (("inputs", n_in), ("outputs", n_out)):
            line = next(lines, None)
            if line is None:
                return f"; the file ends before sample {k}'s {part}"
            count = len(line.split())
            if count != width:
                return (f"; sample {k}'s {part} line has {count} values, "
                        f"expected {width}")
    extra = sum(1 for _ in lines)
    if extra:
        return f"; {extra} extra line(s) after sample {n - 1}"
    return ""


def load_fann_data(file: TextSource) -> tuple[FloatArray, FloatArray]:
    """Read a FANN training-data file: (X, T) as float64 arrays.

    The format: a first line ``num_samples num_inputs num_outputs``, then for
    every sample a line of inputs and a line of outputs (FANN reads any
    whitespace; so does pybp).  The number of values must match the counts
    exactly; values must be finite decimal numbers of at most 64
    characters.  Anything else: FormatError.
    """
    text = read_text(file, "FANN data file")
    tokens = text.split()
    if len(tokens) < 3:
        raise FormatError("FANN data file: the first line must be "
                          "'num_samples num_inputs num_outputs'")
    counts = []
    for name, tok in zip(("num_samples", "num_inputs", "num_outputs"),
                         tokens[:3]):
        if not (tok.isdigit() and len(tok) <= 18):
            raise FormatError(f"FANN data file: {name} must be a non-negative "
                              f"integer; got {show(tok)}")
        counts.append(int(tok))
    n, n_in, n_out = counts
    if n_in < 1 or n_out < 1:
        raise FormatError(f"FANN data file: num_inputs and num_outputs must "
                          f"be >= 1; got {n_in} and {n_out}")
    expected = n * (n_in + n_out)
    if len(tokens) - 3 != expected:
        raise FormatError(
            f"FANN data file: the header says {n} samples of {n_in} inputs and "
            f"{n_out} outputs ({expected} values) but {len(tokens) - 3} values "
            f"follow" + _data_diagnosis(text, n, n_in, n_out))
    values = tokens[3:]
    # Fast path: float() on tokens already known to be short and free of
    # the spellings float() accepts beyond decimal numbers (inf, nan, _).
    longest = max(map(len, values), default=0)
    try:
        if longest > MAX_NUMBER_CHARS or "_" in text:
            raise ValueError
        flat = np.array([float(v) for v in values], dtype=np.float64)
        if not np.isfinite(flat).all():
            raise ValueError
    except ValueError:
        for i, v in enumerate(values):
            parse_float(v, f"FANN data file: value {i} (sample "
                           f"{i // (n_in + n_out)})")
        raise FormatError("FANN data file: unreadable values") from None
    flat = flat.reshape(n, n_in + n_out)
    return (np.ascontiguousarray(flat[:, :n_in]),
            np.ascontiguousarray(flat[:, n_in:]))


def save_fann_data(file: Target, X: ArrayLike, T: ArrayLike) -> None:
    """Write (X, T) as a FANN training-data file (path replaced atomically).

    X: (n, n_inputs); T: (n, n_outputs), or 1-D for one output.  Values are
    written with Python's repr, so load_fann_data reads them back exactly.
    """
    X = _validate.array("X", X, np.float64)
    T = _validate.array("T", T, np.float64)
    if T.ndim == 1:
        T = T.reshape(-1, 1)
    if X.ndim != 2 or X.shape[1] < 1:
        raise ValueError(f"X must have shape (n_samples, n_inputs) with "
                         f"n_inputs >= 1; got shape {X.shape}")
    if T.ndim != 2 or T.shape[1] < 1:
        raise ValueError(f"T must have shape (n_samples, n_outputs); got "
                         f"shape {T.shape}")
    if X.shape[0] != T.shape[0]:
        raise ValueError(f"X and T must have the same number of samples; X "
                         f"has {X.shape[0]}, T has {T.shape[0]}")
    parts = [f"{X.shape[0]} {X.shape[1]} {T.shape[1]}\n"]
    for x, t in zip(X.tolist(), T.tolist()):
        parts.append(" ".join(map(repr, x)) + "\n")
        parts.append(" ".join(map(repr, t)) + "\n")
    data = "".join(parts).encode("ascii")
    if is_stream(file, "write") and isinstance(file, _io.TextIOBase):
        file.write(data.decode("ascii"))
        return
    write_to(file, lambda f: f.write(data))
