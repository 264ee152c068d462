"""numpy (OpenBLAS) on the layer products that bench_kernels.c times, for a
side-by-side reading with the C table, in one invocation.

    unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE   # for this command only
    python3 bench/c/compare.py [seconds per measurement]

It builds and runs bench/c/bench_kernels first (its table), then times numpy
with OpenBLAS limited to 1 and then 2 threads (threadpoolctl when installed,
else a child process per thread count with OPENBLAS_NUM_THREADS set).  As in
the C table: a 1-thread figure is the thread's CPU time (the machine is
shared), a 2-thread one is wall-clock time; the fastest of repeated runs.
"""
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
NETS = [("784-128-64-10 b128", [784, 128, 64, 10], 128, ("float32", "float64")),
        ("1024-1024-1024-10 b256", [1024, 1024, 1024, 10], 256, ("float32",)),
        ("64-64-10 b32", [64, 64, 10], 32, ("float32", "float64"))]


def fastest(fn, budget, clock):
    fn()
    t0 = clock()
    fn()
    once = max(clock() - t0, 1e-7)
    inner = max(1, int(2e-4 / once) + 1)
    times, start = [], time.perf_counter()
    while len(times) < 41 and (len(times) < 5 or time.perf_counter() - start < budget):
        t0 = clock()
        for _ in range(inner):
            fn()
        times.append((clock() - t0) / inner)
    return min(times)


def numpy_rows(threads, budget):
    clock = time.thread_time if threads == 1 else time.perf_counter
    rows = []
    rng = np.random.default_rng(0)
    for name, sizes, n, dtypes in NETS:
        for dt in dtypes:
            L = len(sizes) - 1
            W = [(0.1 * rng.standard_normal((sizes[l + 1], sizes[l]))).astype(dt) for l in range(L)]
            b = [np.zeros(sizes[l + 1], dt) for l in range(L)]
            A = [(0.1 * rng.standard_normal((n, s))).astype(dt) for s in sizes]
            D = [(0.1 * rng.standard_normal((n, s))).astype(dt) for s in sizes]
            G = [np.zeros_like(w) for w in W]
            scale = np.dtype(dt).type(1.0 / n)

            def forward():
                for l in range(L):
                    z = A[l] @ W[l].T
                    z += b[l]
                    if l < L - 1:
                        np.maximum(z, 0, out=z)
                    A[l + 1][...] = z

            def delta():
                for l in range(1, L):
                    np.multiply(D[l + 1] @ W[l], A[l] > 0, out=D[l])

            def gradient():
                for l in range(L):
                    G[l] += scale * (D[l + 1].T @ A[l])

            fl = [sum(2.0 * n * sizes[l] * sizes[l + 1] for l in range(L)),
                  sum(2.0 * n * sizes[l] * sizes[l + 1] for l in range(1, L)),
                  sum(2.0 * n * sizes[l] * sizes[l + 1] for l in range(L))]
            ts = [fastest(f, budget, clock) for f in (forward, delta, gradient)]
            rows.append((name, dt, threads, [f / t / 1e9 for f, t in zip(fl, ts)],
                         sum(fl) / sum(ts) / 1e9))
    return rows


def main():
    budget = float(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "--child" else 0.3
    if "--child" in sys.argv:  # one thread count, rows as text
        for r in numpy_rows(int(os.environ["OPENBLAS_NUM_THREADS"]), float(sys.argv[2])):
            print(repr(r))
        return
    subprocess.run([os.path.join(HERE, "run.sh"), str(budget)], check=True)
    print("\nnumpy", np.__version__, "(OpenBLAS), same layers:\n")
    print("| workload | dtype | threads | forward GFLOP/s | delta | gradient | step |")
    print("|---|---|---|---|---|---|---|")
    for threads in (1, 2):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads))
        out = subprocess.run([sys.executable, __file__, "--child", str(budget)], env=env,
                             check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            name, dt, th, g, step = eval(line)  # our own child's repr output
            print(f"| {name} | {dt} | {th} | {g[0]:.1f} | {g[1]:.1f} | {g[2]:.1f} | {step:.1f} |")


if __name__ == "__main__":
    main()
