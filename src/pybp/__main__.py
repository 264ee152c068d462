"""python -m pybp: the ``pybp`` command line (see pybp.cli).

With no arguments it runs ``pybp demo``: the worked example of Mazur's
step-by-step backpropagation tutorial, then a credit-scoring network trained
on the C and the pure-Python backends, with the speed-up of C.
"""
import sys

from pybp.cli import main

if __name__ == "__main__":
    sys.exit(main())
