"""Build the C core (csrc/, pure C) and its Cython boundary (src/pybp/_core.pyx).

Flags are chosen by compiler family: optimisation on, nothing tied to the
build machine's CPU (no native-architecture flag), so a wheel runs on any
CPU of its platform.  On x86-64 the kernels are compiled a second time for AVX2
(csrc/kernels_avx2.c, alone with -mavx2 or /arch:AVX2); csrc/dispatch.c picks
a variant at run time after checking the CPU.  No flag lets the compiler
reorder or fuse floating-point operations, so every variant, and the
pure-Python backend, compute the same sums in the same order.

PYBP_CFLAGS adds flags for local experiments (e.g. sanitizers).
"""
import os
import platform
import shlex
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

C_SOURCES = ["csrc/layout.c", "csrc/kernels_generic.c", "csrc/dispatch.c"]
AVX2_SOURCE = "csrc/kernels_avx2.c"
FLAGS = {
    # -fno-math-errno lets libm calls such as sqrt be inlined; it changes no
    # result.  -ffp-contract=off: no fused multiply-adds (Clang would fuse
    # by default, and differently per target).  No -std: the Cython module
    # includes Python.h, whose newer versions want C11; csrc/ itself is
    # checked as strict C99 by .ci/check_c.sh.
    "unix": ["-O3", "-fno-math-errno", "-ffp-contract=off"],
    "msvc": ["/O2", "/fp:precise"],
}
AVX2_FLAGS = {"unix": ["-mavx2"], "msvc": ["/arch:AVX2"]}


def target_is_x86_64(plat_name):
    """Whether the extension is being built for x86-64 (cross-builds too)."""
    if sys.platform == "darwin":
        arches = shlex.split(os.environ.get("ARCHFLAGS", ""))[1::2]
        if arches:
            return arches == ["x86_64"]
    if sys.platform == "win32":
        return plat_name == "win-amd64"
    return platform.machine().lower() in ("x86_64", "amd64")


class BuildExt(build_ext):
    def build_extensions(self):
        family = "msvc" if self.compiler.compiler_type == "msvc" else "unix"
        extra = shlex.split(os.environ.get("PYBP_CFLAGS", ""))
        self.flags = FLAGS[family] + extra
        self.avx2_flags = (AVX2_FLAGS[family]
                           if target_is_x86_64(self.plat_name) else None)
        os.makedirs(self.build_temp, exist_ok=True)
        with open(os.path.join(self.build_temp, "pybp_build.h"), "w") as f:
            f.write("/* Written by setup.py: how this build was compiled. */\n")
            f.write(f"#define PYBP_BUILD_CFLAGS {c_string(' '.join(self.flags))}\n")
            avx2 = " ".join(self.flags + (self.avx2_flags or []))
            f.write(f"#define PYBP_BUILD_AVX2_CFLAGS "
                    f"{c_string(avx2 if self.avx2_flags else '')}\n")
        for ext in self.extensions:
            ext.include_dirs.append(self.build_temp)
            ext.extra_compile_args = self.flags + list(ext.extra_compile_args)
        super().build_extensions()

    def build_extension(self, ext):
        # The AVX2 variant is compiled on its own with its own flags, and
        # only for x86-64; elsewhere it is left out.
        if AVX2_SOURCE in ext.sources:
            ext.sources = [s for s in ext.sources if s != AVX2_SOURCE]
            if self.avx2_flags:
                ext.define_macros.append(("PYBP_HAVE_AVX2", "1"))
                ext.extra_objects += self.compiler.compile(
                    [AVX2_SOURCE], output_dir=self.build_temp,
                    include_dirs=ext.include_dirs,
                    extra_postargs=self.flags + self.avx2_flags,
                    depends=ext.depends)
        super().build_extension(ext)


def c_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


extensions = [
    Extension(
        "pybp._core",
        sources=["src/pybp/_core.pyx", *C_SOURCES, AVX2_SOURCE],
        include_dirs=["csrc"],
        depends=["csrc/pybp.h", "csrc/kernels_impl.h", "csrc/instantiate.h",
                 "csrc/kernels_isa.h"],
    )
]

setup(
    ext_modules=cythonize(extensions,
                          compiler_directives={"language_level": 3}),
    cmdclass={"build_ext": BuildExt},
)
