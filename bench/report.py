"""The machine description, the markdown table and the PNG chart of a
bench/run.py run."""
import importlib
import os
import platform


def _cpu():
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name":
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    return model, flags


def _version(module):
    try:
        return importlib.import_module(module).__version__
    except Exception:
        return None


def machine_info(threads=None):
    import numpy as np
    import pybp
    model, flags = _cpu()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    simd = {f: (f in flags) for f in ("avx2", "fma", "avx512f", "neon", "asimd")}
    info = {"cpu": model, "simd": simd, "cores": os.cpu_count(),
            "usable_cores": usable, "python": platform.python_version(),
            "platform": platform.platform(), "numpy": np.__version__,
            "pybp": pybp.__version__, "threads_option": threads,
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
            "peers": {m: _version(m) for m in ("jax", "jaxlib", "torch",
                                              "sklearn", "onnxruntime")}}
    cfg = getattr(pybp, "config", None)
    try:
        info["pybp_config"] = {k: str(v) for k, v in dict(cfg).items()} \
            if cfg is not None and not callable(cfg) else str(cfg())
    except Exception:
        info["pybp_config"] = None
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = [{k: i.get(k) for k in ("internal_api", "version",
                                                "architecture", "num_threads")}
                        for i in threadpool_info() if i.get("user_api") == "blas"]
    except ImportError:
        info["blas"] = None
    info["env"] = {k: os.environ.get(k) for k in (
        "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS", "XLA_FLAGS", "PYBP_SIMD")}
    return info


def machine_line(info):
    simd = "+".join(k.upper() for k, v in info["simd"].items() if v) or "none"
    blas = ", ".join(f"{b['internal_api']} {b['version']} "
                     f"{b['architecture']} {b['num_threads']} thr"
                     for b in (info.get("blas") or []))
    peers = ", ".join(f"{k} {v}" for k, v in info["peers"].items() if v)
    return (f"{info['cpu']} ({simd}), {info['usable_cores']} usable of "
            f"{info['cores']} cores; Python {info['python']}, numpy "
            f"{info['numpy']} ({blas or 'BLAS ?'}), pybp {info['pybp']}; "
            f"{peers}")


def _fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1e6:
        return f"{v / 1e6:.2f} M"
    if abs(v) >= 1e4:
        return f"{v / 1e3:.1f} k"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 1:
        return f"{v:.3g}"
    return f"{v:.3g}"


def _reference(res):
    rows = res["rows"]
    for r in rows:
        if r["impl"].startswith("pybp") and r["impl"] != "pybp-python":
            return r
    return None


def speed_vs_pybp(res, row):
    ref = _reference(res)
    if ref is None:
        return None
    return ref["seconds_per_unit"] / row["seconds_per_unit"]


def pybp_vs_best(res):
    """(pybp speed / best peer's speed, best peer's name), peers being
    everything not pybp."""
    ref = _reference(res)
    peers = [r for r in res["rows"] if not r["impl"].startswith("pybp")]
    if ref is None or not peers:
        return None, None
    best = min(peers, key=lambda r: r["seconds_per_unit"])
    return best["seconds_per_unit"] / ref["seconds_per_unit"], best["impl"]


def _ratio(v):
    return "-" if v is None else f"{v:.3g}"


def _load(v):
    return "-" if v is None else f"{v:.2f}"


def _quality(row):
    parts = []
    if "test_acc" in row:
        parts.append(f"acc {row['test_acc']:.3f}")
    if "test_mse" in row:
        parts.append(f"test MSE {row['test_mse']:.4g}")
    if "train_loss" in row:
        parts.append(f"loss {row['train_loss']:.4g}")
    return ", ".join(parts) or "-"


def markdown(info, results):
    simd = ", ".join(f"{k.upper()} {'yes' if v else 'no'}"
                     for k, v in info["simd"].items() if k in ("avx2", "fma", "avx512f"))
    lines = [
        "# pybp benchmarks: latest run", "",
        f"Command: `{info.get('command', 'python bench/run.py').strip()}` "
        f"({info.get('repeats')} interleaved rounds after a warm-up"
        + (f", each run after a {info['cooldown']:g} s idle pause"
           if info.get("cooldown") else "")
        + f"; medians; "
        f"{info.get('seconds', 0):.0f} s in all).", "",
        f"Machine: {info['cpu']}; {simd}; {info['usable_cores']} usable of "
        f"{info['cores']} cores; load average at start "
        f"{', '.join(f'{v:.2f}' for v in info['load_average'] or [])}.",
        f"Software: {info['platform']}, Python {info['python']}, numpy "
        f"{info['numpy']}, pybp {info['pybp']}; "
        + ", ".join(f"{k} {v}" for k, v in info["peers"].items() if v) + ".",
        "BLAS: " + ("; ".join(f"{b['internal_api']} {b['version']}, kernel "
                              f"{b['architecture']}, {b['num_threads']} threads"
                              for b in info.get("blas") or []) or "unknown") + ".",
        "", "How to read it: *speed vs pybp* is this implementation's speed "
        "divided by pybp's on the same work (> 1: faster than pybp); *pybp / "
        "best peer* is pybp's speed divided by the fastest non-pybp "
        "implementation's. *foreign load* is the median number of cores that "
        "other processes kept busy while this implementation was timed "
        "(from /proc/stat minus this process's CPU time); on a 2-core machine "
        "anything above ~0.2 disturbs the figures. *CPU/wall* is this "
        "process's CPU time over wall time (≈ threads actually used).", ""]
    for res in results:
        ratio, best = pybp_vs_best(res)
        lines += [f"## {res['title']}", ""]
        if res["notes"]:
            lines += [f"{res['notes']}.", ""]
        if res.get("foreign_load") is not None:
            lines += [f"Foreign load over the whole measurement: "
                      f"{res['foreign_load']:.2f} cores "
                      f"({res['seconds']:.1f} s).", ""]
        lines += [f"| implementation | {res['metric']} | speed vs pybp | "
                  "quality | threads | CPU/wall | foreign load | notes |",
                  "|---|---:|---:|---|---|---:|---:|---|"]
        for r in res["rows"]:
            s = speed_vs_pybp(res, r)
            lines.append(
                f"| {r['impl']} | {_fmt(r['value'])} | "
                f"{_ratio(s)} | {_quality(r)} | "
                f"{r['threads']} | {r['cpu_over_wall']:.2f} | "
                f"{_load(r['foreign_load'])} | "
                f"{r['note'] or ''} |")
        for s in res["skipped"]:
            lines.append(f"| {s['impl']} | skipped | | | | | | {s['why']} |")
        if ratio is not None:
            lines += ["", f"pybp / best peer ({best}): **{ratio:.3g}**"]
        lines.append("")
    lines += ["## Summary", "",
              "| workload | pybp | best peer | pybp / best |",
              "|---|---:|---|---:|"]
    for res in results:
        ratio, best = pybp_vs_best(res)
        ref = _reference(res)
        if ref is None:
            continue
        b = next((r for r in res["rows"] if r["impl"] == best), None)
        lines.append(f"| {res['title']} | {_fmt(ref['value'])} {res['metric']} "
                     f"| {best or '-'} {_fmt(b['value']) if b else ''} | "
                     f"{_ratio(ratio)} |")
    return "\n".join(lines) + "\n"


def chart(info, results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter
    except ImportError:
        return False
    shown = [r for r in results if _reference(r) is not None and len(r["rows"]) > 1]
    if not shown:
        return False
    cols = 3
    rows_n = (len(shown) + cols - 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(15, 2.9 * rows_n),
                             squeeze=False)
    colours = {"pybp": "tab:red", "pybp[fast]": "tab:red",
               "pybp[exact]": "darkred", "pybp-python": "tab:orange",
               "numpy": "tab:green", "jax": "tab:purple", "torch": "tab:blue",
               "sklearn": "tab:gray", "fann": "tab:brown",
               "onnxruntime": "tab:olive"}
    for ax, res in zip(axes.flat, shown):
        rows = sorted(res["rows"], key=lambda r: speed_vs_pybp(res, r))
        names = [r["impl"] for r in rows]
        speeds = [speed_vs_pybp(res, r) for r in rows]
        ax.barh(names, speeds, color=[colours.get(n, "tab:cyan") for n in names])
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlim(min(min(speeds) / 3, 0.1), max(max(speeds) * 6, 10.0))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{res['title']} [{res['metric']}]", fontsize=8)
        ax.tick_params(labelsize=7)
        for y, (s, r) in enumerate(zip(speeds, rows)):
            ax.text(s, y, f" {_fmt(r['value'])}", va="center", fontsize=6)
    for ax in list(axes.flat)[len(shown):]:
        ax.axis("off")
    loads = [r["foreign_load"] for r in results
             if r.get("foreign_load") is not None]
    load = (f"; foreign load {min(loads):.2f}-{max(loads):.2f} cores"
            if loads else "")
    fig.suptitle("speed relative to pybp (log scale; > 1 is faster than pybp; "
                 "labels: the measured figure in the workload's unit)\n"
                 + f"{info['cpu']}, {info['usable_cores']} cores{load}; "
                 + info.get("command", ""), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
