"""The C epoch driver at its boundary (pybp._core.Core) and csrc/ on its own:
long batches processed in chunks give the same sums as in one piece, a stop
inside a batch abandons it whole, Ctrl-C and max_seconds are noticed inside
one huge full batch, and the preconditions the C guards itself (batch < 1)."""
import os
import shutil
import signal
import subprocess
import threading
import time

import numpy as np
import pytest

import pybp
from pybp import optim
from pybp._core import Core

import helpers_train as H  # tests/ is on sys.path (see conftest.py)

DTYPES = [np.float64, np.float32]
CSRC = os.path.join(os.path.dirname(__file__), os.pardir, "csrc")

# [100, 200, 1]: 20,401 parameters, so the driver works in chunks of 196
# samples (about 4 million multiply-adds) and a batch of 1,000 spans six.
SIZES = [100, 200, 1]


def _problem(dtype, n=1000, seed=0):
    rng = np.random.default_rng(seed)
    core = Core(SIZES, ["tanh", "identity"], True)
    params = (rng.normal(size=core.n_params) * 0.05).astype(dtype)
    X = rng.normal(size=(n, SIZES[0])).astype(dtype)
    T = rng.normal(size=(n, SIZES[-1])).astype(dtype)
    sw = rng.uniform(0.5, 2.0, size=n).astype(dtype)
    order = rng.permutation(n).astype(np.int64)
    return core, params, X, T, sw, order


def _spec(kind, lr):
    """A complete optimizer spec, as Optimizer.spec gives it."""
    opt = {"sgd": lambda: optim.SGD(lr),
           "rprop": lambda: optim.Rprop(eta_plus=1.2, eta_minus=0.5,
                                        delta0=0.1, delta_min=0.0,
                                        delta_max=50.0),
           "quickprop": lambda: optim.Quickprop(lr, mu=1.75,
                                                weight_decay=0.0)}[kind]()
    return opt.spec()


def _epoch(core, spec, step, params, state, X, T, sw, order, batch,
           progress=None):
    work = np.empty(core.epoch_workspace_size(batch), dtype=params.dtype)
    return core.train_epoch(spec, step, params, state, X, T, sw, order, batch,
                            "half_sse", True, None, 0.5, work, progress)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_chunked_batch_equals_one_piece(dtype, weighted):
    """One SGD step on a 1,000-sample batch (six chunks inside C) is bit for
    bit the step from batch_gradient's single pass over the same samples."""
    core, params, X, T, sw, order = _problem(dtype)
    if not weighted:
        sw = np.empty(0, dtype=dtype)
    n, lr = len(X), 0.05
    Xo, To = np.ascontiguousarray(X[order]), np.ascontiguousarray(T[order])
    swo = np.ascontiguousarray(sw[order]) if weighted else sw
    acts = np.empty(n * core.n_units, dtype=dtype)
    deltas = np.empty_like(acts)
    z = np.empty((n, core.n_out), dtype=dtype)
    grad = np.empty(core.n_params, dtype=dtype)
    loss_ref, wsum_ref = core.batch_gradient(params, Xo, To, swo, "half_sse",
                                             acts, deltas, z, grad)
    expected = params - dtype(lr) * grad

    trained = params.copy()
    done, loss_sum, wsum, _, step, exc = _epoch(
        core, _spec("sgd", lr), 0, trained,
        np.empty(0, dtype=dtype), X, T, sw, order, batch=n)
    assert exc is None and done == n and step == 1
    assert loss_sum == loss_ref and wsum == wsum_ref
    np.testing.assert_array_equal(trained, expected)
    assert not np.array_equal(trained, params)


@pytest.mark.usefixtures("exact_kernels")  # the fast set sums in blocks
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["rprop", "quickprop"])
def test_full_batch_gradient_independent_of_batch_size(dtype, kind):
    """A full-batch optimizer's step is the same whether the epoch runs as
    one batch of 1,000 (chunked in C) or as batches of 7 and of 200.  (No
    sample weights: the epoch's weight is then a count, the same however it
    is summed.)"""
    core, params, X, T, _, order = _problem(dtype)
    sw = np.empty(0, dtype=dtype)
    results = []
    for batch in (len(X), 7, 200):
        p = params.copy()
        state = np.zeros(2 * core.n_params, dtype=dtype)
        done, *_ = _epoch(core, _spec(kind, 0.01), 0, p, state, X, T, sw, order,
                          batch)
        assert done == len(X)
        results.append((p, state))
    for p, state in results[1:]:
        np.testing.assert_array_equal(p, results[0][0])
        np.testing.assert_array_equal(state, results[0][1])
    assert not np.array_equal(results[0][0], params)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["sgd", "rprop"])
@pytest.mark.parametrize("weighted", [False, True])
def test_stop_inside_a_batch_abandons_it(dtype, kind, weighted):
    """progress() returning true in the middle of the only batch: no update,
    no step counted, no samples reported as applied; the losses of the
    samples already processed are reported."""
    core, params, X, T, sw, order = _problem(dtype)
    if not weighted:
        sw = np.empty(0, dtype=dtype)
    slots = 0 if kind == "sgd" else 2
    state = np.zeros(slots * core.n_params, dtype=dtype)
    calls = []

    def progress(done):
        calls.append(done)
        return True

    trained = params.copy()
    done, loss_sum, wsum, _, step, exc = _epoch(
        core, _spec(kind, 0.05), 3, trained, state, X, T, sw, order, len(X),
        progress)
    assert exc is None
    assert len(calls) == 1 and 0 < calls[0] < len(X)
    assert done == 0 and step == 3
    np.testing.assert_array_equal(trained, params)
    assert not state.any()
    # The losses counted are exactly those of the samples seen.
    seen = order[:calls[0]]
    expected_w = float(len(seen)) if not weighted else \
        sum(float(w) for w in sw[seen])
    assert wsum == pytest.approx(expected_w, rel=1e-12)
    assert np.isfinite(loss_sum) and loss_sum > 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_exception_in_progress_inside_a_batch(dtype):
    core, params, X, T, sw, order = _problem(dtype)
    trained = params.copy()

    def progress(done):
        raise KeyError("from progress")

    done, _, _, _, step, exc = _epoch(
        core, _spec("sgd", 0.05), 0, trained,
        np.empty(0, dtype=dtype), X, T, sw, order, len(X), progress)
    assert isinstance(exc, KeyError) and done == 0 and step == 0
    np.testing.assert_array_equal(trained, params)


def test_workspace_holds_one_chunk_not_a_batch():
    core = Core(SIZES, ["tanh", "identity"], True)
    small = core.epoch_workspace_size(100)
    # a chunk smaller than its batch is a multiple of 256 samples
    assert core.epoch_workspace_size(256) == core.epoch_workspace_size(10**6)
    assert small < core.epoch_workspace_size(256)


@pytest.mark.usefixtures("exact_kernels")  # bits against the Python backend
def test_rmsprop_rho_reaches_c():
    """rho is RMSprop's own field: two values of rho give two results, each
    equal to the pure-Python backend's."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 3))
    T = rng.uniform(size=(40, 2))
    finals = []
    for rho in (0.3, 0.95):
        nets = {}
        for backend in ("c", "python"):
            net = pybp.Network([3, 4, 2], "tanh", "sigmoid", seed=1,
                               backend=backend)
            net.fit(X, T, optimizer=optim.RMSprop(lr=0.01, rho=rho),
                    epochs=3, batch_size=8, seed=0)
            nets[backend] = net.params.copy()
        np.testing.assert_array_equal(nets["c"], nets["python"])
        finals.append(nets["c"])
    assert not np.array_equal(finals[0], finals[1])


# ---- Ctrl-C and max_seconds inside one huge full batch -----------------------

def _huge_full_batch(dtype, n=60_000):
    rng = np.random.default_rng(5)
    net = pybp.Network([100, 256, 1], "tanh", seed=0, dtype=dtype.__name__)
    X = rng.normal(size=(n, 100)).astype(dtype)
    T = rng.normal(size=(n, 1)).astype(dtype)
    return net, X, T


@pytest.mark.parametrize("dtype", DTYPES)
def test_max_seconds_inside_one_full_batch(dtype):
    """A 60,000-sample full batch takes about a second (and far longer on a
    slow machine); max_seconds=0.05 stops it in the middle, promptly, with
    the parameters untouched."""
    net, X, T = _huge_full_batch(dtype)
    before = net.params.copy()
    trainer = pybp.Trainer(optimizer=optim.SGD(0.01), batch_size=len(X),
                           shuffle=False, max_seconds=0.05)
    h = trainer.fit(net, X, T, epochs=1)
    assert h.stopped == "max_seconds"
    # The epoch's own time (the C call, after fit's checks and copies): the
    # deadline plus the latency of noticing it.
    assert h.seconds[-1] < 0.05 + 0.3
    assert trainer.samples_seen == 0
    np.testing.assert_array_equal(net.params, before)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigint_inside_one_full_batch(dtype):
    """SIGINT while full-batch epochs run: fit returns within 0.3 s, and the
    parameters are those after a whole number of epochs -- each epoch is
    either applied whole or not at all."""
    assert threading.current_thread() is threading.main_thread()
    net, X, T = _huge_full_batch(dtype)
    start = net.params.copy()
    snaps = []
    trainer = pybp.Trainer(optimizer=optim.SGD(0.01), batch_size=len(X),
                           shuffle=False, max_seconds=30,
                           callbacks=[lambda n, h: snaps.append(
                               n.params.copy())])
    fired = []
    thread, stop = H.sigint_when_fit_listens(0.25, fired)
    try:
        h = trainer.fit(net, X, T, epochs=10**6)
        returned = time.perf_counter()
    finally:
        stop.set()
        thread.join()
    assert fired, "fit returned before the signal was sent"
    assert h.stopped == "interrupted"
    assert returned - fired[0] < 0.3
    final = net.params.copy()
    assert np.isfinite(final).all()
    # The parameters before the last epoch, and what one whole epoch from
    # there gives: the final parameters are one or the other.
    prev = snaps[-2] if len(snaps) >= 2 else start
    redo = net.copy()
    redo.params[...] = prev
    pybp.Trainer(optimizer=optim.SGD(0.01), batch_size=len(X),
                 shuffle=False).fit(redo, X, T, epochs=1)
    assert np.array_equal(final, prev) or np.array_equal(final, redo.params)


# ---- csrc/ compiled on its own -------------------------------------------------

C_PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include "pybp.h"

int main(void)
{
    const int64_t sizes[3] = {3, 4, 2};
    const int act[2] = {PYBP_ACT_TANH, PYBP_ACT_SIGMOID};
    pybp_net net = {2, sizes, act, 1};
    pybp_optim opt;
    pybp_task task;
    pybp_stats stats = {0, 0, 0};
    double params[64], before[64], X[5 * 3], T[5 * 2], work[4096];
    int64_t order[5] = {0, 1, 2, 3, 4}, i, done;
    memset(&opt, 0, sizeof opt);
    memset(&task, 0, sizeof task);
    opt.kind = PYBP_OPT_SGD;
    opt.lr = 0.1;
    if (pybp_n_params(&net) != 26) return 10;
    for (i = 0; i < 26; ++i) params[i] = before[i] = 0.01 * (double)(i % 7);
    for (i = 0; i < 15; ++i) X[i] = 0.1 * (double)i;
    for (i = 0; i < 10; ++i) T[i] = (double)(i % 2);
    task.loss = PYBP_LOSS_SSE;
    /* batch 0 breaks the precondition: the driver must return, not spin. */
    task.batch = 0;
    done = pybp_train_epoch_f64(&net, &opt, params, NULL, X, T, NULL, order,
                                5, &task, work, &stats, NULL, NULL);
    if (done != 0 || opt.step != 0) return 11;
    if (memcmp(params, before, 26 * sizeof(double)) != 0) return 12;
    pybp_evaluate_f64(&net, params, X, T, NULL, 5, &task, work, &stats);
    if (stats.loss_sum != 0 || stats.weight_sum != 0) return 13;
    /* batch 2: a normal epoch of three batches. */
    task.batch = 2;
    if (pybp_epoch_workspace_size(&net, 2) > 4096) return 14;
    done = pybp_train_epoch_f64(&net, &opt, params, NULL, X, T, NULL, order,
                                5, &task, work, &stats, NULL, NULL);
    if (done != 5 || opt.step != 3 || stats.weight_sum != 5) return 15;
    if (memcmp(params, before, 26 * sizeof(double)) == 0) return 16;
    if (pybp_simd_select("no-such-variant") != -1) return 17;
    if (pybp_simd_select("generic") != 0) return 18;
    if (strcmp(pybp_simd_active(), "generic") != 0) return 19;
    puts("ok");
    return 0;
}
"""


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None,
                    reason="no C compiler")
@pytest.mark.skipif(not os.path.isdir(CSRC), reason="csrc/ not present")
def test_csrc_alone_guards_batch_zero(tmp_path):
    """csrc/ builds as a C99 library with no Python, and an epoch or an
    evaluation with batch 0 returns at once instead of looping forever."""
    cc = shutil.which("cc") or shutil.which("gcc")
    src = tmp_path / "main.c"
    src.write_text(C_PROGRAM)
    exe = tmp_path / "main"
    files = [os.path.join(CSRC, f) for f in
             ("layout.c", "kernels_generic.c", "dispatch.c", "fast_drivers.c",
              "fast_generic.c", "fast_dispatch.c", "threads.c")]
    subprocess.run([cc, "-std=c99", "-O1", "-ffp-contract=off", "-I", CSRC,
                    str(src), *files, "-o", str(exe), "-lm", "-pthread"],
                   check=True,
                   timeout=120)
    run = subprocess.run([str(exe)], capture_output=True, text=True,
                         timeout=10)
    assert run.returncode == 0, f"C check failed with code {run.returncode}"
    assert run.stdout.strip() == "ok"
