"""``sparse`` vectorised: gather the rows of b that the nonzeros need, scale, sum per row.

The products ``values[:, None] * b[col_indices]`` are formed in blocks of rows
(at most ~4 MiB each) and summed per row with ``np.add.reduceat``.
"""

from __future__ import annotations

import numpy as np

from tinytorch.backends.sparse.interface import check_csr

#: floats of gathered products per block (4 MiB in float32)
BLOCK_ELEMENTS = 1 << 20


def csr_matmul(values: np.ndarray, col_indices: np.ndarray, row_ptr: np.ndarray,
               b: np.ndarray) -> np.ndarray:
    """A (M, K) in CSR times b: (K, N) -> (M, N)."""
    M, _, N = check_csr(values, col_indices, row_ptr, b)
    dtype = np.result_type(values.dtype, b.dtype)
    out = np.zeros((M, N), dtype=dtype)
    if M == 0 or N == 0 or len(values) == 0:
        return out
    ptr = row_ptr.astype(np.int64)
    rows_per_block = max(1, int(BLOCK_ELEMENTS // max(1, N * max(1, len(values) // M))))
    for r0 in range(0, M, rows_per_block):
        r1 = min(M, r0 + rows_per_block)
        p0, p1 = ptr[r0], ptr[r1]
        if p0 == p1:
            continue
        products = values[p0:p1, None].astype(dtype, copy=False) * b[col_indices[p0:p1]]
        starts = ptr[r0:r1] - p0
        filled = ptr[r0 + 1:r1 + 1] > ptr[r0:r1]       # reduceat needs non-empty segments
        out[r0:r1][filled] = np.add.reduceat(products, starts[filled], axis=0)
    return out
