"""Build the C core (csrc/, pure C) and its Cython boundary (src/pybp/_core.pyx).

Flags are chosen by compiler family: optimisation on, nothing tied to the
build machine's CPU (no -march=native), so a wheel runs on any CPU of its
platform.  PYBP_CFLAGS adds flags for local experiments (e.g. sanitizers).
"""
import os
import shlex

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

C_SOURCES = ["csrc/kernels.c"]


class BuildExt(build_ext):
    def build_extensions(self):
        if self.compiler.compiler_type == "msvc":
            flags = ["/O2", "/fp:precise"]
        else:
            # -fno-math-errno lets libm calls be inlined/vectorised; it changes
            # no result.  Strict IEEE otherwise (no -ffast-math): the C backend
            # must agree with the pure-Python one to the last digits.
            flags = ["-O3", "-fno-math-errno", "-std=c99"]
        flags += shlex.split(os.environ.get("PYBP_CFLAGS", ""))
        for ext in self.extensions:
            ext.extra_compile_args = flags + list(ext.extra_compile_args)
        super().build_extensions()


extensions = [
    Extension(
        "pybp._core",
        sources=["src/pybp/_core.pyx", *C_SOURCES],
        include_dirs=["csrc"],
    )
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={"language_level": 3},
    ),
    cmdclass={"build_ext": BuildExt},
)
