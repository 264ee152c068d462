#!/bin/sh
# Builds and runs the kernel benchmark (x86-64 with AVX2+FMA); prints a
# markdown table.  Optional argument: seconds per measurement (default 0.3).
set -e
cd "$(dirname "$0")"
make -s all
./build/bench_kernels "$@"
