#!/usr/bin/env bash
# csrc/ is portable C99: compile every file as strict ISO C99 with all
# warnings as errors, with each compiler found here (gcc, clang), both
# without and with the AVX2 variant.  No Python.h may appear in csrc/, and a
# variant exports only the kernels pybp.h declares.
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
        "$cc" -std=c99 -pedantic -Wall -Wextra -Werror -O2 -mavx2 -mfma \
            -fsyntax-only csrc/fast_avx2.c
        "$cc" -std=c99 -pedantic -Wall -Wextra -Werror -O2 -mavx512f -mfma \
            -fsyntax-only csrc/fast_avx512.c
        "$cc" -std=c99 -pedantic -Wall -Wextra -Werror -O2 \
            -DPYBP_HAVE_FAST_AVX2 -DPYBP_HAVE_FAST_AVX512 \
            -fsyntax-only csrc/fast_dispatch.c
    fi
    echo "$cc: csrc/ compiles as strict C99"
done
[ "$found" = 1 ] || { echo "no C compiler found"; exit 1; }

# Only the kernels pybp.h declares leave a variant's object file: five per
# precision, everything else in kernels_impl.h is static.
exports_exactly() {  # SOURCE SUFFIX: the object exports pybp.h's kernels only
    local obj got want k p
    obj="$(mktemp -d)/$(basename "$1" .c).o"
    gcc -std=c99 -O2 -ffp-contract=off -c "$1" -o "$obj"
    got="$(nm -g --defined-only "$obj" | awk '{print $3}' | sort | tr '\n' ' ')"
    want=""
    for k in batch_gradient evaluate forward train_epoch train_epochs; do
        for p in f32 f64; do want+="pybp_${k}_${p}_$2 "; done
    done
    rm -rf "$(dirname "$obj")"
    if [ "$got" != "$want" ]; then
        echo "$1 exports: $got"
        echo "expected exactly: $want"
        exit 1
    fi
}
if command -v gcc >/dev/null 2>&1 && command -v nm >/dev/null 2>&1; then
    exports_exactly csrc/kernels_generic.c generic
    exports_exactly csrc/fast_drivers.c fast
    echo "kernels_generic.o and fast_drivers.o export only the kernels pybp.h declares"
fi
