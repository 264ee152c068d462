"""Shared fixtures for pybp's tests.

The tests import the installed package (``import pybp``); nothing here puts
the source tree on sys.path.  Helpers are handed out as fixtures because
pytest's importlib import mode does not let test modules import conftest.
"""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

# The package lives under src/, so running from the repository root cannot
# import the uncompiled sources; still, fail loudly if it ever does.
_REPO = Path(__file__).resolve().parents[1]
import pybp  # noqa: E402

# Shared test helpers (tests/helpers_*.py) are imported by name: put this
# folder -- tests only, never the package sources -- on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

if Path(pybp.__file__).resolve().is_relative_to(_REPO / "src"):
    raise pytest.UsageError(
        f"pybp was imported from the source tree ({pybp.__file__}); the tests "
        "must run against the installed package (pip install '.[test]')")

BACKENDS = ("c", "python")


def pytest_addoption(parser):
    parser.addoption(
        "--kernels", choices=("fast", "exact"), default=None,
        help="run the C backend on this kernel set (default: PYBP_KERNELS, "
             "else fast); the same as PYBP_KERNELS=<set> python -m pytest")


def pytest_configure(config):
    chosen = config.getoption("--kernels", default=None)
    if chosen:
        # Subprocesses started by tests inherit the choice too.
        os.environ["PYBP_KERNELS"] = chosen
        pybp.set_kernels(chosen)


def pytest_report_header(config):
    return (f"pybp kernels: {pybp.get_kernels()}, SIMD: "
            f"{pybp.config()['simd_active']}, threads: "
            f"{pybp.get_num_threads()}")


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Each test that takes it runs once per backend."""
    return request.param


@pytest.fixture
def exact_kernels():
    """Runs the test on the exact kernel set (for properties only it has:
    bit-identity across SIMD variants, batch-size-independent sums), then
    restores the set in use."""
    before = pybp.get_kernels()
    pybp.set_kernels("exact")
    yield
    pybp.set_kernels(before)


@pytest.fixture
def rng():
    return np.random.default_rng(20240611)


def _targets(output_activation, loss, n, m, rng):
    """Targets a loss/output pairing can actually reach.

    softmax outputs get probability rows (cross_entropy with one-hot rows
    would leave some gradient entries at exactly zero, a weaker test);
    sigmoid outputs values in (0, 1); tanh in (-1, 1); identity anything.
    """
    if output_activation == "softmax":
        T = rng.uniform(0.05, 1.0, (n, m))
        return T / T.sum(axis=1, keepdims=True)
    if output_activation == "sigmoid":
        return rng.uniform(0.05, 0.95, (n, m))
    if output_activation == "tanh":
        return rng.uniform(-0.9, 0.9, (n, m))
    return rng.normal(0.0, 1.0, (n, m))


@pytest.fixture
def make_targets():
    """make_targets(output_activation, loss, n, m, rng) -> (n, m) targets."""
    return _targets


def _fann_datasets():
    """$PYBP_DATASETS, else shared/datasets/fann beside the repository."""
    if os.environ.get("PYBP_DATASETS"):
        return Path(os.environ["PYBP_DATASETS"])
    return _REPO.parent / "shared" / "datasets" / "fann"


@pytest.fixture
def fann_dir():
    """The FANN example data sets beside the repository, or a skip."""
    path = _fann_datasets()
    if not path.is_dir():
        pytest.skip(f"FANN data sets not found at {path}")
    return path
