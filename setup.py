"""Build the C core (csrc/, pure C) and its Cython boundary (src/pybp/_core.pyx).

Flags are chosen by compiler family: optimisation on, nothing tied to the
build machine's CPU (no native-architecture flag), so a wheel runs on any
CPU of its platform.  On x86-64 the exact kernels are compiled a second time
for AVX2 (csrc/kernels_avx2.c, alone with -mavx2 or /arch:AVX2), and the fast
layer products for AVX2+FMA (csrc/fast_avx2.c, -mavx2 -mfma) and AVX-512F
(csrc/fast_avx512.c, -mavx512f -mfma); on arm64 the fast layer products
have a NEON variant (csrc/fast_neon.c, baseline flags: every arm64 CPU has
NEON and FMA).  csrc/dispatch.c and csrc/fast_dispatch.c pick a variant at
run time after checking the CPU.  No
flag lets the compiler reorder or fuse floating-point operations, so every
variant of the exact set, and the pure-Python backend, compute the same sums
in the same order (the fast set's FMA is written out as intrinsics).

PYBP_CFLAGS adds flags for local experiments (e.g. sanitizers).
"""
import os
import platform
import shlex
import sys

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

C_SOURCES = ["csrc/layout.c", "csrc/kernels_generic.c", "csrc/dispatch.c",
             "csrc/fast_drivers.c", "csrc/fast_generic.c",
             "csrc/fast_dispatch.c", "csrc/threads.c"]
# Sources compiled alone with their own flags, for one target architecture
# only, and the macro that tells the dispatchers they are there.
ISA_SOURCES = {
    "csrc/kernels_avx2.c": ("avx2", "PYBP_HAVE_AVX2"),
    "csrc/fast_avx2.c": ("fast_avx2", "PYBP_HAVE_FAST_AVX2"),
    "csrc/fast_avx512.c": ("fast_avx512", "PYBP_HAVE_FAST_AVX512"),
    "csrc/fast_neon.c": ("fast_neon", "PYBP_HAVE_FAST_NEON"),
}
# Which target each ISA source is for ("x86_64" or "arm64").
ISA_TARGET = {"avx2": "x86_64", "fast_avx2": "x86_64",
              "fast_avx512": "x86_64", "fast_neon": "arm64"}
FLAGS = {
    # -fno-math-errno lets libm calls such as sqrt be inlined; it changes no
    # result.  -ffp-contract=off: no fused multiply-adds (Clang would fuse
    # by default, and differently per target).  No -std: the Cython module
    # includes Python.h, whose newer versions want C11; csrc/ itself is
    # checked as strict C99 by .ci/check_c.sh.
    "unix": ["-O3", "-fno-math-errno", "-ffp-contract=off"],
    "msvc": ["/O2", "/fp:precise"],
}
ISA_FLAGS = {
    "avx2": {"unix": ["-mavx2"], "msvc": ["/arch:AVX2"]},
    "fast_avx2": {"unix": ["-mavx2", "-mfma"], "msvc": ["/arch:AVX2"]},
    "fast_avx512": {"unix": ["-mavx512f", "-mfma"], "msvc": ["/arch:AVX512"]},
    "fast_neon": {"unix": [], "msvc": []},
}
# The thread pool (csrc/threads.c) uses POSIX threads outside Windows.
LINK_FLAGS = {"unix": ["-pthread"], "msvc": []}


def target_arch(plat_name):
    """"x86_64", "arm64" or None (another CPU): what the extension is being
    built for (cross-builds too: macOS ARCHFLAGS, Windows plat_name)."""
    if sys.platform == "darwin":
        arches = shlex.split(os.environ.get("ARCHFLAGS", ""))[1::2]
        if len(arches) == 1:
            return arches[0] if arches[0] in ("x86_64", "arm64") else None
        if arches:
            return None  # universal2: only the baseline variants
    if sys.platform == "win32":
        return {"win-amd64": "x86_64", "win-arm64": "arm64"}.get(plat_name)
    machine = platform.machine().lower()
    if machine in ("x86_64", "amd64"):
        return "x86_64"
    if machine in ("aarch64", "arm64"):
        return "arm64"
    return None


class BuildExt(build_ext):
    def build_extensions(self):
        family = "msvc" if self.compiler.compiler_type == "msvc" else "unix"
        extra = shlex.split(os.environ.get("PYBP_CFLAGS", ""))
        self.flags = FLAGS[family] + extra
        arch = target_arch(self.plat_name)
        self.isa_flags = {isa: (flags[family] if ISA_TARGET[isa] == arch
                                else None)
                          for isa, flags in ISA_FLAGS.items()}
        self.avx2_flags = self.isa_flags["avx2"]
        link = [] if sys.platform == "darwin" else LINK_FLAGS[family]
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
            ext.extra_link_args = link + list(ext.extra_link_args)
        super().build_extensions()

    def build_extension(self, ext):
        # Each variant is compiled on its own with its own flags, and only
        # for its target architecture; elsewhere it is left out.
        for source, (isa, macro) in ISA_SOURCES.items():
            if source not in ext.sources:
                continue
            ext.sources = [s for s in ext.sources if s != source]
            flags = self.isa_flags[isa]
            if flags is not None:
                ext.define_macros.append((macro, "1"))
                ext.extra_objects += self.compiler.compile(
                    [source], output_dir=self.build_temp,
                    include_dirs=ext.include_dirs,
                    extra_postargs=self.flags + flags,
                    depends=ext.depends)
        super().build_extension(ext)


def c_string(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


extensions = [
    Extension(
        "pybp._core",
        sources=["src/pybp/_core.pyx", *C_SOURCES, *ISA_SOURCES],
        include_dirs=["csrc"],
        depends=["csrc/pybp.h", "csrc/kernels_impl.h", "csrc/instantiate.h",
                 "csrc/kernels_isa.h", "csrc/fast_kernels.h",
                 "csrc/fast_impl.h", "csrc/fast_instantiate.h",
                 "csrc/fast_ukr.h", "csrc/fast_act_avx2.h",
                 "csrc/fast_pack_avx2.h", "csrc/fast_pack_avx512.h",
                 "csrc/fast_sample.h", "csrc/derivative.h",
                 "csrc/fast_tiny_avx.h", "csrc/fast_act_avx512.h",
                 "csrc/fast_act_scalar.h",
                 "csrc/fast_act_consts.h", "csrc/plan.h", "csrc/shuffle.h",
                 "csrc/threads.h"],
    )
]

setup(
    ext_modules=cythonize(extensions,
                          compiler_directives={"language_level": 3}),
    cmdclass={"build_ext": BuildExt},
)
