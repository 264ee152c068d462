"""Helpers shared by the benchmarks (run as `python bench/<name>.py`, which
puts this folder on sys.path)."""
import time


def best_of(repeat, fn):
    """Fastest wall time of `repeat` calls of fn(): the least disturbed run
    on a shared, noisy machine."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
