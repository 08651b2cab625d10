"""``linalg`` on the C++ sgemm of ``csrc/matmul.cpp`` (Module 15)."""

from __future__ import annotations

import numpy as np

from tinytorch.backends.linalg import numpy_backend
from tinytorch.backends.native_support import ext, native_kernel


def gemm_layout(x: np.ndarray) -> np.ndarray:
    """x itself when sgemm can read it in place: rows or columns contiguous, as in
    C arrays, ``.T`` views and row slices (the rule of ``matrix_layout`` in
    csrc/bind_common.h); else an aligned C-contiguous copy (``a[:, ::2]``, ``a[::-1]``)."""
    if x.ndim != 2 or not x.flags.aligned:
        return x if x.ndim != 2 else np.array(x, order="C", copy=True)
    (s0, s1), item = x.strides, x.itemsize
    rows, cols = x.shape
    if (s1 == item and s0 >= item * cols) or (s0 == item and s1 >= item * rows):
        return x
    return np.ascontiguousarray(x)


@native_kernel(numpy_backend.matmul, arrays=2, layout=gemm_layout)
def _matmul_routed(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return ext.matmul(a, b)


_FLOAT32 = np.dtype(np.float32)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a: (M, K), b: (K, N) -> (M, N); transposed views are read without a copy.

    Two float32 arrays (the common case, a dtype object NumPy shares) go to C++ in one call,
    which copies only an operand sgemm cannot read in place: the general rule of
    ``native_kernel`` and ``gemm_layout`` cost 1.3 us per call in Python, more than an 8 x 8
    product. Everything else (float64, byte-swapped data, non-arrays) takes that rule.
    """
    if getattr(a, "dtype", None) is _FLOAT32 and getattr(b, "dtype", None) is _FLOAT32:
        return ext.matmul_any(a, b)
    return _matmul_routed(a, b)


matmul.fallback = numpy_backend.matmul  # type: ignore[attr-defined]


@native_kernel(numpy_backend.bmm, arrays=2)
def bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a: (B, M, K), b: (B, K, N) -> (B, M, N)."""
    return ext.bmm(a, b)
