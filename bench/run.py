"""pybp's benchmark driver: every workload (bench/workloads.py) on every
implementation (bench/implementations.py), in one process run.

For each workload, every implementation is built and warmed up once, then
timed in interleaved rounds (A, B, C, A, B, C, ...), so that a change in the
machine's load hits all of them alike.  Each timed run starts after a short
idle pause (--cooldown, 0.15 s): an idle OpenBLAS worker thread keeps
spinning for about 2^28 cycles (~0.1 s) after numpy's last product, and on a
2-core machine it would hold a core the next implementation's threads need.  Reported: the median of the rounds,
the speed relative to pybp, and pybp against the best peer; for each
implementation the threads it used and the foreign CPU load (cores kept busy
by other processes, bench/timing.py) while it was timed.

    python bench/run.py                 # everything (~10 min on 2 busy cores)
    python bench/run.py --quick         # smaller workloads, 3 rounds (~2 min)
    python bench/run.py --only digits,mnist32 --repeats 7
    python bench/run.py --threads 1     # every library limited to one thread
    python bench/run.py --check         # same losses as pybp's exact kernels?

Writes bench/results/latest.md and latest.png (or --out DIR), and the raw
measurements to bench/results/raw/.  numpy is timed without the
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE overrides: if they are set, the script
re-executes itself without them, so OpenBLAS picks its kernel for this CPU
(the table records which).
"""
import argparse
import datetime
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_REEXEC = "PYBP_BENCH_REEXEC"
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "PYBP_NUM_THREADS")


def _parse(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true",
                   help="smaller workloads and 3 rounds")
    p.add_argument("--only", default="",
                   help="comma-separated workload keys or prefixes "
                        "(worked, fit1, credit, digits, mnist32, mnist64, "
                        "wide, predict1, predict1000, fann)")
    p.add_argument("--impl", default="",
                   help="comma-separated implementations (default: all)")
    p.add_argument("--repeats", type=int, default=None,
                   help="timed rounds per workload (default 5, quick 3)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds of timed runs per implementation and "
                        "workload before it drops out of later rounds "
                        "(default 4, quick 1.5)")
    p.add_argument("--cooldown", type=float, default=0.15,
                   help="idle seconds before each timed run, so that the "
                        "previous implementation's spinning threads (e.g. "
                        "OpenBLAS's) have gone to sleep (default 0.15)")
    p.add_argument("--threads", type=int, default=None,
                   help="limit every implementation to N threads")
    p.add_argument("--kernels", default=None,
                   help="pybp kernel sets to run, e.g. fast or exact,fast "
                        "(default: all that pybp has)")
    p.add_argument("--check", action="store_true",
                   help="only the correctness cross-check")
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    p.add_argument("--render", metavar="RAW_JSON", default=None,
                   help="only rewrite latest.md/latest.png from a raw run "
                        "file of bench/results/raw/")
    args = p.parse_args(argv)
    if args.repeats is not None and args.repeats < 1:
        p.error(f"--repeats must be >= 1; got {args.repeats}")
    if args.cooldown < 0:
        p.error(f"--cooldown must be >= 0; got {args.cooldown}")
    if args.threads is not None and args.threads < 1:
        p.error(f"--threads must be >= 1; got {args.threads}")
    return args


def _reexec_if_needed(args):
    """Re-run this script in a clean environment: without the machine's
    OpenBLAS overrides, and with the thread variables for --threads, which
    must be set before numpy and the peers load."""
    if os.environ.get(_REEXEC):
        return
    env = dict(os.environ)
    changed = False
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in env:
            del env[var]
            changed = True
    if args.threads is not None:
        for var in _THREAD_VARS:
            env[var] = str(args.threads)
        # Pinned to that many CPUs as well (the mask is inherited across
        # exec): the thread variables alone do not hold every peer (XLA's
        # CPU client sizes its pools from the CPUs it may use).
        if hasattr(os, "sched_setaffinity"):
            cpus = sorted(os.sched_getaffinity(0))
            if args.threads < len(cpus):
                os.sched_setaffinity(0, cpus[:max(args.threads, 1)])
        if args.threads == 1:
            env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") +
                                " --xla_cpu_multi_thread_eigen=false"
                                " intra_op_parallelism_threads=1").strip()
        changed = True
    if changed:
        env[_REEXEC] = "1"
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def main(argv=None):
    args = _parse(argv)
    if argv is None:
        _reexec_if_needed(args)
    sys.path.insert(0, HERE)
    import numpy as np  # noqa: F401  (after the environment is final)
    import report
    if args.threads is not None:
        _limit_threads(args.threads)
    if args.render:
        with open(args.render) as f:
            raw = json.load(f)
        _write_report(report, raw["machine"], raw["results"], args.out)
        print(f"wrote {args.out}/latest.md and latest.png from {args.render}")
        return 0
    if args.check:
        import check
        return check.run_all()
    import workloads as wl
    quick = args.quick
    repeats = args.repeats or (3 if quick else 5)
    budget = args.budget or (1.5 if quick else 4.0)
    chosen = wl.all_workloads(quick=quick)
    if args.only:
        keys = [k.strip() for k in args.only.split(",") if k.strip()]
        known = [w.key for w in chosen]
        unknown = [k for k in keys
                   if not any(w == k or w.startswith(k) for w in known)]
        if unknown and all(k.startswith("fann") for k in unknown) \
                and not wl.fann_available():
            sys.exit(f"--only {args.only}: FANN's datasets are not at "
                     f"{wl.FANN_DIR} (set PYBP_DATASETS); nothing to run")
        if unknown:
            sys.exit(f"--only: unknown workload(s) {unknown}; known: {known}")
        chosen = [w for w in chosen if any(w.key == k or w.key.startswith(k)
                                           for k in keys)]
    import implementations as im
    names = im.IMPLEMENTATIONS
    if args.impl:
        names = tuple(n.strip() for n in args.impl.split(","))
        bad = [n for n in names if n not in im.IMPLEMENTATIONS]
        if bad:
            sys.exit(f"--impl: unknown {bad}; known: {list(im.IMPLEMENTATIONS)}")
    kernels = None
    if args.kernels:
        kernels = [k.strip() for k in args.kernels.split(",")]
        if im.kernel_sets() == [None]:
            print("note: this pybp has one kernel set; --kernels ignored")
            kernels = None

    t_start = time.time()
    info = report.machine_info(args.threads)
    print(report.machine_line(info), flush=True)
    results = []
    for w in chosen:
        results.append(measure_workload(w, names, kernels, args.threads,
                                        repeats, im, budget, args.cooldown))
    info["seconds"] = round(time.time() - t_start, 1)
    info["cooldown"] = args.cooldown
    info["command"] = " ".join(["python bench/run.py"] + list(
        sys.argv[1:] if argv is None else argv))
    info["repeats"] = repeats
    os.makedirs(os.path.join(args.out, "raw"), exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    raw = os.path.join(args.out, "raw", f"run-{stamp}.json")
    with open(raw, "w") as f:
        json.dump({"machine": info, "results": results}, f, indent=1)
    _write_report(report, info, results, args.out)
    print(f"\nwrote {args.out}/latest.md, latest.png and {raw} "
          f"({info['seconds']:.0f} s)")
    return 0


def _write_report(report, info, results, out):
    with open(os.path.join(out, "latest.md"), "w") as f:
        f.write(report.markdown(info, results))
    report.chart(info, results, os.path.join(out, "latest.png"))


def _limit_threads(n):
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(n)
    except ImportError:
        pass
    try:
        import torch
        torch.set_num_threads(n)
    except ImportError:
        pass
    import pybp
    if hasattr(pybp, "set_num_threads"):
        pybp.set_num_threads(n)


def measure_workload(w, names, kernels, threads, repeats, im, budget,
                     cooldown=0.15):
    """Warm up every runner, then time them in interleaved rounds.  A runner
    whose warm-up run took longer than budget/repeats takes part in fewer
    rounds (at least one), so that one slow peer cannot hold the whole
    benchmark up; its row says how many."""
    from timing import Interval
    print(f"\n{w.title}", flush=True)
    runners, skipped = im.make_runners(w, names, kernels, threads)
    rounds = {}
    for r in list(runners):             # warm-up (and JIT compiles)
        try:
            r.reset()
            with Interval() as iv:
                s = r.run()
            took = s if s is not None else iv.wall
            if getattr(r, "compiles", False):   # the first run compiled
                r.reset()
                with Interval() as iv:
                    s = r.run()
                took = s if s is not None else iv.wall
            if isinstance(r, im.PredictMixin):
                r.calibrate(took)
                took = 0.1
            rounds[r.name] = max(1, min(repeats, int(budget / max(took, 1e-9))))
        except Exception as e:          # a peer failing must not stop the run
            runners.remove(r)
            skipped.append((r.name, f"failed: {type(e).__name__}: {e}"))
    samples = {r.name: [] for r in runners}
    with Interval() as whole:
        for k in range(repeats):        # interleaved rounds
            for r in runners:
                if k >= rounds[r.name]:
                    continue
                r.reset()
                time.sleep(cooldown)    # others' spinning threads sleep
                with Interval() as iv:
                    s = r.run()
                samples[r.name].append(
                    {"seconds": s if s is not None else iv.wall,
                     "wall": iv.wall, "cpu": iv.cpu,
                     "foreign": iv.foreign if iv.wall >= 0.05 else None})
    rows = []
    for r in runners:
        units = getattr(r, "units", None) if isinstance(r, im.PredictMixin) \
            else None
        units = units or r.w.units()
        ms = samples[r.name]
        secs = statistics.median(m["seconds"] for m in ms)
        loads = [m["foreign"] for m in ms if m["foreign"] is not None]
        note = r.note
        if len(ms) < repeats:
            note = (note + "; " if note else "") + f"{len(ms)} round(s) (slow)"
        row = {"impl": r.name, "units": units, "rounds": len(ms),
               "seconds_per_unit": secs / units,
               "seconds_median": secs,
               "seconds_all": [m["seconds"] for m in ms],
               "cpu_over_wall": statistics.median(
                   m["cpu"] / m["wall"] for m in ms if m["wall"] > 0),
               "foreign_load": statistics.median(loads) if loads else None,
               "foreign_load_max": max(loads) if loads else None,
               "threads": r.threads, "note": note,
               "value": metric_value(w, secs / units)}
        try:
            row.update(r.result())
        except Exception as e:
            row["note"] += f"; result failed: {e}"
        rows.append(row)
        extra = "".join(f"  {k} {row[k]:.4g}" for k in
                        ("train_loss", "test_acc", "test_mse") if k in row)
        load = "-" if row["foreign_load"] is None else f"{row['foreign_load']:.2f}"
        print(f"  {r.name:14s} {row['value']:12.4g} {w.metric:9s} "
              f"foreign {load} cores{extra}", flush=True)
    for name, why in skipped:
        print(f"  {name:14s} skipped: {why}")
    return {"key": w.key, "title": w.title, "metric": w.metric,
            "higher_is_better": w.metric in ("samples/s", "GFLOP/s", "epochs/s"),
            "notes": w.notes, "rows": rows, "foreign_load": whole.foreign,
            "seconds": whole.wall,
            "skipped": [{"impl": n, "why": y} for n, y in skipped]}


def metric_value(w, seconds_per_unit):
    """The figure shown for workload w (as defined, not as a runner may
    have shrunk it) from the time per unit."""
    if w.metric in ("us/step", "us"):
        return 1e6 * seconds_per_unit
    if w.metric in ("samples/s", "epochs/s"):
        return 1.0 / seconds_per_unit
    if w.metric == "GFLOP/s":
        return w.flops() / (seconds_per_unit * w.units()) / 1e9
    return seconds_per_unit * w.units()   # "s": seconds for the whole workload


if __name__ == "__main__":
    sys.exit(main())
