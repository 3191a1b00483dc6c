"""Timing helpers for the benchmarks: best-of-k wall time, peak RSS in a fresh subprocess."""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def best_time(fn, repeat: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def side_by_side(f, g, repeat: int = 7, warmup: int = 1):
    """Best-of-``repeat`` times of f and g, their calls interleaved so that machine noise hits both."""
    for _ in range(warmup):
        f()
        g()
    tf, tg = float("inf"), float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        t1 = time.perf_counter()
        g()
        t2 = time.perf_counter()
        tf, tg = min(tf, t1 - t0), min(tg, t2 - t1)
    return tf, tg


def maxrss_bytes() -> int:
    """Peak resident memory of this process. VmHWM, because ru_maxrss survives fork+exec and would
    report the parent's peak in a fresh subprocess."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # Linux reports KiB


def run_isolated(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it must print one JSON line last."""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])
