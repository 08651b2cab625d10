"""The NumPy backend: the same kernels as ``loop``, vectorised.

Each function computes exactly what its namesake in ``loop.py`` computes; the
loops move into NumPy (and, for matmul, into the BLAS library NumPy links).
"""

from __future__ import annotations

import numpy as np

NAME = "numpy"


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a: (M, K), b: (K, N) -> (M, N) through BLAS sgemm/dgemm."""
    return np.matmul(a, b)


def bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a: (B, M, K), b: (B, K, N) -> (B, M, N)."""
    return np.matmul(a, b)


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    exps = np.exp(shifted)
    return exps / np.sum(exps, axis=axis, keepdims=True)
