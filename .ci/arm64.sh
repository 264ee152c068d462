#!/usr/bin/env bash
# The arm64 build of csrc/'s fast kernels, NEON variant included
# (csrc/fast_neon.c): compiled as strict C99 by the arm64 cross compiler,
# then the standalone C tests of the fast kernels and their activations,
# cross-built (tests/c/Makefile) and run under qemu-user, for the NEON
# variant only (the generic one is the same C as on x86-64).  The thread
# pool's own test is left out: qemu-user cannot fork a threaded program
# (it aborts in its translator), and the pool is the same C on every POSIX
# system; test_fast still checks 1 to 4 threads give the same bits.
# Needs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user; as root
# with apt-get it installs them, otherwise it says why it skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
cc=aarch64-linux-gnu-gcc
if ! command -v "$cc" >/dev/null 2>&1 || ! command -v qemu-aarch64 >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q \
            gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null ||
            { echo "arm64: skipped (apt-get could not install the cross tools)"; exit 0; }
    else
        echo "arm64: skipped (needs $cc and qemu-aarch64: gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, qemu-user)"
        exit 0
    fi
fi
for f in csrc/*.c; do
    "$cc" -std=c99 -pedantic -Wall -Wextra -Werror -O2 -ffp-contract=off \
        -fsyntax-only "$f"
done
"$cc" -std=c99 -pedantic -Wall -Wextra -Werror -O2 -DPYBP_HAVE_FAST_NEON \
    -fsyntax-only csrc/fast_dispatch.c
echo "$cc: csrc/ compiles as strict C99 for arm64"
make -s -C tests/c B=build-arm64 CC="$cc" X86=0 ARM64=1 \
    build-arm64/test_fast build-arm64/test_activation
run() { qemu-aarch64 -L /usr/aarch64-linux-gnu "tests/c/build-arm64/$1" "${@:2}"; }
run test_fast --quick --variant neon
run test_activation --quick --variant neon
