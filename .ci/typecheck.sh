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
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ "${PYBP_TYPECHECK_VENV:-}" != current ]; then
    python3 -m venv "$work/venv"
    # shellcheck disable=SC1091
    source "$work/venv/bin/activate"
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet ".[typecheck]"
fi

echo "== mypy over src/pybp"
python -m mypy --cache-dir "$work/cache" "$root/src/pybp"

echo "== mypy over the fully hinted modules, strict"
# Calls into modules that are not hinted yet are allowed here; everything
# these modules define must be.
(cd "$work" && python -m mypy --strict --cache-dir "$work/cache" \
    --disable-error-code no-untyped-call -m pybp.cli -m pybp.plot)

echo "== mypy --strict over a user's script (tests/typing/)"
(cd "$work" && python -m mypy --strict --cache-dir "$work/cache" \
    "$root"/tests/typing/*.py)
echo "typecheck: all passed"
