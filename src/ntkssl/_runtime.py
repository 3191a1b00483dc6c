"""Process-level tuning for long CPU runs.

glibc serves allocations above its mmap threshold (128 KiB, adapting up to 32 MiB) with fresh
mmap'd pages and returns them to the OS on free. A training step at width M ≥ 8192 allocates and
frees tens of MB of activations every step, so each step pays page faults for memory it just
released: the step time grows faster than linearly in M. Raising the threshold keeps freed
memory in the heap for reuse (the process holds on to its peak memory instead of returning it).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_allocator(threshold_bytes: int = 2 ** 30) -> bool:
    """Keep freed blocks below ``threshold_bytes`` in the heap (glibc only); True if applied.

    Called by the ``ntkssl`` command; call it yourself in scripts that train wide networks on CPU.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(_M_MMAP_THRESHOLD, int(threshold_bytes)) == 1
        ok &= libc.mallopt(_M_TRIM_THRESHOLD, int(min(2 ** 31 - 1, 2 * threshold_bytes))) == 1
        return bool(ok)
    except (OSError, AttributeError):
        return False
