"""Timing on a shared machine: wall time, this process's CPU time, and the
CPU time everything else on the machine used meanwhile (the foreign load).

The foreign load of an interval is (busy CPU time of the whole machine from
/proc/stat, steal included) minus (this process's user+system time, all its
threads), divided by the wall time: how many cores other processes kept busy
while we measured.  /proc/stat counts in clock ticks (usually 10 ms), so
intervals shorter than ~0.1 s read it coarsely.  Where /proc/stat is absent
(not Linux) the load is reported as None.
"""
import os
import resource
import time

try:
    _TICK = 1.0 / os.sysconf("SC_CLK_TCK")
except (AttributeError, ValueError, OSError):
    _TICK = 0.01


def _machine_busy_seconds():
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    # cpu user nice system idle iowait irq softirq steal [guest guest_nice]
    values = [int(v) for v in fields[1:9]]
    idle = values[3] + values[4]
    return (sum(values) - idle) * _TICK


def _own_cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Interval:
    """with Interval() as iv: ...  then iv.wall, iv.cpu, iv.foreign."""

    def __enter__(self):
        self._busy0 = _machine_busy_seconds()
        self._cpu0 = _own_cpu_seconds()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self._t0
        self.cpu = _own_cpu_seconds() - self._cpu0
        busy1 = _machine_busy_seconds()
        if self._busy0 is None or busy1 is None or self.wall <= 0:
            self.foreign = None
        else:
            self.foreign = max(0.0, (busy1 - self._busy0 - self.cpu)
                               / self.wall)
        return False


def best_of(repeat, fn):
    """Fastest wall time of `repeat` calls of fn() (the least disturbed run),
    for the thin scripts; run.py reports medians of interleaved runs."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
