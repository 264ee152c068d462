"""python bench/run.py --check: is the comparison honest?

1. Sample order: pybp's fit(seed=ORDER_SEED) visits the samples in the
   order workloads.Workload.orders() hands to every other implementation
   (checked bit for bit: the same fit on pre-ordered data without shuffling).
2. Same algorithm: from the same initial weights, in the same order, the
   numpy MLP, JAX and PyTorch reach the same training loss as pybp's exact
   kernels after a few epochs, to 1e-6 relative in float64.
3. FANN: the driver puts pybp's weights into libfann faithfully (fann_run
   gives pybp's outputs to float precision), and its per-sample training
   follows pybp's to 1e-3 relative (FANN computes in float).
Exits non-zero, naming the failure, if any check fails.
"""
import numpy as np

import pybp
import implementations as im
import workloads as wl

RTOL = 1e-6
FANN_RTOL = 1e-3


def _rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def _train_loss(runner):
    """The training loss ``runner`` reaches from its initial weights."""
    runner.reset()
    runner.run()
    return runner.result()["train_loss"]


def check_order(failures):
    w = wl.CREDIT.scaled(n_train=64, epochs=2)
    X, T, _, _ = w.dataset()
    a = w.network()
    a.fit(X, T, loss=w.loss, optimizer=pybp.optim.SGD(w.lr), epochs=2,
          batch_size=1, seed=wl.ORDER_SEED)
    b = w.network()
    for order in w.orders():
        b.fit(X[order], T[order], loss=w.loss, optimizer=pybp.optim.SGD(w.lr),
              epochs=1, batch_size=1, shuffle=False)
    same = np.array_equal(a.params, b.params)
    print(f"  sample order: pybp fit(seed={wl.ORDER_SEED}) "
          f"{'==' if same else '!='} workloads.orders()")
    if not same:
        failures.append("pybp's shuffle no longer matches workloads.orders()")


CASES = [wl.CREDIT.scaled(n_train=64, epochs=2),
         wl.DIGITS.scaled(epochs=2),
         wl.MNIST64.scaled(n_train=512, epochs=2)]


def check_losses(failures):
    kernels = "exact" if hasattr(pybp, "set_kernels") else None
    for w in CASES:
        loss = _train_loss(im.PybpRunner(w, kernels))
        print(f"  {w.key:8s} {w.dtype} after {w.epochs} epochs: "
              f"pybp{'[exact]' if kernels else ''} loss {loss:.12g}")
        for cls in (im.NumpyRunner, im.JaxRunner, im.TorchRunner):
            try:
                r = cls(w)
            except im.Skip as e:
                print(f"    {cls.name:8s} skipped: {e}")
                continue
            other = _train_loss(r)
            rel = _rel(other, loss)
            ok = rel <= RTOL
            print(f"    {r.name:8s} loss {other:.12g}  rel diff {rel:.1e} "
                  f"{'ok' if ok else 'FAIL'}")
            if not ok:
                failures.append(f"{r.name} on {w.key}: rel diff {rel:.2e} "
                                f"> {RTOL}")


def check_fann(failures):
    try:
        fp = im._fann()
    except im.Skip as e:
        print(f"  fann skipped: {e}")
        return
    w = wl.CREDIT.scaled(n_train=64, epochs=2)
    X, T, _, _ = w.dataset()
    net = w.network()
    fnet = fp.FannNet(w.sizes, w.activations, w.init_params())
    data = fp.FannData(X, T)
    out = fp.run_all(fnet, data)[1]
    err = float(np.max(np.abs(out - net.predict(X))))
    ok = err <= 1e-5
    print(f"  fann outputs from pybp's weights: max |diff| {err:.1e} "
          f"{'ok' if ok else 'FAIL'}")
    if not ok:
        failures.append(f"FANN driver's weights differ ({err:.2e})")
    loss = _train_loss(im.PybpRunner(w))
    other = _train_loss(im.FannRunner(w))
    rel = _rel(other, loss)
    ok = rel <= FANN_RTOL
    print(f"  fann per-sample SGD, same order: loss {other:.8g} vs pybp "
          f"{loss:.8g}, rel diff {rel:.1e} {'ok' if ok else 'FAIL'}")
    if not ok:
        failures.append(f"FANN training differs from pybp's ({rel:.2e})")


def run_all():
    failures = []
    print("correctness cross-check (float64 unless noted)")
    check_order(failures)
    check_losses(failures)
    check_fann(failures)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("all checks passed")
    return 0
