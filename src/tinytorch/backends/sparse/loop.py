"""``sparse`` as plain Python loops: the executable specification (Module 18)."""

from __future__ import annotations

import numpy as np

from tinytorch.backends.sparse.interface import check_csr


def csr_matmul(values: np.ndarray, col_indices: np.ndarray, row_ptr: np.ndarray,
               b: np.ndarray) -> np.ndarray:
    """C = A @ b with A in CSR: every stored nonzero scales one row of b into one row of C."""
    M, _, N = check_csr(values, col_indices, row_ptr, b)
    vals, cols, ptr, B = values.tolist(), col_indices.tolist(), row_ptr.tolist(), b.tolist()
    C = [[0.0] * N for _ in range(M)]
    # BEGIN SOLUTION 18
    for i in range(M):
        row = C[i]
        for p in range(ptr[i], ptr[i + 1]):
            a, b_row = vals[p], B[cols[p]]
            for j in range(N):
                row[j] += a * b_row[j]
    # END SOLUTION
    return np.array(C, dtype=np.result_type(values.dtype, b.dtype)).reshape(M, N)
