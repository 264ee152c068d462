#!/usr/bin/env bash
# csrc/ is portable C99: compile every file as strict ISO C99 with all
# warnings as errors, with each compiler found here (gcc, clang), both
# without and with the AVX2 variant.  No Python.h may appear in csrc/.
set -euo pipefail
cd "$(dirname "$0")/.."
if grep -rnE '#[[:space:]]*include[[:space:]]*[<"]Python\.h' csrc/; then echo "csrc/ must not include Python.h"; exit 1; fi
found=0
for cc in gcc clang; do
    command -v "$cc" >/dev/null 2>&1 || continue
    found=1
    for f in csrc/*.c; do
        "$cc" -std=c99 -pedantic -Wall -Wextra -Werror -O2 -ffp-contract=off \
            -fsyntax-only "$f"
    done
    if [ "$(uname -m)" = x86_64 ]; then
        "$cc" -std=c99 -pedantic -Wall -Wextra -Werror -O2 -mavx2 \
            -fsyntax-only csrc/kernels_avx2.c
        "$cc" -std=c99 -pedantic -Wall -Wextra -Werror -O2 \
            -DPYBP_HAVE_AVX2 -fsyntax-only csrc/dispatch.c
    fi
    echo "$cc: csrc/ compiles as strict C99"
done
[ "$found" = 1 ] || { echo "no C compiler found"; exit 1; }
