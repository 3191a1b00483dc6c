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


def maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # Linux reports KiB


def run_isolated(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it must print one JSON line last."""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])
