"""Conformance cases of ``sparse``: empty rows, empty matrices, one column, dense rows,
widths that are not multiples of the vector or register tile, duplicate columns."""

from __future__ import annotations

import numpy as np

from tinytorch.backends.conformance import Case


def csr_from_dense(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values, col_indices, row_ptr) of a dense matrix: its nonzeros row by row."""
    rows, cols = np.nonzero(a)
    row_ptr = np.zeros(a.shape[0] + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=a.shape[0]), out=row_ptr[1:])
    return a[rows, cols].astype(a.dtype), cols.astype(np.int32), row_ptr


# (M, K, N, density)
_SHAPES = [(1, 1, 1, 1.0), (5, 7, 3, 0.3), (16, 33, 31, 0.1), (9, 40, 64, 0.5),
           (4, 6, 1, 0.0), (0, 5, 4, 0.5), (6, 5, 0, 0.5), (3, 17, 100, 1.0), (64, 64, 33, 0.05)]


def _case(M, K, N, density):
    def make(rng):
        a = rng.standard_normal((M, K)).astype(np.float32)
        a[rng.random((M, K)) >= density] = 0
        if M > 2:
            a[1] = 0  # an empty row in the middle
        b = rng.standard_normal((K, N)).astype(np.float32)
        return (*csr_from_dense(a), b)
    return make


def _duplicates(rng):
    """Two entries for one column in a row (not canonical CSR, still a valid sum)."""
    values = np.array([1.0, 2.0, -3.0], dtype=np.float32)
    col_indices = np.array([2, 2, 0], dtype=np.int32)
    row_ptr = np.array([0, 2, 3], dtype=np.int32)
    return values, col_indices, row_ptr, rng.standard_normal((3, 10)).astype(np.float32)


CASES = {"csr_matmul": [Case(f"{M}x{K}x{N}-d{d}", _case(M, K, N, d), tol=1e-4)
                        for M, K, N, d in _SHAPES] + [Case("duplicate-columns", _duplicates)]}


def torch_kernels() -> dict:
    import torch

    def csr_matmul(values, col_indices, row_ptr, b):
        a = torch.sparse_csr_tensor(torch.from_numpy(row_ptr.astype(np.int64)),
                                    torch.from_numpy(col_indices.astype(np.int64)),
                                    torch.from_numpy(values), size=(len(row_ptr) - 1, len(b)))
        with torch.no_grad():
            return (a @ torch.from_numpy(b)).numpy()

    return {"csr_matmul": csr_matmul}
