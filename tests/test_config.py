"""pybp._config: the build configuration and run-time SIMD dispatch."""
import io
import os
import subprocess
import sys

import numpy as np
import pytest

import pybp
from pybp import _core


def test_config_reports_the_build():
    cfg = pybp.config()
    assert cfg["pybp"] == pybp.__version__
    assert cfg["numpy"] == np.__version__
    assert cfg["simd_active"] in cfg["simd_available"]
    assert cfg["simd_available"][0] == "generic"
    assert "-march=native" not in cfg["cflags"]
    assert cfg["compiler"]
    out = io.StringIO()
    pybp.show_config(file=out)
    text = out.getvalue()
    assert f"pybp: {pybp.__version__}" in text and "simd_active" in text


def _best_path_of_the_active_set():
    """The best variant the active kernel set has on this CPU:
    simd_paths() lists what either set runs, and the exact set is compiled
    for generic and AVX2 only (AVX-512 and NEON are fast-set variants), so
    on an AVX-512 CPU the exact set's best is avx2."""
    paths = _core.simd_paths()
    if pybp.get_kernels() == "exact":
        paths = [p for p in paths if p in ("generic", "avx2")]
    return paths[-1]


def test_best_simd_path_is_chosen_by_default():
    assert _core.simd_active() == _best_path_of_the_active_set() or \
        os.environ.get("PYBP_SIMD")


def test_exact_set_has_no_avx512_variant():
    """Selecting avx512 where the CPU runs it selects the fast set's avx512
    variant and, for the exact set, its best (avx2)."""
    if "avx512" not in _core.simd_paths():
        pytest.skip("this CPU runs no avx512 variant")
    before, kernels = _core.simd_active(), pybp.get_kernels()
    try:
        _core.simd_select("avx512")
        pybp.set_kernels("fast")
        assert _core.simd_active() == "avx512"
        pybp.set_kernels("exact")
        assert _core.simd_active() == "avx2"
    finally:
        pybp.set_kernels(kernels)
        _core.simd_select(before)


def test_unknown_simd_path_is_refused():
    with pytest.raises(ValueError, match="not available"):
        _core.simd_select("avx9000")
    assert _core.simd_active() in _core.simd_paths()


def _train_on_every_path(dtype):
    """(params, gradient, predictions) after training on each SIMD path."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(257, 37)).astype(dtype)
    T = np.eye(5)[rng.integers(0, 5, 257)]
    results = {}
    before = _core.simd_active()
    try:
        for path in _core.simd_paths():
            _core.simd_select(path)
            net = pybp.Network([37, 19, 11, 5], "tanh", "softmax", seed=1,
                               dtype=dtype)
            net.fit(X, T, loss="cross_entropy", optimizer="adam",
                    batch_size=16, epochs=2, seed=2)
            g = net.gradients(X[:40], T[:40], loss="cross_entropy")
            results[path] = (net.params.copy(), g.params.copy(),
                             net.predict(X))
    finally:
        _core.simd_select(before)
    return results


@pytest.mark.usefixtures("exact_kernels")  # fast variants differ (FMA)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_every_simd_path_gives_bit_identical_results(dtype):
    results = _train_on_every_path(dtype)
    reference = results["generic"]
    for path, got in results.items():
        for a, b in zip(reference, got):
            assert a.dtype == np.dtype(dtype)
            assert np.array_equal(a, b), f"{path} differs from generic"


def test_simd_environment_variable_forces_a_path():
    code = "import pybp; print(pybp.config()['simd_active'])"
    env = dict(os.environ, PYBP_SIMD="generic")
    out = subprocess.run([sys.executable, "-c", code], env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "generic"
    env["PYBP_SIMD"] = "nonsense"
    out = subprocess.run([sys.executable, "-c", code], env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == _best_path_of_the_active_set()
    assert "PYBP_SIMD='nonsense' ignored" in out.stderr


