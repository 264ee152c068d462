# cython: language_level=3, boundscheck=False, wraparound=False
# cython: initializedcheck=False, cdivision=True, embedsignature=True
# cython: freethreading_compatible=True
"""The Cython boundary: the only module that touches both Python objects and C.

Every entry point checks the shapes and sizes the C kernels assume (see the
preconditions in csrc/pybp.h), then calls C with the GIL released.  Inputs are
typed memoryviews only, so the build needs no NumPy headers.  User-facing
validation (names, dtypes, NaN) is done before this, in pybp._validate; the
checks here are the last line that keeps a bad call from reaching C.
"""
from libc.stdint cimport int64_t, uint64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from cpython.exc cimport PyErr_CheckSignals
from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release,
                             PyBuffer_IsContiguous, PyBUF_RECORDS_RO,
                             PyBUF_WRITABLE)

from pybp._kernels cimport *

from pybp import _registry

# The C enum values, by the registry's names; checked against the registry
# below, at import.
_C_CODES = {
    "activation": {
        "sigmoid": PYBP_ACT_SIGMOID,
        "tanh": PYBP_ACT_TANH,
        "relu": PYBP_ACT_RELU,
        "leaky_relu": PYBP_ACT_LEAKY_RELU,
        "identity": PYBP_ACT_IDENTITY,
        "softmax": PYBP_ACT_SOFTMAX,
    },
    "loss": {
        "sse": PYBP_LOSS_SSE,
        "half_sse": PYBP_LOSS_HALF_SSE,
        "mse": PYBP_LOSS_MSE,
        "cross_entropy": PYBP_LOSS_CROSS_ENTROPY,
        "binary_cross_entropy": PYBP_LOSS_BINARY_CROSS_ENTROPY,
    },
    "optimizer": {
        "sgd": PYBP_OPT_SGD,
        "adam": PYBP_OPT_ADAM,
        "rmsprop": PYBP_OPT_RMSPROP,
        "adagrad": PYBP_OPT_ADAGRAD,
        "rprop": PYBP_OPT_RPROP,
        "quickprop": PYBP_OPT_QUICKPROP,
    },
    "metric": {
        None: PYBP_METRIC_NONE,
        "argmax": PYBP_METRIC_ARGMAX,
        "threshold": PYBP_METRIC_THRESHOLD,
    },
}

ACTIVATIONS = _registry.ACTIVATIONS
LOSSES = _registry.LOSSES
OPTIMIZERS = _registry.OPTIMIZERS
METRICS = _registry.METRICS
LEAKY_SLOPE = PYBP_LEAKY_SLOPE


def c_constants():
    """The C header's codes and constants as this build compiled them:
    {"activation": {name: code}, "loss": ..., "optimizer": ..., "metric":
    ..., "leaky_slope": PYBP_LEAKY_SLOPE} (a test hook for the registry)."""
    out = {group: dict(codes) for group, codes in _C_CODES.items()}
    out["leaky_slope"] = PYBP_LEAKY_SLOPE
    return out


# Every field of struct pybp_optim, as _kernels.pxd declares it.
_OPTIM_FIELDS = ("kind", "lr", "weight_decay", "momentum", "nesterov", "beta1",
                 "beta2", "rho", "eps", "eta_plus", "eta_minus", "delta0",
                 "delta_min", "delta_max", "mu", "step")


def _check_registry():
    """ImportError unless pybp._registry agrees with csrc/pybp.h."""
    registry = {"activation": _registry.ACTIVATIONS,
                "loss": _registry.LOSSES,
                "optimizer": _registry.OPTIMIZERS,
                "metric": _registry.METRICS}
    for group, codes in _C_CODES.items():
        if registry[group] != codes:
            raise ImportError(
                f"pybp._registry's {group} codes {registry[group]} differ "
                f"from csrc/pybp.h's {codes}: rebuild pybp, or fix the "
                "registry to match the C enums")
    for kind, fields in _registry.OPTIMIZER_FIELDS.items():
        lacking = [f for f in fields if f not in _OPTIM_FIELDS]
        if lacking:
            raise ImportError(f"pybp._registry's {kind} fields {lacking} are "
                              "not fields of csrc/pybp.h's struct pybp_optim")
    if _registry.LEAKY_SLOPE != PYBP_LEAKY_SLOPE:
        raise ImportError(
            f"pybp._registry.LEAKY_SLOPE = {_registry.LEAKY_SLOPE} differs "
            f"from csrc/pybp.h's PYBP_LEAKY_SLOPE = {PYBP_LEAKY_SLOPE}")


_check_registry()


def simd_paths():
    """Instruction-set variants this build and CPU can run, best last."""
    return [pybp_simd_name(i).decode() for i in range(pybp_simd_count())]


def simd_active():
    return pybp_simd_active().decode()


def simd_select(name=None):
    """Use the named variant (None: the best this CPU runs); ValueError if
    this build or CPU cannot run it.  Not while another thread trains."""
    cdef bytes raw = (name or "").encode()
    if pybp_simd_select(raw) != 0:
        raise ValueError(f"SIMD path {name!r} is not available here; "
                         f"available: {', '.join(simd_paths())}")
    return simd_active()


KERNEL_SETS = ("fast", "exact")


def kernels_select(name):
    """Use the kernel set `name`, "fast" or "exact" (see csrc/pybp.h);
    ValueError for another name.  Not while another thread trains."""
    if not isinstance(name, str):
        raise TypeError(f"kernel set must be a str, one of "
                        f"{', '.join(map(repr, KERNEL_SETS))}; got "
                        f"{type(name).__name__}")
    if name not in KERNEL_SETS:
        raise ValueError(f"unknown kernel set {name!r}; expected one of "
                         f"{', '.join(map(repr, KERNEL_SETS))}")
    pybp_kernels_select(name.encode())
    return kernels_active()


def kernels_active():
    return pybp_kernels_active().decode()


MAX_THREADS = PYBP_MAX_THREADS


def set_num_threads(int n):
    """Threads the fast kernels may use; n <= 0 restores the default."""
    pybp_set_num_threads(n)
    return pybp_get_num_threads()


def get_num_threads():
    return pybp_get_num_threads()


def available_cores():
    return pybp_available_cores()


def build_info():
    return {
        "compiler": pybp_compiler().decode(),
        "cflags": PYBP_BUILD_CFLAGS.decode(),
        "avx2_cflags": PYBP_BUILD_AVX2_CFLAGS.decode(),
    }


ctypedef fused real:
    float
    double


cdef int _progress(void *ctx, int64_t done) noexcept with gil:
    """Between batches: run pending signal handlers (Ctrl-C) and the caller's
    callback; an exception from either is kept in ctx and stops the epoch."""
    cdef list box = <list>ctx
    try:
        PyErr_CheckSignals()
        if box[0] is not None and box[0](done):
            return 1
    except BaseException as exc:
        box[1] = exc
        return 1
    return 0


cdef pybp_optim _make_optim(dict spec, int64_t step) except *:
    """The C struct from an optimizer's spec (Optimizer.spec: "kind" and
    exactly the registry's fields for that kind) and the step count.
    ValueError for an unknown kind, a missing key or an unknown key."""
    cdef pybp_optim opt
    kind = spec.get("kind")
    if kind not in _registry.OPTIMIZERS:
        raise ValueError(f"optimizer spec: unknown kind {kind!r}; expected "
                         f"one of {', '.join(_registry.OPTIMIZERS)}")
    fields = _registry.OPTIMIZER_FIELDS[kind]
    if len(spec) != len(fields) + 1 or not all([f in spec for f in fields]):
        given = set(spec) - {"kind"}
        missing = [f for f in fields if f not in given]
        unknown = sorted(given - set(fields))
        raise ValueError(f"optimizer spec for {kind!r} needs exactly the keys "
                         f"{', '.join(fields)}; missing {missing}, unknown "
                         f"{unknown}")
    # Field by field (spec has exactly the kind's keys); fields the kind
    # does not use are zero (the kernels never read them).
    opt.kind = _registry.OPTIMIZERS[kind]
    opt.lr = spec.get("lr", 0.0)
    opt.weight_decay = spec.get("weight_decay", 0.0)
    opt.momentum = spec.get("momentum", 0.0)
    opt.nesterov = 1 if spec.get("nesterov", False) else 0
    opt.beta1 = spec.get("beta1", 0.0)
    opt.beta2 = spec.get("beta2", 0.0)
    opt.rho = spec.get("rho", 0.0)
    opt.eps = spec.get("eps", 0.0)
    opt.eta_plus = spec.get("eta_plus", 0.0)
    opt.eta_minus = spec.get("eta_minus", 0.0)
    opt.delta0 = spec.get("delta0", 0.0)
    opt.delta_min = spec.get("delta_min", 0.0)
    opt.delta_max = spec.get("delta_max", 0.0)
    opt.mu = spec.get("mu", 0.0)
    opt.step = 0
    if step < 0:
        raise ValueError(f"optimizer step must be >= 0, got {step}")
    opt.step = step
    return opt


cdef pybp_task _make_task(str loss, metric, double threshold, int64_t batch,
                          bint train_biases) except *:
    cdef pybp_task task
    if batch < 1:
        raise ValueError(f"batch size must be >= 1, got {batch}")
    task.loss = _registry.LOSSES[loss]
    task.metric = _registry.METRICS[metric]
    task.threshold = threshold
    task.batch = batch
    task.train_biases = train_biases
    return task


def state_slots(dict spec):
    """pybp_optim_state_slots for this spec (a test hook: the registry's
    state_slots must agree)."""
    cdef pybp_optim opt = _make_optim(spec, 0)
    return pybp_optim_state_slots(&opt)


def full_batch(dict spec):
    """pybp_optim_full_batch for this spec (a test hook: the registry's
    FULL_BATCH must agree)."""
    cdef pybp_optim opt = _make_optim(spec, 0)
    return bool(pybp_optim_full_batch(&opt))


def shuffle(uint64_t rng, int64_t[::1] order):
    """order[:] = a random permutation of 0..len(order)-1 by csrc/shuffle.h's
    generator (SplitMix64, Lemire's bounded draw, Fisher-Yates) from state
    rng (an int in [0, 2**64)); returns the generator's new state.
    pybp._pycore.shuffle is the same in Python."""
    cdef uint64_t state = rng
    cdef int64_t n = order.shape[0]
    if n:
        with nogil:
            pybp_shuffle_order(&state, &order[0], n)
    return state


# What pybp_train_epochs returns as enum pybp_stop, by name.
STOPS = {PYBP_STOP_MAX_EPOCHS: "max_epochs", PYBP_STOP_TARGET: "target_loss",
         PYBP_STOP_PATIENCE: "no_improvement", PYBP_STOP_DIVERGED: "diverged",
         PYBP_STOP_ASKED: "asked", PYBP_STOP_ASKED_INSIDE: "asked_inside",
         PYBP_STOP_BAD_INPUT: "bad_input"}

# Values of the on-stack workspace Core.predict_ready uses before allocating.
cdef enum:
    PREDICT_STACK = 2048


cdef bint _all_finite(const real *v, int64_t count) noexcept nogil:
    # v - v is 0 for finite values and NaN otherwise; a sum keeps a NaN, in
    # any order, so eight independent sums give the same answer as one
    # without waiting on one add's latency per value (one chain ran at 4
    # cycles a value: 7 ms per fit() on a 10240 x 784 float32 input).
    cdef int64_t i = 0
    cdef real a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0
    while i + 8 <= count:
        a0 += v[i] - v[i]
        a1 += v[i + 1] - v[i + 1]
        a2 += v[i + 2] - v[i + 2]
        a3 += v[i + 3] - v[i + 3]
        a4 += v[i + 4] - v[i + 4]
        a5 += v[i + 5] - v[i + 5]
        a6 += v[i + 6] - v[i + 6]
        a7 += v[i + 7] - v[i + 7]
        i += 8
    while i < count:
        a0 += v[i] - v[i]
        i += 1
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) == 0


# Values above which all_finite and Core.same_weights release the GIL for
# their pass.  Below it the pass takes microseconds, and a short release
# once per epoch of an otherwise GIL-holding loop (the pure-Python backend's
# stall check) starved every other thread: each release wakes a thread that
# waits for the GIL and restarts its switch-interval wait, so it never asks
# for the GIL and never gets it (seen: 0 turns of a waiting thread in a 3 s
# fit).
cdef enum:
    FINITE_NOGIL = 1 << 15


def all_finite(a):
    """Whether every value of `a` is finite, in one pass with no allocation:
    True or False when `a` exports (buffer protocol) an aligned,
    C-contiguous block of float64 ("d") or float32 ("f") values, of any
    shape (empty: True); None when it does not (the caller then checks
    another way).  The fast path of pybp._validate's array checks."""
    cdef Py_buffer b
    cdef bint ok = False
    cdef int64_t count
    try:
        PyObject_GetBuffer(a, &b, PyBUF_RECORDS_RO)
    except (BufferError, TypeError, ValueError):
        return None
    try:
        if b.format == NULL or b.format[1] != 0 or \
                not PyBuffer_IsContiguous(&b, b'C'):
            return None
        if b.format[0] == b'd' and b.itemsize == sizeof(double):
            if (<size_t>b.buf) % sizeof(double) != 0:
                return None
            count = b.len // sizeof(double)
            if count > FINITE_NOGIL:
                with nogil:
                    ok = _all_finite(<const double *>b.buf, count)
            else:
                ok = _all_finite(<const double *>b.buf, count)
        elif b.format[0] == b'f' and b.itemsize == sizeof(float):
            if (<size_t>b.buf) % sizeof(float) != 0:
                return None
            count = b.len // sizeof(float)
            if count > FINITE_NOGIL:
                with nogil:
                    ok = _all_finite(<const float *>b.buf, count)
            else:
                ok = _all_finite(<const float *>b.buf, count)
        else:
            return None
    finally:
        PyBuffer_Release(&b)
    return ok


cdef bint _same_weights(const pybp_net *net, const real *a,
                        const real *b) noexcept nogil:
    """Whether a and b (parameter buffers of net) hold equal weights."""
    cdef int64_t l, i, off = 0, count
    for l in range(net.n_layers):
        count = net.sizes[l] * net.sizes[l + 1]
        for i in range(off, off + count):
            if a[i] != b[i]:
                return False
        off += count + (net.sizes[l + 1] if net.bias else 0)
    return True


cdef char _acquire(object obj, Py_buffer *b, str name, int ndim,
                   bint writable, char want) except 0:
    """Take obj's buffer into b (the caller releases it): `ndim`-D,
    C-contiguous, aligned, writable if asked, of element `want` -- b'd'
    float64, b'f' float32, b'q' int64, b'Q' uint64, or 0 for either float
    type; returns the element found.  ValueError (nothing held) otherwise."""
    cdef int flags = PyBUF_RECORDS_RO | (PyBUF_WRITABLE if writable else 0)
    cdef char f = 0
    cdef Py_ssize_t size
    try:
        PyObject_GetBuffer(obj, b, flags)
    except (BufferError, TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a{' writable' if writable else ''}"
                         f" {ndim}-D array; got {type(obj).__name__} "
                         f"({exc})") from None
    if b.format != NULL and b.format[0] != 0 and b.format[1] == 0:
        f = b.format[0]
    if f == b'l':
        f = b'q'
    elif f == b'L':
        f = b'Q'
    size = 4 if f == b'f' else 8
    if not ((f == want or (want == 0 and (f == b'd' or f == b'f')))
            and b.itemsize == size and b.ndim == ndim
            and PyBuffer_IsContiguous(b, b'C')
            and (<size_t>b.buf) % size == 0):
        PyBuffer_Release(b)
        if want == b'd':
            kind = "float64"
        elif want == b'f':
            kind = "float32"
        elif want == b'q':
            kind = "int64"
        elif want == b'Q':
            kind = "uint64"
        else:
            kind = "float64 or float32"
        raise ValueError(f"{name}: expected a C-contiguous, aligned {ndim}-D "
                         f"array of {kind}")
    return f


# The buffers one kernel call holds: taken in order by _take, all released
# by _release_all (in the caller's finally).
cdef enum:
    HELD_MAX = 12

cdef struct _Held:
    Py_buffer b[HELD_MAX]
    int got


cdef char _take(_Held *h, object obj, str name, int ndim, bint writable,
                char want) except 0:
    """_acquire into the next free buffer of h; returns the element found."""
    cdef char f
    if h.got >= HELD_MAX:
        raise RuntimeError("too many buffers held")  # a bug in this module
    f = _acquire(obj, &h.b[h.got], name, ndim, writable, want)
    h.got += 1
    return f


cdef void _release_all(_Held *h) noexcept:
    cdef int i
    for i in range(h.got):
        PyBuffer_Release(&h.b[i])
    h.got = 0


cdef void _check_len(str what, Py_ssize_t got, int64_t want) except *:
    if got != want:
        raise ValueError(f"{what}: expected {want} values, got {got}")


cdef class Core:
    """One network architecture as the C kernels see it (sizes, activation
    codes, bias flag); it owns no parameters."""
    cdef pybp_net net
    cdef int64_t *sizes
    cdef int *acts
    cdef readonly int64_t n_params, n_units, n_in, n_out

    def __cinit__(self, sizes, activations, bint bias):
        cdef Py_ssize_t L = len(sizes) - 1, l
        if L < 1 or len(activations) != L:
            raise ValueError("Core: need at least two layer sizes and one "
                             "activation per weight layer")
        self.sizes = <int64_t *>malloc((L + 1) * sizeof(int64_t))
        self.acts = <int *>malloc(L * sizeof(int))
        if self.sizes == NULL or self.acts == NULL:
            raise MemoryError()
        for l in range(L + 1):
            if sizes[l] < 1:
                raise ValueError("Core: layer sizes must be >= 1")
            self.sizes[l] = sizes[l]
        for l in range(L):
            self.acts[l] = _registry.ACTIVATIONS[activations[l]]
            if self.acts[l] == PYBP_ACT_SOFTMAX and l != L - 1:
                raise ValueError("Core: softmax is for the output layer only")
        self.net.n_layers = <int>L
        self.net.sizes = self.sizes
        self.net.act = self.acts
        self.net.bias = bias
        self.n_params = pybp_n_params(&self.net)
        self.n_units = pybp_n_units(&self.net)
        self.n_in = self.sizes[0]
        self.n_out = self.sizes[L]

    def __dealloc__(self):
        free(self.sizes)
        free(self.acts)

    def same_weights(self, a, b):
        """Whether two parameter buffers of this architecture (1-D,
        C-contiguous, of one float type) hold equal weights (biases are not
        compared; 0.0 equals -0.0, NaN equals nothing): the stall check of
        pybp.train, with no temporary."""
        cdef Py_buffer ba, bb
        cdef char r
        cdef bint same = True
        r = _acquire(a, &ba, "a", 1, False, 0)
        try:
            _acquire(b, &bb, "b", 1, False, r)
            try:
                _check_len("a", ba.shape[0], self.n_params)
                _check_len("b", bb.shape[0], self.n_params)
                if self.n_params <= FINITE_NOGIL:   # (see FINITE_NOGIL)
                    if r == b'd':
                        same = _same_weights(&self.net, <const double *>ba.buf,
                                             <const double *>bb.buf)
                    else:
                        same = _same_weights(&self.net, <const float *>ba.buf,
                                             <const float *>bb.buf)
                else:
                    with nogil:
                        if r == b'd':
                            same = _same_weights(
                                &self.net, <const double *>ba.buf,
                                <const double *>bb.buf)
                        else:
                            same = _same_weights(
                                &self.net, <const float *>ba.buf,
                                <const float *>bb.buf)
            finally:
                PyBuffer_Release(&bb)
        finally:
            PyBuffer_Release(&ba)
        return same

    def epoch_workspace_size(self, int64_t batch):
        return pybp_epoch_workspace_size(&self.net, batch)

    def forward(self, const real[::1] params, const real[:, ::1] X,
                real[:, ::1] out, real[::1] work):
        """out = network(X), in chunks of len(work) // n_units samples."""
        cdef int64_t n = X.shape[0], start, b, chunk
        cdef int64_t m = self.n_out
        _check_len("params", params.shape[0], self.n_params)
        _check_len("X columns", X.shape[1], self.n_in)
        _check_len("out rows", out.shape[0], n)
        _check_len("out columns", out.shape[1], m)
        chunk = work.shape[0] // self.n_units
        if chunk < 1:
            raise ValueError("forward: workspace too small")
        if n == 0:
            return
        with nogil:
            start = 0
            while start < n:
                b = min(chunk, n - start)
                if real is double:
                    pybp_forward_f64(&self.net, &params[0], &X[start, 0], b,
                                     &work[0], NULL)
                else:
                    pybp_forward_f32(&self.net, &params[0], &X[start, 0], b,
                                     &work[0], NULL)
                memcpy(&out[start, 0], &work[(self.n_units - m) * b],
                       b * m * sizeof(real))
                start += b

    def batch_gradient(self, const real[::1] params, const real[:, ::1] X,
                       const real[:, ::1] T, const real[::1] sw, str loss,
                       real[::1] acts, real[::1] deltas, real[:, ::1] z,
                       real[::1] grad):
        """Gradient of the (weighted) mean loss over all of X into grad;
        per-sample activations and deltas into acts and deltas.  An empty sw
        means equal weights.  Returns (loss sum, weight sum)."""
        cdef int64_t n = X.shape[0]
        cdef int code = _registry.LOSSES[loss]
        cdef double loss_sum = 0, weight_sum = 0
        cdef const real *swp = NULL
        _check_len("params", params.shape[0], self.n_params)
        _check_len("grad", grad.shape[0], self.n_params)
        _check_len("X columns", X.shape[1], self.n_in)
        _check_len("T rows", T.shape[0], n)
        _check_len("T columns", T.shape[1], self.n_out)
        _check_len("acts", acts.shape[0], n * self.n_units)
        _check_len("deltas", deltas.shape[0], n * self.n_units)
        _check_len("z rows", z.shape[0], n)
        _check_len("z columns", z.shape[1], self.n_out)
        if sw.shape[0] != 0:
            _check_len("sample weights", sw.shape[0], n)
        if n == 0:
            raise ValueError("batch_gradient: no samples")
        if sw.shape[0] != 0:
            swp = &sw[0]
        with nogil:
            if real is double:
                loss_sum = pybp_batch_gradient_f64(
                    &self.net, &params[0], &X[0, 0], &T[0, 0], swp, n, code,
                    &acts[0], &deltas[0], &z[0, 0], &grad[0], &weight_sum)
            else:
                loss_sum = pybp_batch_gradient_f32(
                    &self.net, &params[0], &X[0, 0], &T[0, 0], swp, n, code,
                    &acts[0], &deltas[0], &z[0, 0], &grad[0], &weight_sum)
        return loss_sum, weight_sum

    def evaluate(self, params, X, T, sw, str loss, metric,
                 double threshold, work):
        """Loss sum, weight sum and correct count over X, in chunks that fit
        work.  An empty sw means equal weights.  Arrays as for
        train_epochs (params' float type; X, T 2-D; raw buffers)."""
        cdef int64_t n, chunk
        cdef pybp_stats stats = pybp_stats(0, 0, 0)
        cdef pybp_task task
        cdef void *swp = NULL
        cdef _Held h
        cdef Py_buffer *b = h.b
        cdef char r
        h.got = 0
        try:
            r = _take(&h, params, "params", 1, False, 0)
            _take(&h, X, "X", 2, False, r)
            _take(&h, T, "T", 2, False, r)
            _take(&h, sw, "sample weights", 1, False, r)
            _take(&h, work, "workspace", 1, True, r)
            n = b[1].shape[0]
            _check_len("params", b[0].shape[0], self.n_params)
            _check_len("X columns", b[1].shape[1], self.n_in)
            _check_len("T rows", b[2].shape[0], n)
            _check_len("T columns", b[2].shape[1], self.n_out)
            chunk = b[4].shape[0] // pybp_evaluate_workspace_size(&self.net, 1)
            task = _make_task(loss, metric, threshold, max(chunk, 1), False)
            if chunk < 1:
                raise ValueError("evaluate: workspace too small")
            if b[3].shape[0] != 0:
                _check_len("sample weights", b[3].shape[0], n)
                swp = b[3].buf
            if n == 0:
                return 0.0, 0.0, 0.0
            with nogil:
                if r == b'd':
                    pybp_evaluate_f64(&self.net, <const double *>b[0].buf,
                                      <const double *>b[1].buf,
                                      <const double *>b[2].buf,
                                      <const double *>swp, n, &task,
                                      <double *>b[4].buf, &stats)
                else:
                    pybp_evaluate_f32(&self.net, <const float *>b[0].buf,
                                      <const float *>b[1].buf,
                                      <const float *>b[2].buf,
                                      <const float *>swp, n, &task,
                                      <float *>b[4].buf, &stats)
        finally:
            _release_all(&h)
        return stats.loss_sum, stats.weight_sum, stats.correct_sum

    def evaluate_workspace_size(self, int64_t batch):
        return pybp_evaluate_workspace_size(&self.net, batch)

    def train_epoch(self, dict spec, int64_t step, params, state, X, T, sw,
                    order, int64_t batch, str loss, bint train_biases,
                    metric, double threshold, work, progress=None):
        """One epoch over X[order] in batches, all in C, with the optimizer
        of `spec` (see _make_optim) after `step` updates.  Arrays as for
        train_epochs (params' float type, order int64; raw buffers).

        Returns (samples applied, loss sum, weight sum, correct sum, new
        optimizer step, exception raised by a signal handler or `progress`
        or None).  `progress(samples_done)` is called every millisecond or
        so; a true return stops the epoch after the current batch.
        """
        cdef pybp_optim opt = _make_optim(spec, step)
        cdef pybp_task task = _make_task(loss, metric, threshold, batch,
                                         train_biases)
        cdef pybp_stats stats = pybp_stats(0, 0, 0)
        cdef int64_t N, n, k, done = 0
        cdef const int64_t *orderp
        cdef void *swp = NULL
        cdef void *statep = NULL
        cdef list box = [progress, None]
        cdef _Held h
        cdef Py_buffer *b = h.b
        cdef char r
        h.got = 0
        try:
            r = _take(&h, params, "params", 1, True, 0)
            _take(&h, state, "optimizer state", 1, True, r)
            _take(&h, X, "X", 2, False, r)
            _take(&h, T, "T", 2, False, r)
            _take(&h, sw, "sample weights", 1, False, r)
            _take(&h, order, "order", 1, False, b'q')
            _take(&h, work, "workspace", 1, True, r)
            N = b[2].shape[0]
            n = b[5].shape[0]
            orderp = <const int64_t *>b[5].buf
            _check_len("params", b[0].shape[0], self.n_params)
            _check_len("optimizer state", b[1].shape[0],
                       pybp_optim_state_slots(&opt) * self.n_params)
            _check_len("X columns", b[2].shape[1], self.n_in)
            _check_len("T rows", b[3].shape[0], N)
            _check_len("T columns", b[3].shape[1], self.n_out)
            _check_len("workspace", b[6].shape[0],
                       pybp_epoch_workspace_size(&self.net, batch))
            if b[4].shape[0] != 0:
                _check_len("sample weights", b[4].shape[0], N)
                swp = b[4].buf
            if b[1].shape[0] != 0:
                statep = b[1].buf
            for k in range(n):
                if orderp[k] < 0 or orderp[k] >= N:
                    raise ValueError(f"order[{k}] = {orderp[k]} is outside "
                                     f"[0, {N})")
            if n == 0:
                return 0, 0.0, 0.0, 0.0, opt.step, None
            with nogil:
                if r == b'd':
                    done = pybp_train_epoch_f64(
                        &self.net, &opt, <double *>b[0].buf,
                        <double *>statep, <const double *>b[2].buf,
                        <const double *>b[3].buf, <const double *>swp,
                        orderp, n, &task, <double *>b[6].buf, &stats,
                        _progress, <void *>box)
                else:
                    done = pybp_train_epoch_f32(
                        &self.net, &opt, <float *>b[0].buf,
                        <float *>statep, <const float *>b[2].buf,
                        <const float *>b[3].buf, <const float *>swp,
                        orderp, n, &task, <float *>b[6].buf, &stats,
                        _progress, <void *>box)
        finally:
            _release_all(&h)
        return (done, stats.loss_sum, stats.weight_sum, stats.correct_sum,
                opt.step, box[1])

    cdef int _predict(self, const real *params, const real *X, int64_t n,
                      real *out) except -1:
        """out (n x n_out) = network(X (n x n_in)), n >= 1, after checking
        in C that X and params are finite: 0, or 1 (X) / 2 (params) when
        not, with out not written; 3 when out was written but holds a
        non-finite value (overflow).  A small batch's workspace is on the
        stack: no allocation."""
        cdef int64_t m = self.n_out, units = self.n_units, chunk, start, b
        cdef int code = 0
        cdef real stack_work[PREDICT_STACK]
        cdef real *work = stack_work
        chunk = min(n, max(1, PREDICT_STACK // units))
        if chunk * units > PREDICT_STACK:
            work = <real *>malloc(chunk * units * sizeof(real))
            if work == NULL:
                raise MemoryError()
        with nogil:
            if not _all_finite(params, self.n_params):
                code = 2
            elif not _all_finite(X, n * self.n_in):
                code = 1
            else:
                start = 0
                while start < n:
                    b = min(chunk, n - start)
                    if real is double:
                        pybp_forward_f64(&self.net, params, X + start * self.n_in,
                                         b, work, NULL)
                    else:
                        pybp_forward_f32(&self.net, params, X + start * self.n_in,
                                         b, work, NULL)
                    memcpy(out + start * m, work + (units - m) * b,
                           b * m * sizeof(real))
                    start += b
                if not _all_finite(out, n * m):
                    code = 3
        if work != stack_work:
            free(work)
        return code

    def predict_ready(self, params, X, empty, dtype):
        """network(X) when X already is what the kernels take, else None.

        The fast path of Network.predict, with no Python-level checks: X
        must export (buffer protocol) an aligned, C-contiguous 1-D
        (n_in,) or 2-D (n, n_in) block of params' element type (float64
        "d" or float32 "f", matching `dtype`), n >= 1; params must be
        n_params of that type.  The result is a new array from
        empty(shape, dtype=dtype), (n_out,) for a 1-D X and (n, n_out)
        otherwise.  None -- and nothing computed or allocated that is kept
        -- when X does not qualify or when the C checks find a non-finite
        input or output (the caller's general path then says what is
        wrong, or warns)."""
        cdef Py_buffer xb, pb, ob
        cdef Py_ssize_t n, item
        cdef int code = -1
        cdef bint f64
        PyObject_GetBuffer(params, &pb, PyBUF_RECORDS_RO)
        try:
            if pb.format == NULL or pb.format[1] != 0 or pb.ndim != 1 or \
                    pb.shape[0] != self.n_params:
                return None
            f64 = pb.format[0] == b'd' and pb.itemsize == sizeof(double)
            if not f64 and not (pb.format[0] == b'f' and
                                pb.itemsize == sizeof(float)):
                return None
            item = pb.itemsize
            try:
                PyObject_GetBuffer(X, &xb, PyBUF_RECORDS_RO)
            except (BufferError, TypeError, ValueError):
                return None
            try:
                if xb.format == NULL or xb.format[0] != pb.format[0] or \
                        xb.format[1] != 0 or xb.itemsize != item or \
                        (<size_t>xb.buf) % item != 0:
                    return None
                if xb.ndim == 1:
                    if xb.shape[0] != self.n_in or xb.strides[0] != item:
                        return None
                    n = 1
                elif xb.ndim == 2:
                    n = xb.shape[0]
                    if xb.shape[1] != self.n_in or n < 1 or \
                            xb.strides[1] != item or \
                            (n > 1 and xb.strides[0] != item * self.n_in):
                        return None
                else:
                    return None
                if xb.ndim == 2:
                    out = empty((n, self.n_out), dtype=dtype)
                else:
                    out = empty(self.n_out, dtype=dtype)
                PyObject_GetBuffer(out, &ob, PyBUF_RECORDS_RO | PyBUF_WRITABLE)
                try:
                    if ob.itemsize != item or ob.len != n * self.n_out * item:
                        return None
                    if f64:
                        code = self._predict(<const double *>pb.buf,
                                             <const double *>xb.buf, n,
                                             <double *>ob.buf)
                    else:
                        code = self._predict(<const float *>pb.buf,
                                             <const float *>xb.buf, n,
                                             <float *>ob.buf)
                finally:
                    PyBuffer_Release(&ob)
            finally:
                PyBuffer_Release(&xb)
        finally:
            PyBuffer_Release(&pb)
        return out if code == 0 else None

    def train_epochs(self, dict spec, int64_t step, params, state, X, T,
                     sw, int64_t batch, str loss, bint train_biases, metric,
                     double threshold, work, order, backup, best_params,
                     record, lrs, seeds, target_loss, bint watch,
                     int64_t patience, double min_delta, double best,
                     int64_t wait, progress=None, bint check_x=False):
        """Up to len(record) epochs over all of X in one C call
        (pybp_train_epochs; see csrc/pybp.h for the rules it decides).

        Arrays (buffer protocol, C-contiguous, aligned): params, state,
        work, backup, best_params 1-D and X, T 2-D, all of one float type
        (float64 or float32; params' decides), sw 1-D of it; order int64;
        record (4, epochs) float64; lrs float64; seeds uint64.  They are
        taken as raw buffers, not typed memoryviews: a tiny fit's set-up
        would otherwise spend most of its time making a dozen views.
        lrs: one learning rate per epoch, or empty for spec's; seeds: one
        order seed per epoch (see shuffle), or empty for data order;
        best_params empty for none; target_loss None for none; patience 0
        for none.  check_x: X has not been checked finite; the first epoch
        checks it as it reads it, and a value that is not finite stops with
        "bad_input", that epoch undone and not recorded.

        Returns (epochs recorded, stop reason (a STOPS value), optimizer
        step, best, wait, whether best_params was written, optimizer step
        before the last epoch recorded, exception raised by a signal
        handler or `progress` or None); record[:, e] = (loss, weight sum,
        accuracy, samples applied) of epoch e, the loss and accuracy being
        the sums over the weight sum (NaN where it is not > 0): rows
        contiguous, for the History's arrays.
        """
        cdef pybp_optim opt = _make_optim(spec, step)
        cdef pybp_task task = _make_task(loss, metric, threshold, batch,
                                         train_biases)
        cdef pybp_epochs ep
        cdef _Held h
        cdef Py_buffer *b = h.b
        cdef char r
        cdef int64_t n, recorded = 0, n_rec
        cdef int64_t np_ = self.n_params
        cdef int slots = pybp_optim_state_slots(&opt)
        cdef void *swp = NULL
        cdef void *statep = NULL
        cdef void *bestp = NULL
        cdef list box = [progress, None]
        h.got = 0
        try:
            r = _take(&h, params, "params", 1, True, 0)
            _take(&h, state, "optimizer state", 1, True, r)
            _take(&h, X, "X", 2, False, r)
            _take(&h, T, "T", 2, False, r)
            _take(&h, sw, "sample weights", 1, False, r)
            _take(&h, work, "workspace", 1, True, r)
            _take(&h, order, "order", 1, True, b'q')
            _take(&h, backup, "backup", 1, True, r)
            _take(&h, best_params, "best_params", 1, True, r)
            _take(&h, record, "record", 2, True, b'd')
            _take(&h, lrs, "learning rates", 1, False, b'd')
            _take(&h, seeds, "seeds", 1, False, b'Q')
            n = b[2].shape[0]
            n_rec = b[9].shape[1]
            _check_len("params", b[0].shape[0], np_)
            _check_len("optimizer state", b[1].shape[0], slots * np_)
            _check_len("X columns", b[2].shape[1], self.n_in)
            _check_len("T rows", b[3].shape[0], n)
            _check_len("T columns", b[3].shape[1], self.n_out)
            _check_len("workspace", b[5].shape[0],
                       pybp_epoch_workspace_size(&self.net, batch))
            _check_len("order", b[6].shape[0], n)
            _check_len("backup", b[7].shape[0], (1 + slots) * np_)
            _check_len("record rows", b[9].shape[0], 4)
            if b[8].shape[0] != 0:
                _check_len("best_params", b[8].shape[0], np_)
                bestp = b[8].buf
            if b[10].shape[0] != 0:
                _check_len("learning rates", b[10].shape[0], n_rec)
            if b[11].shape[0] != 0:
                _check_len("seeds", b[11].shape[0], n_rec)
            if b[4].shape[0] != 0:
                _check_len("sample weights", b[4].shape[0], n)
                swp = b[4].buf
            if b[1].shape[0] != 0:
                statep = b[1].buf
            if n == 0:
                raise ValueError("train_epochs: no samples")
            ep.max_epochs = n_rec
            ep.seeds = <const uint64_t *>b[11].buf if b[11].shape[0] else NULL
            ep.lr = <const double *>b[10].buf if b[10].shape[0] else NULL
            ep.has_target = target_loss is not None
            ep.target_loss = target_loss if target_loss is not None else 0.0
            ep.watch = watch
            ep.patience = patience
            ep.min_delta = min_delta
            ep.best = best
            ep.wait = wait
            ep.improved = 0
            ep.last_step0 = step
            ep.stop = PYBP_STOP_MAX_EPOCHS
            ep.check_x = check_x
            if ep.max_epochs == 0:
                return (0, STOPS[ep.stop], opt.step, best, wait, False,
                        step, None)
            with nogil:
                if r == b'd':
                    recorded = pybp_train_epochs_f64(
                        &self.net, &opt, <double *>b[0].buf,
                        <double *>statep, <const double *>b[2].buf,
                        <const double *>b[3].buf, <const double *>swp, n,
                        &task, &ep, <int64_t *>b[6].buf,
                        <double *>b[7].buf, <double *>bestp,
                        <double *>b[5].buf, <double *>b[9].buf, _progress,
                        <void *>box)
                else:
                    recorded = pybp_train_epochs_f32(
                        &self.net, &opt, <float *>b[0].buf,
                        <float *>statep, <const float *>b[2].buf,
                        <const float *>b[3].buf, <const float *>swp, n,
                        &task, &ep, <int64_t *>b[6].buf,
                        <float *>b[7].buf, <float *>bestp,
                        <float *>b[5].buf, <double *>b[9].buf, _progress,
                        <void *>box)
        finally:
            _release_all(&h)
        return (recorded, STOPS[ep.stop], opt.step, ep.best, ep.wait,
                bool(ep.improved), ep.last_step0, box[1])
