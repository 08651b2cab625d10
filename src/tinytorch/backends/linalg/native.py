"""``linalg`` on the C++ sgemm of ``csrc/matmul.cpp`` (Module 15)."""

from __future__ import annotations

import numpy as np

from tinytorch.backends.linalg import numpy_backend
from tinytorch.backends.native_support import ext, native_kernel


@native_kernel(numpy_backend.matmul, arrays=2, layout=None)
def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a: (M, K), b: (K, N) -> (M, N); transposed views are read without a copy.

    The C++ side lays the operands out (``_native.matmul_any``: a copy only of an operand
    whose rows and columns are both strided, or that is misaligned): one call, where a
    layout check per operand in Python cost more than an 8 x 8 product.
    """
    return ext.matmul_any(a, b)


@native_kernel(numpy_backend.bmm, arrays=2)
def bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a: (B, M, K), b: (B, K, N) -> (B, M, N)."""
    return ext.bmm(a, b)
