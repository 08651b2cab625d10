"""``softmax`` on the row kernels of ``csrc/softmax.cpp``."""

from __future__ import annotations

import numpy as np

from tinytorch.backends.native_support import c_layout, ext, native_kernel
from tinytorch.backends.softmax import numpy_backend


def _rowwise(kernel, x: np.ndarray, axis: int) -> np.ndarray:
    """Move ``axis`` last, run the C++ row kernel on a (rows, cols) array, move it back."""
    if x.ndim == 0 or x.shape[axis] == 0:
        return np.empty_like(x)
    if axis == -1 or axis == x.ndim - 1:  # the usual case: no axis to move (np.moveaxis
        # costs ~3 us a call, three times an 8 x 8 softmax)
        return kernel(c_layout(x.reshape(-1, x.shape[-1]))).reshape(x.shape)
    moved = np.moveaxis(x, axis, -1)
    rows = c_layout(moved.reshape(-1, moved.shape[-1]))
    return np.moveaxis(kernel(rows).reshape(moved.shape), -1, axis)


@native_kernel(numpy_backend.softmax, layout=None)
def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    return _rowwise(ext.softmax, x, axis)


@native_kernel(numpy_backend.log_softmax, layout=None)
def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    return _rowwise(ext.log_softmax, x, axis)
