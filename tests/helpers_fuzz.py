"""The property every pybp loader must have, for the fuzz job
(tests/fuzz/fuzz_loaders.py, run by .ci/fuzz.sh) and for the replay of its
corpus in the normal suite (tests/test_io_fuzz_corpus.py).

Each input either loads or raises pybp.FormatError, and nothing else: any
other exception is a bug.  And each runs in time linear in its size: an
input taking more than SECONDS_PER_100KB per 100 kB (at least that much for
small inputs), three times in a row, is a bug too.
"""
import io
import time
import warnings

import pybp
from pybp.errors import FormatError

SECONDS_PER_100KB = 0.05


def _model(data):
    return pybp.io.from_bytes(data)


def _checkpoint(data):
    return pybp.io.load_checkpoint(data)


def _fann_net(data):
    return pybp.io.load_fann(io.BytesIO(data))


def _fann_data(data):
    return pybp.io.load_fann_data(io.BytesIO(data))


# corpus folder name -> loader of bytes
LOADERS = {"model": _model, "checkpoint": _checkpoint,
           "fann_net": _fann_net, "fann_data": _fann_data}


class SlowInput(AssertionError):
    """An input took longer than linear time allows."""


def budget(n_bytes):
    return SECONDS_PER_100KB * max(1.0, n_bytes / 100_000)


def run_once(loader, data):
    """Load `data`; returns 'ok' or 'FormatError', raises anything else."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            LOADERS[loader](data)
        except FormatError:
            return "FormatError"
    return "ok"


def check(loader, data):
    """run_once, and SlowInput when it is slow three times in a row (one
    slow run can be another process's fault on a shared machine)."""
    limit = budget(len(data))
    for _ in range(3):
        t = time.perf_counter()
        outcome = run_once(loader, data)
        elapsed = time.perf_counter() - t
        if elapsed <= limit:
            return outcome
    raise SlowInput(f"{loader}: a {len(data)}-byte input took {elapsed:.3f} s "
                    f"(limit {limit:.3f} s)")
