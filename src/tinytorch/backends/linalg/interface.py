"""The contract of the ``linalg`` family, and the FLOP count of each kernel (written once)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class LinalgKernels(Protocol):
    def matmul(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """a: (M, K), b: (K, N) -> (M, N); operands may be transposed views::

            for i in M: for j in N:
                C[i, j] = sum over k of A[i, k] * B[k, j]

        The result has the operands' dtype (float32 stays float32, float64 float64).
        """
        ...

    def bmm(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """a: (B, M, K), b: (B, K, N) -> (B, M, N)::

            for n in B: C[n] = matmul(A[n], B[n])
        """
        ...


def matmul_flops(M: int, K: int, N: int) -> int:
    """One multiply and one add per (i, j, k): 2 M K N (a multiply-add counts as 2 FLOPs)."""
    return 2 * M * K * N


def bmm_flops(B: int, M: int, K: int, N: int) -> int:
    return B * matmul_flops(M, K, N)
