"""Build and run-time configuration: version, compiler, flags, SIMD path,
kernel set and thread count."""
from __future__ import annotations

import operator
import os
import platform
import sys
import warnings
from typing import IO, Any

import numpy as np

from pybp import _threadpoolctl


def _select_from_environment() -> None:
    """PYBP_SIMD=<name> forces a SIMD path (e.g. generic); default: best."""
    from pybp import _core
    wanted = os.environ.get("PYBP_SIMD", "").strip().lower() or None
    try:
        _core.simd_select(wanted)
    except ValueError as exc:
        warnings.warn(f"PYBP_SIMD={wanted!r} ignored: {exc}", RuntimeWarning,
                      stacklevel=3)
        _core.simd_select(None)


def _kernels_from_environment() -> None:
    """PYBP_KERNELS=exact|fast picks the C backend's kernel set (default
    fast); PYBP_NUM_THREADS=<n> its thread count (read by the C pool; here
    only checked, so that a typo is not silently ignored)."""
    from pybp import _core
    wanted = os.environ.get("PYBP_KERNELS", "").strip().lower()
    if wanted:
        try:
            _core.kernels_select(wanted)
        except ValueError as exc:
            warnings.warn(f"PYBP_KERNELS={wanted!r} ignored: {exc}",
                          RuntimeWarning, stacklevel=3)
            _core.kernels_select("fast")
    threads = os.environ.get("PYBP_NUM_THREADS", "").strip()
    if threads and not (threads.isdigit() and int(threads) > 0):
        warnings.warn(f"PYBP_NUM_THREADS={threads!r} ignored: expected a "
                      "positive integer; using the cores this process may "
                      f"use ({_core.available_cores()})", RuntimeWarning,
                      stacklevel=3)
    _threadpoolctl.install()


def set_kernels(name: str) -> str:
    """Choose the C backend's kernel set for every network of the process:

    - ``"fast"`` (the default): register-blocked, threaded layer products
      with fused multiply-adds; agrees with "exact" to rounding (see
      docs/kernels.md for the tolerance) and gives the same bits whatever
      the thread count.
    - ``"exact"``: the reference loops, bit-identical to the pure-Python
      backend in float64.

    The environment variable PYBP_KERNELS sets it at import.  Returns the
    set now in use.  Not to be called while another thread is training.
    The pure-Python backend is not affected."""
    from pybp import _core
    return _core.kernels_select(name)


def get_kernels() -> str:
    """The C backend's kernel set in use: "fast" or "exact"."""
    from pybp import _core
    return _core.kernels_active()


def set_num_threads(n: int | None) -> int:
    """Threads the fast kernels may use (the calling thread included); None
    restores the default: PYBP_NUM_THREADS if set, else the cores this
    process may use.  Counts above the pool's maximum (256) are clipped.
    Results are the same whatever the count.  Returns the count now in use."""
    from pybp import _core
    if n is None:
        return _core.set_num_threads(0)
    if isinstance(n, bool):
        raise TypeError("set_num_threads: expected a positive int or None, "
                        "got bool")
    try:
        count = operator.index(n)
    except TypeError:
        raise TypeError(f"set_num_threads: expected a positive int or None, "
                        f"got {type(n).__name__}") from None
    if count < 1:
        raise ValueError(f"set_num_threads: expected a positive int or None, "
                         f"got {count}")
    return _core.set_num_threads(min(count, _core.MAX_THREADS))


def get_num_threads() -> int:
    """Threads the fast kernels may use (see set_num_threads)."""
    from pybp import _core
    return _core.get_num_threads()


def config() -> dict[str, Any]:
    """The configuration as a dict (see show_config)."""
    from pybp import __version__, _core
    info = _core.build_info()
    return {
        "pybp": __version__,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "free_threading": not getattr(sys, "_is_gil_enabled", lambda: True)(),
        "numpy": np.__version__,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "compiler": info["compiler"],
        "cflags": info["cflags"],
        "avx2_cflags": info["avx2_cflags"] or None,
        "simd_available": _core.simd_paths(),
        "simd_active": _core.simd_active(),
        "kernels": _core.kernels_active(),
        "num_threads": _core.get_num_threads(),
        "available_cores": _core.available_cores(),
    }


def show_config(file: IO[str] | None = None) -> None:
    """Print pybp's version, the compiler and flags it was built with, the
    SIMD path in use (PYBP_SIMD=generic forces the baseline), the kernel set
    (PYBP_KERNELS, set_kernels) and the thread count (PYBP_NUM_THREADS,
    set_num_threads)."""
    file = file if file is not None else sys.stdout
    for key, value in config().items():
        if isinstance(value, list):
            value = ", ".join(value)
        print(f"{key:>15}: {value}", file=file)
