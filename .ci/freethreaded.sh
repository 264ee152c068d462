#!/usr/bin/env bash
# Free-threaded CPython job: build pybp for a free-threaded interpreter
# (3.13t or 3.14t, no GIL) in a fresh virtual environment and run the thread
# tests there, with the GIL kept off (PYTHON_GIL=0: the run fails if anything
# needs it), plus the training and stopping tests.  See docs/hardening.md.
#
# The interpreter: $PYBP_FT_PYTHON, else python3.14t / python3.13t on PATH,
# else (PYBP_FT_BUILD=1 only) one built from Debian's python3.13 source with
# --disable-gil into $PYBP_FT_PREFIX (default ~/.cache/pybp-python3.13t;
# about 10 minutes on 2 cores, reused afterwards).  With no interpreter the
# job says so and exits 0 (skipped, not passed).  Exits non-zero on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

find_python() {
    if [ -n "${PYBP_FT_PYTHON:-}" ]; then echo "$PYBP_FT_PYTHON"; return; fi
    local candidate
    for candidate in python3.14t python3.13t \
            "${PYBP_FT_PREFIX:-$HOME/.cache/pybp-python3.13t}/bin/python3.13t"; do
        if command -v "$candidate" >/dev/null 2>&1; then
            command -v "$candidate"; return
        fi
    done
}

build_python() {
    # Debian's source package (the only CPython source reachable here):
    # configure --disable-gil, install under the prefix.  Needs root for the
    # private apt lists (kept apart from the system's).
    local prefix="${PYBP_FT_PREFIX:-$HOME/.cache/pybp-python3.13t}"
    local tmp apt
    tmp="$(mktemp -d)"
    apt="$tmp/apt"
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
        "http://deb.debian.org/debian trixie main" >"$apt/sources.list"
    local opts=(-o "Dir::Etc::sourcelist=$apt/sources.list"
                -o "Dir::Etc::sourceparts=-" -o "Dir::State::Lists=$apt/lists"
                -o "Dir::Cache=$apt/cache")
    apt-get "${opts[@]}" update -qq
    (cd "$tmp" && apt-get "${opts[@]}" source --download-only -qq python3.13)
    tar -C "$tmp" -xf "$tmp"/python3.13_*.orig.tar.xz
    (cd "$tmp"/Python-3.13.* &&
        ./configure --disable-gil --prefix="$prefix" >"$tmp/configure.log" &&
        make -j"$(nproc)" >"$tmp/make.log" 2>&1 &&
        make install >"$tmp/install.log" 2>&1)
    rm -rf "$tmp"
}

python_ft="$(find_python || true)"
if [ -z "$python_ft" ] && [ "${PYBP_FT_BUILD:-0}" = 1 ]; then
    echo "== building a free-threaded CPython 3.13 from Debian's source"
    build_python
    python_ft="$(find_python || true)"
fi
if [ -z "$python_ft" ]; then
    echo "freethreaded: SKIPPED, no free-threaded interpreter (set" \
         "PYBP_FT_PYTHON, put python3.13t on PATH, or PYBP_FT_BUILD=1)"
    exit 0
fi
if [ "$("$python_ft" -c 'import sysconfig; print(sysconfig.get_config_var("Py_GIL_DISABLED"))')" != 1 ]; then
    echo "freethreaded: $python_ft is not a free-threaded build"; exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "== $("$python_ft" -VV)"
"$python_ft" -m venv "$tmp/venv"
# shellcheck disable=SC1091
source "$tmp/venv/bin/activate"
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "setuptools>=77" "Cython>=3.1" numpy pytest hypothesis
# Build from a copy of the tree, so no object of an ordinary build is reused.
source "$root/.ci/build_venv.sh"
copy_tree "$tmp/src"
(cd "$tmp/src" && python -m pip install --quiet --no-build-isolation .)

cd "$tmp/src"
echo "== is the GIL off once pybp is imported (no PYTHON_GIL override)?"
python - <<'PY'
import sys
import warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import pybp._core  # noqa: F401  (the compiled extension)
print("GIL enabled after import:", sys._is_gil_enabled())
for w in caught:
    print("import warning:", w.message)
PY
echo "== thread tests, training and stopping with PYTHON_GIL=0"
PYTHON_GIL=0 python -m pytest -q -p no:cacheprovider \
    tests/test_threads_safety.py tests/test_numerics.py tests/test_training.py \
    tests/test_stopping.py tests/test_config.py
PYTHON_GIL=0 python -c 'import sys, pybp; assert not sys._is_gil_enabled()'
echo "freethreaded: OK"
