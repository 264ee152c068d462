"""Typing: the installed package ships py.typed and the _core stub, mypy
reads pybp's hints through them, a user's script over the whole public API
passes mypy --strict, and the fully hinted modules pass it too."""
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import pybp

TYPING = Path(__file__).resolve().parent / "typing"
SCRIPT = TYPING / "user_script.py"
PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_installed_package_contains_py_typed():
    assert (Path(pybp.__file__).parent / "py.typed").is_file()
    files = importlib.metadata.files("pybp") or []
    assert any(str(f).replace("\\", "/") == "pybp/py.typed" for f in files), \
        "py.typed is not in the installed distribution's RECORD"


def test_installed_package_contains_core_stub():
    assert (Path(pybp.__file__).parent / "_core.pyi").is_file()
    files = importlib.metadata.files("pybp") or []
    assert any(str(f).replace("\\", "/") == "pybp/_core.pyi" for f in files), \
        "_core.pyi is not in the installed distribution's RECORD"


def test_user_script_runs():
    r = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def mypy(tmp_path_factory):
    api = pytest.importorskip("mypy.api", reason='pip install "pybp[typecheck]"')
    where = tmp_path_factory.mktemp("mypy")
    cache = where / "cache"

    def check(*args):
        # From a folder outside the source tree: the installed pybp is seen.
        import os
        old = os.getcwd()
        os.chdir(where)
        try:
            out, err, status = api.run(["--cache-dir", str(cache), *args])
        finally:
            os.chdir(old)
        return status, out + err
    return check


def test_mypy_sees_pybp_as_typed(mypy):
    status, out = mypy(str(SCRIPT))
    assert "py.typed" not in out and "import-untyped" not in out, out
    assert status == 0, out


def _strict_modules():
    lines = (TYPING / "strict_modules.txt").read_text().splitlines()
    return [m.strip() for m in lines if m.strip() and not m.startswith("#")]


def test_fully_hinted_modules_pass_mypy_strict(mypy):
    if not PYPROJECT.is_file():
        pytest.skip("pyproject.toml (mypy's settings) is not beside tests/")
    args = []
    for m in _strict_modules():
        args += ["-m", m]
    status, out = mypy("--strict", "--config-file", str(PYPROJECT), *args)
    assert status == 0, out


def test_user_script_passes_mypy_strict(mypy):
    status, out = mypy("--strict", str(SCRIPT))
    assert status == 0, out


def test_mypy_strict_catches_a_wrong_hint(mypy, tmp_path):
    """The strict check is not vacuous: a user's type error in a call into
    pybp is reported (it would not be if pybp's hints were Any)."""
    bad = tmp_path / "bad_script.py"
    bad.write_text(
        "import pybp\n"
        "net = pybp.Network([2, 3, 1])\n"
        "n: str = net.n_params\n"
        "h = net.fit([[0.0, 1.0]], [[1.0]], epochs='3')\n"
        "w: int = pybp.load('m.safetensors')\n")
    status, out = mypy("--strict", str(bad))
    assert status != 0
    assert 'bad_script.py:3: error: Incompatible types in assignment ' \
        '(expression has type "int", variable has type "str")' in out, out
    assert 'bad_script.py:4: error: Argument "epochs" to "fit" of ' \
        '"Network" has incompatible type "str"; expected "int"' in out, out
    assert 'bad_script.py:5: error: Incompatible types in assignment ' \
        '(expression has type "Network"' in out, out
