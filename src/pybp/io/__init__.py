"""Saving, loading and exchanging networks.

pybp's own format is a plain safetensors file (see docs/serialization.md):

    >>> net.save("model.safetensors")            # or pybp.io.save(net, path)
    >>> net = pybp.load("model.safetensors")

One module per format, each importing only the shared helpers:

    _files       paths and streams, atomic writes, bounded reads and tokens
    safetensors  the container: read_safetensors, write_safetensors
    model        the model file: save, load, load_metadata, to/from_bytes
    checkpoint   save_checkpoint, load_checkpoint (Trainer.save/load)
    dicts        to_dict, from_dict
    fann         load_fann, save_fann, load_fann_data, save_fann_data
    onnx         export_onnx (needs the optional onnx package)
    torch        to_torch_state_dict, from_torch_state_dict

Reading never executes code, runs in time linear in the file size, and
raises ``pybp.FormatError`` (a ValueError) saying what is wrong for any
malformed input; a missing or unreadable file raises the usual OSError.
Writers replace their target atomically: a reader sees the old file or the
new one, never a part.
"""
from pybp.errors import FormatError
from pybp.io._files import MAX_NUMBER_CHARS, STALE_TMP_SECONDS
from pybp.io._files import umask as _umask
from pybp.io.checkpoint import load_checkpoint, save_checkpoint
from pybp.io.dicts import from_dict, to_dict
from pybp.io.fann import (FANN_ACTIVATIONS, load_fann, load_fann_data,
                          save_fann, save_fann_data)
from pybp.io.model import (FORMAT, FORMAT_VERSION, _from_bytes, _reduce,
                           from_bytes, load, load_metadata, save, to_bytes)
from pybp.io.model import network_from_tensors as _network_from_tensors
from pybp.io.model import network_tensors as _network_tensors
from pybp.io.onnx import export_onnx
from pybp.io.safetensors import (MAX_HEADER_BYTES, MAX_NDIM,
                                 read_safetensors, write_safetensors)
from pybp.io.torch import from_torch_state_dict, to_torch_state_dict

__all__ = [
    "save", "load", "load_metadata", "to_bytes", "from_bytes", "to_dict",
    "from_dict", "write_safetensors", "read_safetensors",
    "load_fann", "save_fann", "load_fann_data", "save_fann_data",
    "export_onnx", "to_torch_state_dict", "from_torch_state_dict",
    "save_checkpoint", "load_checkpoint", "FormatError",
    "FORMAT", "FORMAT_VERSION", "MAX_HEADER_BYTES",
]
