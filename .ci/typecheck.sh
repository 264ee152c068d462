#!/usr/bin/env bash
# Type checks: mypy over the package sources (settings in pyproject.toml,
# [tool.mypy]), then mypy --strict over a user's script (tests/typing/)
# against the installed package, from outside the source tree, so that mypy
# reads pybp's own hints through its py.typed marker.  Installs pybp with the
# typecheck extra into a fresh virtual environment (PYBP_TYPECHECK_VENV=current
# uses the active environment instead, where pybp and mypy are installed).
# Exits non-zero on any error.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source .ci/build_venv.sh
work_venv typecheck "${PYBP_TYPECHECK_VENV:-}"

# The modules that pass mypy --strict as a whole: -m NAME for each line of
# tests/typing/strict_modules.txt that is not a comment.
strict=()
while read -r m; do
    case "$m" in ''|'#'*) ;; *) strict+=(-m "$m") ;; esac
done < tests/typing/strict_modules.txt

echo "== mypy over src/pybp"
python -m mypy --cache-dir "$work/cache" "$root/src/pybp"

echo "== mypy over the fully hinted modules, strict"
# Everything these modules define is hinted, bodies included (the public
# API elsewhere is hinted at its signatures; the strict user script below
# checks that).  The package's settings apply (--config-file).
(cd "$work" && python -m mypy --strict --cache-dir "$work/cache" \
    --config-file "$root/pyproject.toml" "${strict[@]}")

echo "== mypy --strict over a user's script (tests/typing/)"
(cd "$work" && python -m mypy --strict --cache-dir "$work/cache" \
    "$root"/tests/typing/*.py)
echo "typecheck: all passed"
