"""What the Python benchmarks share: timing a call and naming the CPU."""

import platform
import statistics
import time


def timed(fn, budget_s=0.5):
    """(median seconds of one call of fn after a warm-up, what the warm-up call returned)."""
    out = fn()
    t = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t, 1e-6)
    times = []
    for _ in range(max(3, min(200, int(budget_s / once)))):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def cpu_name():
    """The CPU's model name from /proc/cpuinfo, else platform.processor()."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
