"""Type stub for the compiled module pybp._core (built from _core.pyx).

The kernels take float64 or float32 buffers (one fused Cython type: all
float arrays of one call share a dtype), C-contiguous; ``X``, ``T``, ``out``
and ``z`` are 2-D, the others 1-D.  Keep this file in step with _core.pyx.
"""
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

_Floats = NDArray[np.floating[Any]]
_Progress = Callable[[int], object] | None

ACTIVATIONS: dict[str, int]
LOSSES: dict[str, int]
OPTIMIZERS: dict[str, int]
METRICS: dict[str | None, int]
LEAKY_SLOPE: float

def c_constants() -> dict[str, Any]:
    """The C header's codes and constants as this build compiled them."""

def simd_paths() -> list[str]:
    """Instruction-set variants this build and CPU can run, best last."""

def simd_active() -> str:
    """The instruction-set variant in use."""

def simd_select(name: str | None = None) -> str:
    """Use the named variant (None: the best); returns the active one."""

KERNEL_SETS: tuple[str, ...]
MAX_THREADS: int

def kernels_select(name: str) -> str:
    """Use the named kernel set ("fast" or "exact"); returns it."""

def kernels_active() -> str:
    """The kernel set in use."""

def set_num_threads(n: int) -> int:
    """Threads the fast kernels may use (0: the default); returns the count."""

def get_num_threads() -> int:
    """Threads the fast kernels may use."""

def available_cores() -> int:
    """Cores this process may use."""

def build_info() -> dict[str, str]:
    """Compiler and flags this module was built with."""

def state_slots(spec: dict[str, Any]) -> int:
    """pybp_optim_state_slots for an optimizer spec."""

def full_batch(spec: dict[str, Any]) -> bool:
    """pybp_optim_full_batch for an optimizer spec."""

STOPS: dict[int, str]

def shuffle(rng: int, order: NDArray[np.int64]) -> int:
    """order[:] = a permutation by csrc/shuffle.h's generator from state
    rng; returns the new state."""

def all_finite(a: object) -> bool | None:
    """Whether every value is finite, for an aligned C-contiguous float64
    or float32 buffer; None for anything else."""

class Core:
    """One network architecture as the C kernels see it."""

    @property
    def n_params(self) -> int: ...
    @property
    def n_units(self) -> int: ...
    @property
    def n_in(self) -> int: ...
    @property
    def n_out(self) -> int: ...
    def __init__(self, sizes: tuple[int, ...] | list[int],
                 activations: tuple[str, ...] | list[str],
                 bias: bool) -> None: ...
    def same_weights(self, a: _Floats, b: _Floats) -> bool:
        """Whether two parameter buffers hold equal weights (biases not
        compared)."""
    def epoch_workspace_size(self, batch: int) -> int:
        """Workspace values one epoch with this batch size needs."""
    def forward(self, params: _Floats, X: _Floats, out: _Floats,
                work: _Floats) -> None:
        """out = network(X), in chunks of len(work) // n_units samples."""
    def batch_gradient(self, params: _Floats, X: _Floats, T: _Floats,
                       sw: _Floats, loss: str, acts: _Floats,
                       deltas: _Floats, z: _Floats,
                       grad: _Floats) -> tuple[float, float]:
        """Gradient of the mean loss into grad; (loss sum, weight sum)."""
    def evaluate(self, params: _Floats, X: _Floats, T: _Floats,
                 sw: _Floats, loss: str, metric: str | None,
                 threshold: float,
                 work: _Floats) -> tuple[float, float, float]:
        """(loss sum, weight sum, correct sum) over X."""
    def evaluate_workspace_size(self, batch: int) -> int:
        """Workspace values evaluate needs per chunk of `batch` samples."""
    def predict_ready(self, params: _Floats, X: object,
                      empty: Callable[..., _Floats],
                      dtype: Any) -> _Floats | None:
        """network(X) when X is an aligned C-contiguous (n_in,) or
        (n, n_in) array of params' dtype and everything is finite, else
        None (nothing computed that is kept)."""
    def train_epochs(self, spec: dict[str, Any], step: int, params: _Floats,
                     state: _Floats, X: _Floats, T: _Floats, sw: _Floats,
                     batch: int, loss: str, train_biases: bool,
                     metric: str | None, threshold: float, work: _Floats,
                     order: NDArray[np.int64], backup: _Floats,
                     best_params: _Floats, record: _Floats, lrs: _Floats,
                     seeds: NDArray[np.uint64], target_loss: float | None,
                     watch: bool, patience: int, min_delta: float,
                     best: float, wait: int, progress: _Progress = None,
                     check_x: bool = False) -> tuple[Any, ...]:
        """Up to len(record) epochs in one C call (pybp_train_epochs)."""
    def train_epoch(self, spec: dict[str, Any], step: int, params: _Floats,
                    state: _Floats, X: _Floats, T: _Floats, sw: _Floats,
                    order: NDArray[np.int64], batch: int, loss: str,
                    train_biases: bool, metric: str | None,
                    threshold: float, work: _Floats,
                    progress: _Progress = None,
                    ) -> tuple[int, float, float, float, int,
                               BaseException | None]:
        """One epoch over X[order] in batches, all in C."""
