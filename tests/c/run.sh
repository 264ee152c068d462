#!/bin/sh
# Builds and runs the standalone C tests of the fast kernels, their
# activations and the thread pool (tests/c/Makefile); exits non-zero if a build or a test fails.
#   tests/c/run.sh           everything (about a minute on 2 cores)
#   tests/c/run.sh --quick   without the largest shape
# CC and EXTRA_CFLAGS (e.g. "-fsanitize=address,undefined -g") pass to make.
set -e
cd "$(dirname "$0")"
make -s all
./build/test_threads
./build/test_fast "$@"
./build/test_activation "$@"
