"""The type aliases of pybp's hints, defined once.

Imported by the other modules under ``typing.TYPE_CHECKING`` only (their
annotations are never evaluated at run time), so this module costs nothing
and adds no import at run time.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Protocol, TypedDict, TypeVar, Union

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from pybp.network import Network
    from pybp.train import History

# What pybp returns: float64 arrays, or float32 for dtype="float32" networks.
FloatArray = NDArray[np.floating[Any]]
# Class labels and sample orders.
IntArray = NDArray[np.integer[Any]]
# A seed: None (fresh entropy), a non-negative int, or a numpy Generator.
Seed = Union[int, np.integer[Any], np.random.Generator, None]
# A dtype as Network takes it: "float64"/"float32", np.float64, np.dtype(...).
DTypeLike = Union[str, type, np.dtype[Any]]
# A file path.
Path = Union[str, bytes, os.PathLike[str], os.PathLike[bytes]]
# Where a writer writes: a path (replaced atomically) or a binary stream.
Target = Union[Path, IO[bytes]]
# What the safetensors readers read: a path, a binary stream, or the bytes.
Source = Union[Path, IO[bytes], bytes, bytearray, memoryview]
# What the text readers (FANN) read: a path, or a text or binary stream.
TextSource = Union[Path, IO[str], IO[bytes]]
# JSON values, as metadata and to_dict hold them.
JSON = Any
# A training callback: cb(net, history) after every epoch; a true return stops.
Callback = Callable[["Network", "History"], object]



class Evaluation(TypedDict):
    """What Network.evaluate returns."""

    loss: float
    accuracy: float | None


T_co = TypeVar("T_co", covariant=True)


class ReadOnly(Protocol[T_co]):
    """How a type checker sees ``name = property(lambda self: ...)``: a
    read-only attribute of type T_co."""

    def __get__(self, instance: Any, owner: Any = None, /) -> T_co: ...
