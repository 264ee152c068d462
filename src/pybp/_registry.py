"""The one registry of pybp's names, codes and constants.

Every name the public API accepts (activations, losses, optimizers, metrics,
dtypes, backends, inits, stop reasons), the integer code the C kernels know
it by (csrc/pybp.h's enums), the constants shared by both backends, the
fields of each optimizer's spec, the names of its state slots and the flat
parameter layout are written here once.  Everything else imports them;
pybp._core checks at import that every code equals the C enum value.

This module imports nothing from pybp, so that any module may import it.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

# ---- activations, losses, metrics: name -> C code (enums in csrc/pybp.h) ----

ACTIVATIONS = {
    "sigmoid": 0,
    "tanh": 1,
    "relu": 2,
    "leaky_relu": 3,
    "identity": 4,
    "softmax": 5,     # output layer only
}
ACTIVATION_ALIASES = {"linear": "identity", "logistic": "sigmoid"}

LOSSES = {
    "sse": 0,
    "half_sse": 1,
    "mse": 2,
    "cross_entropy": 3,
    "binary_cross_entropy": 4,
}

# None: regression, no accuracy; "argmax": one-hot rows; "threshold": each
# output on the target's side of a threshold.
METRICS = {
    None: 0,
    "argmax": 1,
    "threshold": 2,
}

# The slope of leaky_relu for negative net input (PYBP_LEAKY_SLOPE).
LEAKY_SLOPE = 0.01

# ---- optimizers ---------------------------------------------------------

OPTIMIZERS = {
    "sgd": 0,
    "adam": 1,
    "rmsprop": 2,
    "adagrad": 3,
    "rprop": 4,
    "quickprop": 5,
}

# The exact keys of each optimizer's spec (besides "kind"); the C struct
# pybp_optim has a field of the same name for each.
OPTIMIZER_FIELDS = {
    "sgd": ("lr", "momentum", "nesterov", "weight_decay"),
    "adam": ("lr", "beta1", "beta2", "eps", "weight_decay"),
    "rmsprop": ("lr", "rho", "eps", "weight_decay"),
    "adagrad": ("lr", "eps", "weight_decay"),
    "rprop": ("eta_plus", "eta_minus", "delta0", "delta_min", "delta_max",
              "weight_decay"),
    "quickprop": ("lr", "mu", "weight_decay"),
}

# Optimizers that take one step per epoch on the whole training set's
# gradient (pybp_optim_full_batch in C).
FULL_BATCH = frozenset({"rprop", "quickprop"})


def state_slot_names(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The names of an optimizer's per-parameter state buffers, in the order
    the C kernels keep them (slot s at state + s * n_params); their count is
    pybp_optim_state_slots.  spec: a dict with at least "kind" (and
    "momentum" for SGD)."""
    kind = spec["kind"]
    if kind == "sgd":
        return ("velocity",) if spec["momentum"] != 0 else ()
    return {
        "adam": ("m", "v"),            # first and second moment
        "rmsprop": ("v",),             # running mean of g^2
        "adagrad": ("sum_sq",),        # sum of g^2
        "rprop": ("prev_grad", "step_size"),
        "quickprop": ("prev_slope", "prev_step"),  # slope = -gradient
    }[kind]


def state_slots(spec: Mapping[str, Any]) -> int:
    """The number of n_params-sized optimizer state slots."""
    return len(state_slot_names(spec))


# ---- other choices ---------------------------------------------------------

DTYPES: tuple[str, ...] = ("float64", "float32")
BACKENDS: tuple[str, ...] = ("c", "python")
INITS: tuple[str, ...] = ("default", "he", "xavier", "uniform")
STOP_REASONS = ("max_epochs", "target_loss", "no_improvement", "max_seconds",
                "callback", "interrupted", "diverged")

# ---- the flat parameter layout (csrc/layout.c) -----------------------------


def layout(sizes: Sequence[int],
           bias: bool) -> tuple[list[tuple[int, int]], int]:
    """([(weight offset, bias offset or -1) per layer], n_params).

    Layer l's weights w_ij (row j for output unit j, column i for input i)
    are stored row-major from its weight offset, then, with biases, its
    n_out biases; layers follow each other.  The C kernels assume exactly
    this layout (pybp_weight_offset, pybp_bias_offset).
    """
    out, off = [], 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        out.append((off, off + n_out * n_in if bias else -1))
        off += n_out * (n_in + (1 if bias else 0))
    return out, off


def n_params(sizes: Sequence[int], bias: bool) -> int:
    """The number of weights and biases of this architecture."""
    return sum(n_out * (n_in + (1 if bias else 0))
               for n_in, n_out in zip(sizes[:-1], sizes[1:]))
