"""Coverage-guided fuzzing of one pybp loader with atheris (libFuzzer).

    python tests/fuzz/fuzz_loaders.py LOADER WORKDIR CORPUS [libFuzzer flags]

LOADER is one of model, checkpoint, fann_net, fann_data
(tests/helpers_fuzz.py).  New inputs go to WORKDIR (the first corpus
folder, as libFuzzer does); CORPUS is the seed corpus kept in the repository
(tests/fuzz/corpus/LOADER), read only.  Any exception other than
pybp.FormatError, or an input slower than linear time allows, stops the run
with the input saved as crash-*.  .ci/fuzz.sh runs every loader in turn.
"""
import os
import sys

import atheris

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                os.pardir))

with atheris.instrument_imports(include=["pybp"]):
    import pybp  # noqa: F401  (instrumented for coverage)
    import pybp.io  # noqa: F401

import helpers_fuzz  # noqa: E402


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in helpers_fuzz.LOADERS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(helpers_fuzz.LOADERS)}}} "
                 "WORKDIR CORPUS [libFuzzer flags]")
    loader = sys.argv.pop(1)

    def one_input(data):
        helpers_fuzz.check(loader, bytes(data))

    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
