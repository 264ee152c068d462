"""Build and run-time configuration: version, compiler, flags, SIMD path."""
from __future__ import annotations

import os
import platform
import sys
import warnings
from typing import IO, Any

import numpy as np


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
    }


def show_config(file: IO[str] | None = None) -> None:
    """Print pybp's version, the compiler and flags it was built with, and
    the SIMD path in use (PYBP_SIMD=generic forces the baseline)."""
    file = file if file is not None else sys.stdout
    for key, value in config().items():
        if isinstance(value, list):
            value = ", ".join(value)
        print(f"{key:>15}: {value}", file=file)
