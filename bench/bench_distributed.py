"""Batch prediction on a local Dask cluster vs one process.

A 784-128-64-10 relu/softmax network (float32 by default) predicts the
class of 2 million synthetic rows.  The rows are generated partition by
partition where they are used (on the workers for the cluster; in the loop
for the single process), so nothing ships 6 GB; only per-class counts come
back, and both runs must give the same counts.  Reported:

* rows/s of one process (generate + predict, partition by partition), and of
  its predict alone;
* rows/s on LocalCluster(processes=True) for each workers x threads layout,
  through pybp.distributed.predict (the model scattered once to each worker);
* CPU seconds per million rows, summed over every process (workers, and
  the client with the LocalCluster's scheduler): on a shared machine this
  is the steadier figure, since other users' load stretches wall time;
* the overhead per partition: a job of tiny (1-row) partitions through the
  same path, wall and CPU time divided by its partition count.

    python bench/bench_distributed.py [--rows 2000000] [--partition 50000]
        [--layouts 2x1,1x2] [--dtype float32]

Standalone: needs pybp and the dask extra (pip install "pybp[dask]").
"""
import argparse
import os
import platform
import time

import numpy as np

import pybp
import pybp.distributed as pdist

SIZES = [784, 128, 64, 10]


def make_rows(i, n, dtype):
    """Partition i's synthetic inputs: its own random stream, so any process
    makes the same rows."""
    rng = np.random.default_rng([20261201, i])
    return rng.standard_normal((n, SIZES[0]), dtype=np.dtype(dtype))


def class_counts(labels):
    return np.bincount(labels, minlength=SIZES[-1])


def partition_sizes(rows, per_partition):
    full, rest = divmod(rows, per_partition)
    return [per_partition] * full + ([rest] if rest else [])


def single_process(net, sizes, dtype):
    """(wall seconds, CPU seconds, wall seconds in predict, counts), in this
    process."""
    counts = np.zeros(SIZES[-1], dtype=np.int64)
    in_predict = 0.0
    t0, c0 = time.perf_counter(), time.process_time()
    for i, n in enumerate(sizes):
        X = make_rows(i, n, dtype)
        t1 = time.perf_counter()
        counts += class_counts(net.classify(X))
        in_predict += time.perf_counter() - t1
    return (time.perf_counter() - t0, time.process_time() - c0, in_predict,
            counts)


def _block_rows(sizes, dtype, block_id=None):
    i = block_id[0]
    return make_rows(i, sizes[i], dtype)


def dask_rows(sizes, dtype):
    """The same rows as a Dask Array, each block made on its worker."""
    import dask.array as da
    return da.map_blocks(_block_rows, tuple(sizes), dtype,
                         chunks=(tuple(sizes), (SIZES[0],)),
                         dtype=np.dtype(dtype),
                         meta=np.empty((0, SIZES[0]), dtype=dtype))


def _cpu_seconds(client):
    """CPU seconds used so far by the workers and by this process (which
    runs the LocalCluster's scheduler too)."""
    workers = client.run(time.process_time)
    return sum(workers.values()) + time.process_time()


def on_cluster(client, net, sizes, dtype):
    """(wall seconds, CPU seconds of all processes, counts) through
    pybp.distributed.predict."""
    import dask.array as da
    X = dask_rows(sizes, dtype)
    c0 = _cpu_seconds(client)
    t0 = time.perf_counter()
    labels = pdist.predict(net, X, method="classify", client=client)
    counts = da.bincount(labels, minlength=SIZES[-1]).compute()
    wall = time.perf_counter() - t0
    return wall, _cpu_seconds(client) - c0, counts


def overhead_per_partition(client, net, n_parts, dtype):
    """(wall, CPU) seconds per partition of a job whose partitions hold one
    row each."""
    wall, cpu, _ = on_cluster(client, net, [1] * n_parts, dtype)
    return wall / n_parts, cpu / n_parts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--partition", type=int, default=50_000,
                   help="rows per partition")
    p.add_argument("--layouts", default="2x1,1x2",
                   help="comma-separated WORKERSxTHREADS cluster layouts")
    p.add_argument("--dtype", default="float32",
                   choices=["float32", "float64"])
    p.add_argument("--tiny-partitions", type=int, default=400,
                   help="partitions in the overhead job")
    args = p.parse_args(argv)
    from distributed import Client, LocalCluster

    net = pybp.Network(SIZES, "relu", "softmax", seed=0, dtype=args.dtype)
    sizes = partition_sizes(args.rows, args.partition)
    cores = pdist._usable_cores()
    print(f"pybp {pybp.__version__}, {platform.machine()}, {cores} usable "
          f"cores, load average {os.getloadavg()[0]:.1f}; "
          f"{args.rows:,} rows in {len(sizes)} partitions of "
          f"{args.partition:,}, {args.dtype}, {net.n_params:,} parameters",
          flush=True)
    net.classify(make_rows(0, 1000, args.dtype))             # warm-up
    wall, cpu, in_predict, expected = single_process(net, sizes, args.dtype)
    print(f"one process: {wall:.1f} s", flush=True)
    mrows = args.rows / 1e6
    rows = [("one process (generate + predict)", args.rows / wall, wall,
             cpu / mrows, "", "", ""),
            ("one process, predict only", args.rows / in_predict, in_predict,
             "", "", "", "")]
    for layout in args.layouts.split(","):
        workers, threads = (int(v) for v in layout.lower().split("x"))
        with LocalCluster(n_workers=workers, threads_per_worker=threads,
                          processes=True, dashboard_address=None,
                          silence_logs=40) as cluster, \
                Client(cluster) as client:
            pdist.register_thread_budget(client)
            on_cluster(client, net, sizes[:workers * threads], args.dtype)
            c_wall, c_cpu, counts = on_cluster(client, net, sizes, args.dtype)
            if not np.array_equal(counts, expected):
                raise SystemExit(f"{layout}: class counts differ from the "
                                 f"single process: {counts} vs {expected}")
            o_wall, o_cpu = overhead_per_partition(
                client, net, args.tiny_partitions, args.dtype)
            print(f"{layout}: {c_wall:.1f} s, {o_wall * 1e3:.1f} ms per tiny "
                  f"partition; load average {os.getloadavg()[0]:.1f}",
                  flush=True)
            rows.append((f"LocalCluster {workers} worker(s) x {threads} "
                         "thread(s)", args.rows / c_wall, c_wall,
                         c_cpu / mrows, f"{wall / c_wall:.2f}x",
                         f"{o_wall * 1e3:.1f}", f"{o_cpu * 1e3:.1f}"))
    print(f"\nload average at the end {os.getloadavg()[0]:.1f} "
          "(other users' work on this machine slows every row alike)")
    print("| run | rows/s | seconds | CPU s per 10^6 rows | vs one process "
          "(wall) | overhead per partition, ms wall | ms CPU |")
    print("|---|---|---|---|---|---|---|")
    for name, rate, secs, cpu_m, ratio, o_w, o_c in rows:
        cpu_m = f"{cpu_m:.1f}" if cpu_m != "" else ""
        print(f"| {name} | {rate:,.0f} | {secs:.1f} | {cpu_m} | {ratio} "
              f"| {o_w} | {o_c} |")
    print(f"\nclass counts (identical in every run): {expected.tolist()}")


if __name__ == "__main__":
    main()
