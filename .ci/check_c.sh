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
    fi
    echo "$cc: csrc/ compiles as strict C99"
done
[ "$found" = 1 ] || { echo "no C compiler found"; exit 1; }

# Only the kernels pybp.h declares leave a variant's object file: four per
# precision, everything else in kernels_impl.h is static.
if command -v gcc >/dev/null 2>&1 && command -v nm >/dev/null 2>&1; then
    obj="$(mktemp -d)/kernels_generic.o"
    gcc -std=c99 -O2 -ffp-contract=off -c csrc/kernels_generic.c -o "$obj"
    got="$(nm -g --defined-only "$obj" | awk '{print $3}' | sort | tr '\n' ' ')"
    want="pybp_batch_gradient_f32_generic pybp_batch_gradient_f64_generic pybp_evaluate_f32_generic pybp_evaluate_f64_generic pybp_forward_f32_generic pybp_forward_f64_generic pybp_train_epoch_f32_generic pybp_train_epoch_f64_generic "
    if [ "$got" != "$want" ]; then
        echo "kernels_generic.o exports: $got"
        echo "expected exactly:          $want"
        exit 1
    fi
    rm -rf "$(dirname "$obj")"
    echo "kernels_generic.o exports only the kernels pybp.h declares"
fi
