"""``sparse`` on the C++ kernel of ``csrc/sparse.cpp`` (Module 18).

The kernel takes float32 values and b, int32 column indices and row pointers;
other float dtypes (float64 gradchecks) go to NumPy, wider index arrays are
narrowed when they fit (else NumPy too). The binding checks every index before
touching memory.
"""

from __future__ import annotations

import numpy as np

from tinytorch.backends.native_support import c_layout, ext
from tinytorch.backends.sparse import numpy_backend
from tinytorch.backends.sparse.interface import check_csr_shapes

_INT32_MAX = np.iinfo(np.int32).max


def _int32(a: np.ndarray) -> np.ndarray | None:
    if a.dtype == np.int32:
        return c_layout(a)
    if a.size and (a.min() < 0 or a.max() > _INT32_MAX):
        return None
    return np.ascontiguousarray(a, dtype=np.int32)


def csr_matmul(values: np.ndarray, col_indices: np.ndarray, row_ptr: np.ndarray,
               b: np.ndarray) -> np.ndarray:
    """A (M, K) in CSR times b: (K, N) -> (M, N)."""
    check_csr_shapes(values, col_indices, row_ptr, b)  # the indices: checked in C++
    cols, ptr = _int32(col_indices), _int32(row_ptr)
    if values.dtype != np.float32 or b.dtype != np.float32 or cols is None or ptr is None:
        return numpy_backend.csr_matmul(values, col_indices, row_ptr, b)
    return ext.csr_matmul(c_layout(values), cols, ptr, c_layout(b))
