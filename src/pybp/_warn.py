"""RuntimeWarnings attributed to the user's line, not to pybp's internals."""
import contextlib
import os
import sys
import warnings

import numpy as np

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message):
    """warnings.warn(message, RuntimeWarning) with the stack level of the
    first caller outside the pybp package (however deep the call)."""
    # stacklevel 1 is this function; 2 its caller, sys._getframe(1).
    level, frame = 2, sys._getframe(1)
    while frame is not None and \
            os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, RuntimeWarning, stacklevel=level)


def non_finite(what, values, dtype):
    """A RuntimeWarning when values hold inf or NaN although the parameters
    and inputs were finite (callers check both first): the computation
    overflowed the dtype.  Both backends report it this one way."""
    finite = np.isfinite(values)
    if not finite.all():
        bad = values.size - np.count_nonzero(finite)
        hint = (" (float32 overflows above 3.4e38: smaller weights or "
                "inputs, or float64, avoid it)" if dtype == np.float32 else "")
        warn(f"{what}: {bad} of {values.size} values are not finite (inf or "
             f"NaN): the computation overflowed {dtype.name}{hint}")


_NOTHING = contextlib.nullcontext()


def numpy_quiet(backend):
    """A context that silences numpy's floating-point warnings where the
    backend computes with numpy ("python": its casts of overflowing values
    to float32), so that non_finite's warning is the only one; a no-op for
    the C backend."""
    return np.errstate(all="ignore") if backend == "python" else _NOTHING
