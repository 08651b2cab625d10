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
def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a: (M, K), b: (K, N) -> (M, N); transposed views are read without a copy."""
    return ext.matmul(a, b)


@native_kernel(numpy_backend.bmm, arrays=2)
def bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a: (B, M, K), b: (B, K, N) -> (B, M, N)."""
    return ext.bmm(a, b)
