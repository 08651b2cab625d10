"""``linalg`` vectorised: NumPy hands the loops to the BLAS library it links (OpenBLAS)."""

from __future__ import annotations

import numpy as np


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a: (M, K), b: (K, N) -> (M, N) through BLAS sgemm/dgemm."""
    return np.matmul(a, b)


def bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a: (B, M, K), b: (B, K, N) -> (B, M, N)."""
    return np.matmul(a, b)
