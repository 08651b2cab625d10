"""The loop backend: the executable specification.

Plain Python loops whose shape reads like the mathematics. Slow on purpose
(Module 15 measures exactly how slow): use it on small shapes to understand
and to check the fast backends.
"""

from __future__ import annotations

import math

import numpy as np

NAME = "loop"


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C[i, j] = sum_k A[i, k] * B[k, j];  a: (M, K), b: (K, N) -> (M, N)."""
    M, K = a.shape
    K2, N = b.shape
    if K != K2:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied")
    A, B = a.tolist(), b.tolist()  # Python floats: the loops below read like the maths
    C = [[0.0] * N for _ in range(M)]
    for i in range(M):
        for j in range(N):
            total = 0.0
            for k in range(K):
                total += A[i][k] * B[k][j]
            C[i][j] = total
    return np.array(C, dtype=np.result_type(a, b)).reshape(M, N)


def bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """C[n] = A[n] @ B[n];  a: (B, M, K), b: (B, K, N) -> (B, M, N)."""
    if a.shape[0] != b.shape[0]:
        raise ValueError(f"bmm: batch sizes differ: {a.shape} and {b.shape}")
    out = np.empty((a.shape[0], a.shape[1], b.shape[2]), dtype=np.result_type(a, b))
    for n in range(a.shape[0]):
        out[n] = matmul(a[n], b[n])
    return out


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """y = exp(x - max(x)) / sum(exp(x - max(x))) along ``axis``, one row at a time."""
    moved = np.moveaxis(x, axis, -1)
    rows = moved.reshape(-1, moved.shape[-1]).tolist()
    out = []
    for row in rows:
        row_max = max(row) if row else 0.0
        exps = [math.exp(v - row_max) if v != -math.inf else 0.0 for v in row]
        total = sum(exps)
        out.append([e / total if total > 0 else math.nan for e in exps])
    result = np.array(out, dtype=x.dtype).reshape(moved.shape)
    return np.moveaxis(result, -1, axis)
