#!/usr/bin/env bash
# Valgrind memcheck over a representative subset of the tests: the worked
# example, gradients against the reference (float64 and float32, weighted),
# two fits per optimizer through the C backend, and the C epoch driver's
# chunked batches and its stop inside a batch.  Fails (exit 1) on
# any memcheck error -- invalid read or write, use of uninitialised values,
# bad free -- and on any "definitely lost" block not suppressed by
# .ci/valgrind-python.supp.  Slow (several minutes), so it is not part of
# .ci/run; see docs/hardening.md.
#
# Builds pybp with -g into a fresh virtual environment, or uses the one in
# PYBP_VALGRIND_VENV (pybp already installed there).  PYBP_VALGRIND_TIMEOUT
# bounds the run (seconds, default 1800).
set -euo pipefail
cd "$(dirname "$0")/.."
limit="${PYBP_VALGRIND_TIMEOUT:-1800}"
command -v valgrind >/dev/null 2>&1 || { echo "valgrind: not installed"; exit 1; }

if [ -n "${PYBP_VALGRIND_VENV:-}" ]; then
    # shellcheck disable=SC1091
    source "$PYBP_VALGRIND_VENV/bin/activate"
else
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    source .ci/build_venv.sh
    fresh_venv "$tmp/venv"
    copy_tree "$tmp/src"
    (cd "$tmp/src" && PYBP_CFLAGS="-g" python -m pip install --quiet \
        --no-build-isolation --no-cache-dir ".[test]")
fi

# The C backend only: the pure-Python backend's loops are 50-100x slower
# still under memcheck and exercise no C.
selection="not python and not 10000_steps_via_gradients and \
(test_worked_example or check_gradients_float32 or \
sample_weight_is_a_weighted_mean or deltas_are_per_sample or \
two_fits_equal_one_longer_fit or chunked_batch or exception_in_progress)"
echo "== memcheck: pytest -k \"$selection\" (limit ${limit}s)"
# PYTHONMALLOC=malloc: every Python allocation goes through malloc, where
# memcheck can see it (pymalloc's arenas would hide overruns and trip false
# uninitialised-value reports).
PYTHONMALLOC=malloc timeout --kill-after=30 "$limit" \
    valgrind --tool=memcheck --error-exitcode=1 \
        --leak-check=full --show-leak-kinds=definite \
        --errors-for-leak-kinds=definite \
        --suppressions=.ci/valgrind-python.supp --num-callers=40 \
        python -m pytest -q -p no:cacheprovider -k "$selection" \
            tests/test_worked_example.py tests/test_gradients.py \
            tests/test_training.py tests/test_c_api.py
echo "valgrind: OK, no memcheck errors, nothing definitely lost"
