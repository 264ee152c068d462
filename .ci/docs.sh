#!/usr/bin/env bash
# The documentation site: install pybp with the docs extra in a fresh virtual
# environment, run every docs example marked "<!-- check: run -->" and compare
# what it prints with the block marked "<!-- check: output -->" after it (so
# the printed digits are pybp's own), then build the site with MkDocs, warnings
# as errors (mkdocs.yml has strict: true), into a temporary folder.
# PYBP_DOCS_VENV=current uses the active environment instead.  Exits non-zero
# on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
source .ci/build_venv.sh
work_venv docs "${PYBP_DOCS_VENV:-}"

echo "== docs examples print what the pages say"
(cd "$work" && python - "$root"/docs/*.md <<'PY'
import re
import subprocess
import sys

block = re.compile(r"<!-- check: (run|output) -->\s*```[a-z]*\n(.*?)```",
                   re.S)
failed = checked = 0
for page in sys.argv[1:]:
    marked = block.findall(open(page, encoding="utf-8").read())
    for (kind, code), (next_kind, expected) in zip(marked, marked[1:]):
        if kind != "run":
            continue
        if next_kind != "output":
            sys.exit(f"{page}: a 'check: run' block has no 'check: output' "
                     "block after it")
        r = subprocess.run([sys.executable, "-c", code], capture_output=True,
                           text=True, timeout=300)
        checked += 1
        if r.returncode != 0 or r.stdout != expected:
            failed += 1
            print(f"{page}: example {checked} printed\n{r.stdout}{r.stderr}"
                  f"but the page says\n{expected}")
print(f"{checked} example(s) checked, {failed} differ")
sys.exit(1 if failed or not checked else 0)
PY
)

echo "== mkdocs build --strict"
python -m mkdocs build --strict --config-file "$root/mkdocs.yml" \
    --site-dir "$work/site"
test -s "$work/site/index.html" && test -s "$work/site/api/index.html"
echo "docs: built"
