# Sourced by .ci/sanitize.sh and .ci/valgrind.sh (from the repository root).

# fresh_venv DIR: create a virtual environment at DIR, activate it, and
# install the build tools, so that pybp can be built without isolation.
fresh_venv() {
    python3 -m venv "$1"
    # shellcheck disable=SC1091
    source "$1/bin/activate"
    python -m pip install --quiet --upgrade pip
    python -m pip install --quiet "setuptools>=77" "Cython>=3.1" wheel
}

# copy_tree DEST: copy the working tree's tracked and untracked (not
# ignored) files to DEST, so that a special build there neither reuses the
# objects an ordinary build left in ./build nor leaves its own behind.
copy_tree() {
    mkdir -p "$1"
    { git ls-files -z; git ls-files -z --others --exclude-standard; } |
        xargs -0 cp --parents -t "$1"
}
