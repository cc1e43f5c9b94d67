"""Timing helper shared by the benchmarks."""

import time


def best_of(fn, repeat: int = 5) -> float:
    """Fastest of ``repeat`` timed calls after one warm-up call (compilation)."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
