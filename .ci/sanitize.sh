#!/usr/bin/env bash
# Sanitizer job: build pybp with AddressSanitizer and UndefinedBehaviorSanitizer
# into a fresh virtual environment and run the whole test suite with the ASan
# runtime preloaded.  Any sanitizer report fails the job (UBSan halts on the
# first one; ASan halts by default); so does the suite failing, or running
# past PYBP_SANITIZE_TIMEOUT seconds (default 600).  See docs/hardening.md.
set -euo pipefail
cd "$(dirname "$0")/.."
limit="${PYBP_SANITIZE_TIMEOUT:-600}"
sanitize="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

# The runtimes must match the compiler that builds the extension: gcc's.
command -v gcc >/dev/null 2>&1 || { echo "sanitize: gcc not found"; exit 1; }
libasan="$(gcc -print-file-name=libasan.so)"
[ -f "$libasan" ] || { echo "sanitize: gcc has no libasan.so"; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
source .ci/build_venv.sh
fresh_venv "$tmp/venv"
copy_tree "$tmp/src"
cd "$tmp/src"
echo "== build with $sanitize"
# LDFLAGS links libubsan (and libasan) into the extension; the preload below
# puts ASan first in the process, as it requires.
CC=gcc PYBP_CFLAGS="$sanitize" LDFLAGS="-fsanitize=address,undefined" \
    python -m pip install --quiet --no-build-isolation --no-cache-dir ".[test]"

echo "== the whole test suite under ASan/UBSan (limit ${limit}s)"
log="$tmp/pytest.log"
status=0
# The package is under src/, so the tests (run in the copy) import the
# installed, sanitized build, never the source tree.
# libstdc++ is preloaded too: without it, matplotlib's C++ extension trips
# an ASan CHECK in its __cxa_throw interceptor while tests/test_plot.py is
# collected (not a pybp fault).
LD_PRELOAD="$libasan $(gcc -print-file-name=libstdc++.so)" \
ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=1" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
PYTHONFAULTHANDLER=1 \
    timeout --signal=INT --kill-after=30 "$limit" \
    python -m pytest -q -p no:cacheprovider 2>&1 | tee "$log" || status=$?
if grep -qE "ERROR: AddressSanitizer|runtime error:|UndefinedBehaviorSanitizer" "$log"; then
    echo "sanitize: FAILED, sanitizer report above"
    exit 1
fi
if [ "$status" != 0 ]; then
    echo "sanitize: FAILED, pytest exit status $status (124: timed out)"
    exit 1
fi
echo "sanitize: OK, no sanitizer report"
