"""libfann through bench/fann/fann_driver.c, built on demand.

load() compiles the driver with the system C compiler against Debian's
libfann (`apt-get install libfann-dev`) into a cache file in the temporary
directory, named by a hash of the source, and returns it as a ctypes
library, or raises Unavailable saying why.
"""
import ctypes
import ctypes.util
import hashlib
import os
import shutil
import subprocess
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "fann", "fann_driver.c")
ACT_CODES = {"sigmoid": 0, "tanh": 1, "identity": 2}


class Unavailable(Exception):
    pass


_lib = None


def load():
    global _lib
    if _lib is not None:
        return _lib
    if ctypes.util.find_library("floatfann") is None:
        raise Unavailable("libfann not installed (apt-get install libfann-dev)")
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        raise Unavailable("no C compiler to build bench/fann/fann_driver.c")
    with open(SOURCE, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    so = os.path.join(tempfile.gettempdir(), f"pybp-bench-fann-{digest}.so")
    if not os.path.exists(so):
        tmp = so + f".{os.getpid()}"
        r = subprocess.run([cc, "-std=c99", "-O2", "-shared", "-fPIC", "-o",
                            tmp, SOURCE, "-lfloatfann", "-lm"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise Unavailable(f"building the FANN driver failed: "
                              f"{r.stderr.strip()[:300]}")
        os.replace(tmp, so)
    lib = ctypes.CDLL(so)
    vp, u, d = ctypes.c_void_p, ctypes.c_uint, ctypes.c_double
    dp = ctypes.POINTER(ctypes.c_double)
    up = ctypes.POINTER(ctypes.c_uint)
    i64p = ctypes.POINTER(ctypes.c_int64)
    sig = {"fd_new": (vp, [u, up, ctypes.c_int, ctypes.c_int]),
           "fd_free_net": (None, [vp]),
           "fd_set_params": (ctypes.c_int, [vp, u, up, dp]),
           "fd_data": (vp, [u, u, u, dp, dp]),
           "fd_free_data": (None, [vp]),
           "fd_train_incremental": (d, [vp, vp, ctypes.c_float, u, i64p]),
           "fd_train_rprop": (d, [vp, vp, u]),
           "fd_mse": (d, [vp, vp]),
           "fd_run_repeat": (d, [vp, vp, u, dp]),
           "fd_run_all": (d, [vp, vp, dp])}
    for name, (res, args) in sig.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    _lib = lib
    return lib


def _dptr(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))


class FannNet:
    """A libfann network with given initial parameters ([(W, b)], W of
    shape (n_out, n_in)) and activations; float (FANN's default build)."""

    def __init__(self, sizes, activations, params):
        self.lib = load()
        hidden, out = activations
        if hidden not in ACT_CODES or out not in ACT_CODES:
            raise Unavailable(f"FANN has no {hidden}/{out} here")
        self.sizes = (ctypes.c_uint * len(sizes))(*sizes)
        self.n_layers = len(sizes)
        self.ann = self.lib.fd_new(self.n_layers, self.sizes, ACT_CODES[hidden],
                                   ACT_CODES[out])
        if not self.ann:
            raise Unavailable("fann_create_standard_array failed")
        self.set_params(params)

    def set_params(self, params):
        flat = np.ascontiguousarray(np.concatenate(
            [np.concatenate([np.ravel(w), np.ravel(b)]) for w, b in params]),
            dtype=np.float64)
        if self.lib.fd_set_params(self.ann, self.n_layers, self.sizes,
                                  _dptr(flat)) != 0:
            raise RuntimeError("fd_set_params: connection layout mismatch")

    def __del__(self):
        if getattr(self, "ann", None):
            self.lib.fd_free_net(self.ann)
            self.ann = None


class FannData:
    def __init__(self, X, T):
        self.lib = load()
        X = np.ascontiguousarray(X, dtype=np.float64)
        T = np.ascontiguousarray(T, dtype=np.float64)
        self.n, self.n_out = len(X), T.shape[1]
        self.h = self.lib.fd_data(len(X), X.shape[1], T.shape[1], _dptr(X),
                                  _dptr(T))
        if not self.h:
            raise MemoryError("fd_data")

    def __del__(self):
        if getattr(self, "h", None):
            self.lib.fd_free_data(self.h)
            self.h = None


def train_incremental(net, data, lr, epochs, orders=None):
    """Seconds for `epochs` per-sample epochs (orders: (epochs, n) int64)."""
    ptr = None
    if orders is not None:
        orders = np.ascontiguousarray(orders, dtype=np.int64)
        assert orders.shape == (epochs, data.n)
        ptr = orders.ctypes.data_as(ctypes.POINTER(ctypes.c_int64))
    return net.lib.fd_train_incremental(net.ann, data.h, lr, epochs, ptr)


def train_rprop(net, data, epochs):
    return net.lib.fd_train_rprop(net.ann, data.h, epochs)


def mse(net, data):
    return net.lib.fd_mse(net.ann, data.h)


def run_all(net, data):
    out = np.empty((data.n, data.n_out))
    return net.lib.fd_run_all(net.ann, data.h, _dptr(out)), out


def run_repeat(net, data, reps):
    out = np.empty(data.n_out)
    return net.lib.fd_run_repeat(net.ann, data.h, reps, _dptr(out)), out
