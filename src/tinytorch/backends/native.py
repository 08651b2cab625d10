"""The native backend: adapts the C++ kernels in ``tinytorch._native``.

The C++ kernels work on float32, the dtype training uses. For other dtypes
(float64 in gradient checks, integers) this adapter hands the call to the
NumPy backend, so results never silently change precision.
"""

from __future__ import annotations

import numpy as np

from tinytorch.backends import BackendUnavailableError
from tinytorch.backends import numpy_backend as _fallback

NAME = "native"

BUILD_HINT = (
    "build it from the TinyTorch source tree with `pip install .` (or `pip install -e .`); "
    "this needs a C++17 compiler and CMake >= 3.18. `tinytorch doctor` checks the result."
)

try:
    from tinytorch import _native
except ImportError as exc:  # missing file, wrong ABI, missing symbol, ...
    raise BackendUnavailableError(
        f"the native backend is not available: tinytorch._native failed to import ({exc}); "
        + BUILD_HINT
    ) from exc


def build_info() -> dict:
    """Compiler, SIMD level, OpenMP and thread count the extension was built with."""
    return dict(_native.build_info())


def _all_float32(*arrays: np.ndarray) -> bool:
    return all(a.dtype == np.float32 for a in arrays)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a: (M, K), b: (K, N) -> (M, N); transposed views are read without a copy."""
    if not _all_float32(a, b):
        return _fallback.matmul(a, b)
    return _native.matmul(a, b)


def bmm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a: (B, M, K), b: (B, K, N) -> (B, M, N)."""
    if not _all_float32(a, b):
        return _fallback.bmm(a, b)
    return _native.bmm(np.ascontiguousarray(a), np.ascontiguousarray(b))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``: moved last, run row by row in C++, moved back."""
    if not _all_float32(x) or x.ndim == 0:
        return _fallback.softmax(x, axis)
    moved = np.moveaxis(x, axis, -1)
    rows = np.ascontiguousarray(moved.reshape(-1, moved.shape[-1]))
    out = _native.softmax(rows).reshape(moved.shape)
    return np.moveaxis(out, -1, axis)
