"""``linalg`` as plain Python loops: the executable specification.

Slow on purpose (Module 15 measures exactly how slow): use it on small shapes
to understand, and to check the fast backends.
"""

from __future__ import annotations

import numpy as np


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C[i, j] = sum_k A[i, k] * B[k, j];  a: (M, K), b: (K, N) -> (M, N)."""
    M, K = a.shape
    K2, N = b.shape
    if K != K2:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied")
    # BEGIN SOLUTION 02
    A, B = a.tolist(), b.tolist()  # Python floats: the loops below read like the maths
    C = [[0.0] * N for _ in range(M)]
    for i in range(M):
        for j in range(N):
            total = 0.0
            for k in range(K):
                total += A[i][k] * B[k][j]
            C[i][j] = total
    return np.array(C, dtype=np.result_type(a, b)).reshape(M, N)
    # END SOLUTION


def bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C[n] = A[n] @ B[n];  a: (B, M, K), b: (B, K, N) -> (B, M, N)."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: {a.shape} and {b.shape}")
    out = np.empty((a.shape[0], a.shape[1], b.shape[2]), dtype=np.result_type(a, b))
    for n in range(a.shape[0]):
        out[n] = matmul(a[n], b[n])
    return out
