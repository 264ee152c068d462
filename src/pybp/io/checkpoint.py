"""Training checkpoints: a pybp model file plus a Trainer's state.

The network's tensors, the optimizer state as the tensor
``trainer.optimizer_state`` (slots x n_params), and in ``__metadata__`` the
key ``trainer``: JSON with the options, the optimizer and its schedule, the
counters and the shuffling random stream (PCG64).  Everything the file
claims is checked before it is used; anything malformed is a FormatError.
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

from pybp import _registry
from pybp.errors import FormatError
from pybp.io._files import show
from pybp.io.model import (check_net, check_network_entries, json_field,
                           network_from_tensors, network_tensors)
from pybp.io.safetensors import is_int, read_safetensors_full, \
    write_safetensors

if TYPE_CHECKING:
    from pybp._typing import Source, Target
    from pybp.network import Network
    from pybp.train import Trainer

STATE_TENSOR: str = "trainer.optimizer_state"


def save_checkpoint(trainer: Trainer, net: Network, file: Target) -> None:
    """Save net and trainer so that training resumes exactly: the network's
    tensors, the optimizer state as tensor ``trainer.optimizer_state``
    (slots x n_params), and in ``__metadata__`` key ``trainer`` the options,
    the optimizer and its schedule, the step/epoch/sample counters and the
    shuffling random stream.  Callbacks are not saved.  Atomic like save()."""
    from pybp.train import Trainer
    check_net(net)
    if not isinstance(trainer, Trainer):
        raise TypeError(f"expected a pybp.Trainer; got {type(trainer).__name__}")
    tensors, metadata = network_tensors(net)
    state = trainer.optimizer_state(net)
    slots = state.size // max(net.n_params, 1) if net.n_params else 0
    tensors[STATE_TENSOR] = state.reshape(slots, net.n_params)
    metadata["trainer"] = json.dumps(trainer._checkpoint_config())
    write_safetensors(file, tensors, metadata)


def _check_rng_state(rng: Any) -> None:
    """The PCG64 state dict numpy's setter takes, checked so that the setter
    cannot fail (it raises OverflowError for out-of-range integers)."""
    if not isinstance(rng, dict) or set(rng) != {
            "bit_generator", "state", "has_uint32", "uinteger"}:
        raise FormatError("rng must be an object with bit_generator, state, "
                          f"has_uint32 and uinteger; got {show(rng)}")
    if rng["bit_generator"] != "PCG64":
        raise FormatError(f"rng bit_generator is {show(rng['bit_generator'])}"
                          "; pybp checkpoints use 'PCG64'")
    state = rng["state"]
    if not isinstance(state, dict) or set(state) != {"state", "inc"}:
        raise FormatError("rng state must be an object with state and inc; "
                          f"got {show(state)}")
    for key in ("state", "inc"):
        v = state[key]
        if not (is_int(v) and 0 <= v < 2**128):
            raise FormatError(f"rng state {key} must be an integer in "
                              f"[0, 2**128); got {show(v)}")
    if state["inc"] % 2 != 1:
        raise FormatError("rng state inc must be odd (PCG64 keeps it odd); "
                          f"got {state['inc']}")
    if rng["has_uint32"] not in (0, 1) or isinstance(rng["has_uint32"], bool):
        raise FormatError("rng has_uint32 must be 0 or 1; got "
                          f"{show(rng['has_uint32'])}")
    if not (is_int(rng["uinteger"]) and 0 <= rng["uinteger"] < 2**32):
        raise FormatError("rng uinteger must be an integer in [0, 2**32); got "
                          f"{show(rng['uinteger'])}")


def _trainer_from_config(config: Any) -> Trainer:
    from pybp.train import Trainer
    if not isinstance(config, dict):
        raise FormatError("__metadata__ trainer must be a JSON object; got "
                          f"{show(config)}")
    if "rng" not in config:
        raise FormatError("__metadata__ trainer has no 'rng'")
    _check_rng_state(config["rng"])
    for key in ("step", "epochs_done", "samples_seen"):
        # Counters reach C as 64-bit integers.
        if key in config and is_int(config[key]) and not (
                0 <= config[key] < 2**63):
            raise FormatError(f"__metadata__ trainer: {key} must be an "
                              f"integer in [0, 2**63); got "
                              f"{show(config[key])}")
    try:
        return Trainer._from_checkpoint_config(config)
    except (TypeError, ValueError, KeyError, IndexError, AttributeError,
            OverflowError, ArithmeticError) as exc:
        if isinstance(exc, FormatError):
            raise
        raise FormatError(f"__metadata__ trainer: {exc}") from None


def load_checkpoint(file: Source) -> tuple[Trainer, Network]:
    """(trainer, net) from a file written by save_checkpoint.  Anything
    malformed raises FormatError."""
    def check(entries, metadata):
        check_network_entries(
            [e for e in entries if e[0] != STATE_TENSOR], metadata)
        if STATE_TENSOR not in {e[0] for e in entries}:
            raise FormatError(f"no tensor {STATE_TENSOR}; not a pybp "
                              "training checkpoint")
        if "trainer" not in metadata:
            raise FormatError("__metadata__ has no 'trainer'; not a pybp "
                              "training checkpoint")

    tensors, metadata, _ = read_safetensors_full(file, check)
    state = tensors.pop(STATE_TENSOR)
    net = network_from_tensors(tensors, metadata)
    trainer = _trainer_from_config(json_field(metadata, "trainer"))
    try:
        slots = _registry.state_slots(trainer.optimizer.spec())
    except (TypeError, ValueError, KeyError) as exc:
        raise FormatError(f"__metadata__ trainer optimizer: {exc}") from None
    expected = (slots, net.n_params)
    if state.shape != expected:
        raise FormatError(f"__metadata__ trainer: optimizer state has shape "
                          f"{list(state.shape)}; {trainer.optimizer!r} on "
                          f"{net.n_params} parameters needs {list(expected)}")
    if state.dtype != net.dtype:
        raise FormatError(f"__metadata__ trainer: optimizer state is "
                          f"{state.dtype}; the network is {net.dtype}")
    if not np.isfinite(state).all():
        raise FormatError("__metadata__ trainer: optimizer state contains "
                          "NaN or infinite values")
    trainer.optimizer_state(net)[...] = state.reshape(-1)
    return trainer, net
