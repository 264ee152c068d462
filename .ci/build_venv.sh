# Sourced by .ci/sanitize.sh, .ci/valgrind.sh, .ci/docs.sh and
# .ci/typecheck.sh (from the repository root).

# fresh_venv DIR: create a virtual environment at DIR, activate it, and
# install the build tools, so that pybp can be built without isolation.
fresh_venv() {
    python3 -m venv "$1"
    # shellcheck disable=SC1091
    source "$1/bin/activate"
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet "setuptools>=77" "Cython>=3.1" wheel
}

# work_venv EXTRA SWITCH: set $work to a new temporary folder, removed when
# the script exits, and, unless SWITCH is "current" (then the active
# environment is used as it is), make a fresh virtual environment in it
# with pybp installed from the working tree with its EXTRA extra.
work_venv() {
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    if [ "$2" != current ]; then
        fresh_venv "$work/venv"
        python -m pip install --quiet --no-build-isolation ".[$1]"
    fi
}

# copy_tree DEST: copy the working tree's tracked and untracked (not
# ignored) files to DEST, so that a special build there neither reuses the
# objects an ordinary build left in ./build nor leaves its own behind.
copy_tree() {
    mkdir -p "$1"
    { git ls-files -z; git ls-files -z --others --exclude-standard; } |
        xargs -0 cp --parents -t "$1"
}
