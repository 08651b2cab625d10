"""Keep freed activation memory in the process instead of returning it to the OS.

Training allocates and frees the same large arrays every step (activations,
gradients, im2col buffers). glibc's malloc serves blocks above a threshold
with fresh ``mmap`` pages and gives them back on ``free``, so every step pays
a page fault per 4 KiB touched -- on the course machine that made a CNN epoch
~1.5x slower (Module 15 measures it). PyTorch avoids the same cost with a
caching allocator; we ask glibc to behave like one: serve blocks up to 64 MiB
from the heap and keep up to 512 MiB of freed memory for reuse.

Applied once at ``import tinytorch`` on glibc systems. Set
``TINYTORCH_MALLOC_TUNING=0`` to leave malloc alone.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 64 << 20
TRIM_THRESHOLD_BYTES = 512 << 20

_tuned = False


def tune_malloc() -> bool:
    """Apply the thresholds above; returns True when glibc accepted them."""
    global _tuned
    if _tuned or os.environ.get("TINYTORCH_MALLOC_TUNING", "1") == "0":
        return _tuned
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _tuned = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
    return _tuned


def is_tuned() -> bool:
    return _tuned
