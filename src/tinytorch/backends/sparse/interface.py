"""The contract of the ``sparse`` family, its argument checks and its FLOP count.

CSR (compressed sparse row) stores an (M, K) matrix A with nnz nonzeros as three
arrays: ``values`` (nnz,) the nonzeros row by row, ``col_indices`` (nnz,) the
column of each, and ``row_ptr`` (M + 1,) where row i's nonzeros are
``values[row_ptr[i]:row_ptr[i + 1]]``. Bytes: 4 nnz + 4 nnz + 4 (M + 1) with
float32 values and int32 indices, against 4 M K dense: CSR is smaller only
below 50% density.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class SparseKernels(Protocol):
    def csr_matmul(self, values: np.ndarray, col_indices: np.ndarray, row_ptr: np.ndarray,
                   b: np.ndarray) -> np.ndarray:
        """A (M, K) in CSR times b: (K, N) -> C: (M, N), M = len(row_ptr) - 1::

            for i in M:
                C[i, :] = 0
                for p in row_ptr[i] .. row_ptr[i + 1] - 1:
                    C[i, :] += values[p] * b[col_indices[p], :]   # a whole row of b

        The inner loop runs over a contiguous row of b (SIMD-friendly); the
        result has b's dtype. Only the nonzeros are multiplied: 2 nnz N FLOPs.
        """
        ...


def csr_matmul_flops(nnz: int, N: int) -> int:
    """One multiply-add per stored nonzero and column of b: 2 nnz N (zeros cost nothing)."""
    return 2 * nnz * N


def check_csr_shapes(values: np.ndarray, col_indices: np.ndarray, row_ptr: np.ndarray,
                     b: np.ndarray) -> tuple[int, int, int]:
    """The O(1) checks: ranks, dtypes kinds and lengths -> (M, K, N)."""
    if b.ndim != 2:
        raise ValueError(f"csr_matmul: b must be 2-D (K, N), got shape {b.shape}")
    if values.ndim != 1 or col_indices.ndim != 1 or row_ptr.ndim != 1:
        raise ValueError(f"csr_matmul: values, col_indices and row_ptr must be 1-D, got shapes "
                         f"{values.shape}, {col_indices.shape}, {row_ptr.shape}")
    for name, a in (("col_indices", col_indices), ("row_ptr", row_ptr)):
        if a.dtype.kind not in "iu":
            raise TypeError(f"csr_matmul: {name} must hold integers, got dtype {a.dtype}")
    if len(row_ptr) < 1:
        raise ValueError("csr_matmul: row_ptr must have M + 1 >= 1 entries, got 0")
    if len(col_indices) != len(values):
        raise ValueError(f"csr_matmul: values has {len(values)} entries but col_indices "
                         f"{len(col_indices)}")
    return len(row_ptr) - 1, b.shape[0], b.shape[1]


def check_csr(values: np.ndarray, col_indices: np.ndarray, row_ptr: np.ndarray,
              b: np.ndarray) -> tuple[int, int, int]:
    """Shapes and every index of a CSR x dense product -> (M, K, N); ValueError naming
    the problem. The native binding makes the O(nnz) index checks itself, in C++, with
    the same messages."""
    M, K, N = check_csr_shapes(values, col_indices, row_ptr, b)
    nnz = len(values)
    if row_ptr[0] != 0 or row_ptr[-1] != nnz:
        raise ValueError(f"csr_matmul: row_ptr must rise from 0 to nnz={nnz}, got "
                         f"{row_ptr[0]} .. {row_ptr[-1]}")
    falls = np.flatnonzero(np.diff(row_ptr) < 0)
    if len(falls):
        i = int(falls[0])
        raise ValueError(f"csr_matmul: row_ptr must rise from 0 to nnz={nnz}; it falls at row "
                         f"{i} ({row_ptr[i]} -> {row_ptr[i + 1]})")
    bad = np.flatnonzero((col_indices < 0) | (col_indices >= K))
    if len(bad):
        p = int(bad[0])
        raise ValueError(f"csr_matmul: col_indices must lie in [0, {K}) for b with {K} rows; "
                         f"col_indices[{p}] = {col_indices[p]}")
    return M, K, N
