#!/usr/bin/env bash
# CI fuzz job: coverage-guided fuzzing (atheris) of every pybp loader --
# safetensors model, checkpoint, FANN .net, FANN .data -- for
# PYBP_FUZZ_SECONDS in all (default 120), split evenly between them.
# Property (tests/helpers_fuzz.py): each input loads or raises FormatError,
# nothing else, in time linear in its size.  Seeds: tests/fuzz/corpus/
# (read only; new inputs go to a temporary folder, kept when
# PYBP_FUZZ_KEEP=DIR is set).  Needs the package installed in the current
# Python (pip install ".[test]") and atheris (installed here if missing).
# Exits non-zero on the first failing input, which libFuzzer saves as
# crash-*/timeout-* in the current folder and prints.
set -euo pipefail
cd "$(dirname "$0")/.."

total="${PYBP_FUZZ_SECONDS:-120}"
loaders=(model checkpoint fann_net fann_data)
each=$(( total / ${#loaders[@]} ))
(( each >= 1 )) || each=1

python -c "import atheris" 2>/dev/null || python -m pip install --quiet atheris
work="${PYBP_FUZZ_KEEP:-$(mktemp -d)}"

# Run from outside the repository so that `import pybp` is the installed one.
harness="$PWD/tests/fuzz/fuzz_loaders.py"
corpus="$PWD/tests/fuzz/corpus"
for loader in "${loaders[@]}"; do
    mkdir -p "$work/$loader"
    echo "== fuzz $loader for ${each}s (seeds: $(ls "$corpus/$loader" | wc -l))"
    log="$work/$loader.log"
    # -timeout: a hang of 10 s is a failure; -max_len: inputs up to 64 kB.
    if ! (cd "$work" && python "$harness" "$loader" "$work/$loader" \
            "$corpus/$loader" -max_total_time="$each" -timeout=10 \
            -max_len=65536 -rss_limit_mb=4096 -print_final_stats=1 \
            >"$log" 2>&1); then
        tail -40 "$log"
        echo "fuzz $loader: FAILED (log: $log)"
        exit 1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz $loader: ok, $runs executions, corpus now $(ls "$work/$loader" | wc -l) new + $(ls "$corpus/$loader" | wc -l) seeds"
done
