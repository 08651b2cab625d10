"""The native backend: adapts the C++ kernels in ``tinytorch._native``.

The C++ kernels work on float32, the dtype training uses. For other dtypes
(float64 in gradient checks, integers) this adapter hands the call to the
NumPy backend, so results never silently change precision.
"""

from __future__ import annotations

import numpy as np

from tinytorch.backends import BackendUnavailableError, _conv_shapes
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


_FLOAT32 = np.dtype(np.float32)


def _all_float32(*arrays: np.ndarray) -> bool:
    return all(a.dtype == np.float32 for a in arrays)


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a: (M, K), b: (K, N) -> (M, N); transposed views are read without a copy."""
    # Cheap checks first: this adapter runs on every matmul, and for small
    # matrices its overhead is as large as the multiply itself.
    if (a.dtype is not _FLOAT32 or b.dtype is not _FLOAT32) and not _all_float32(a, b):
        return _fallback.matmul(a, b)
    return _native.matmul(a if a.flags.c_contiguous else _gemm_layout(a),
                          b if b.flags.c_contiguous else _gemm_layout(b))


def _gemm_layout(x: np.ndarray) -> np.ndarray:
    """x itself when sgemm can read it in place: rows or columns contiguous, as in
    C arrays, ``.T`` views and row slices (the rule of ``matrix_layout`` in
    csrc/bind_common.h); else a C-contiguous copy (``a[:, ::2]``, ``a[::-1]``)."""
    if x.ndim != 2:
        return x  # _native.matmul names the wrong number of dimensions
    (s0, s1), item = x.strides, x.itemsize
    rows, cols = x.shape
    if (s1 == item and s0 >= item * cols) or (s0 == item and s1 >= item * rows):
        return x
    return np.ascontiguousarray(x)


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


# ---- Module 08: spatial kernels ---------------------------------------------
# Validation happens once, in _conv_shapes (the same messages as the other
# backends); the C++ bindings check again before touching memory. The C++
# kernels index raw C-contiguous memory, so views are made contiguous here.


def _contiguous(*arrays: np.ndarray) -> list[np.ndarray]:
    return [np.ascontiguousarray(a) for a in arrays]


def conv2d(x: np.ndarray, weight: np.ndarray, stride: tuple[int, int],
           padding: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """x: (N, C, H, W), weight: (F, C, KH, KW) -> (N, F, OH, OW); C++ im2col + sgemm."""
    g = _conv_shapes.check_conv2d(x, weight, stride, padding, dilation)
    if not _all_float32(x, weight):
        return _fallback.conv2d(x, weight, stride, padding, dilation)
    return _native.conv2d(*_contiguous(x, weight), g.stride, g.padding, g.dilation)


def conv2d_backward_input(grad_out: np.ndarray, weight: np.ndarray, input_hw: tuple[int, int],
                          stride: tuple[int, int], padding: tuple[int, int],
                          dilation: tuple[int, int]) -> np.ndarray:
    """grad_out: (N, F, OH, OW), weight: (F, C, KH, KW) -> grad_x: (N, C, H, W)."""
    g = _conv_shapes.check_conv2d_backward_input(grad_out, weight, input_hw, stride, padding,
                                                 dilation)
    if not _all_float32(grad_out, weight):
        return _fallback.conv2d_backward_input(grad_out, weight, input_hw, stride, padding,
                                               dilation)
    return _native.conv2d_backward_input(*_contiguous(grad_out, weight), (g.H, g.W), g.stride,
                                         g.padding, g.dilation)


def conv2d_backward_weight(grad_out: np.ndarray, x: np.ndarray, kernel_hw: tuple[int, int],
                           stride: tuple[int, int], padding: tuple[int, int],
                           dilation: tuple[int, int]) -> np.ndarray:
    """grad_out: (N, F, OH, OW), x: (N, C, H, W) -> grad_w: (F, C, KH, KW)."""
    g = _conv_shapes.check_conv2d_backward_weight(grad_out, x, kernel_hw, stride, padding,
                                                  dilation)
    if not _all_float32(grad_out, x):
        return _fallback.conv2d_backward_weight(grad_out, x, kernel_hw, stride, padding,
                                                dilation)
    return _native.conv2d_backward_weight(*_contiguous(grad_out, x), (g.KH, g.KW), g.stride,
                                          g.padding, g.dilation)


def max_pool2d(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """x: (N, C, H, W) -> (y, int64 indices), both (N, C, OH, OW)."""
    g = _conv_shapes.check_pool2d(x, kernel_size, stride, padding, "max_pool2d")
    if not _all_float32(x):
        return _fallback.max_pool2d(x, kernel_size, stride, padding)
    y, indices = _native.max_pool2d(np.ascontiguousarray(x), (g.KH, g.KW), g.stride, g.padding)
    return y, indices


def max_pool2d_backward(grad_out: np.ndarray, indices: np.ndarray,
                        input_hw: tuple[int, int]) -> np.ndarray:
    """grad_out, indices: (N, C, OH, OW) -> grad_x: (N, C, H, W)."""
    H, W = _conv_shapes.check_max_pool2d_backward(grad_out, indices, input_hw)
    if not _all_float32(grad_out):
        return _fallback.max_pool2d_backward(grad_out, indices, input_hw)
    return _native.max_pool2d_backward(np.ascontiguousarray(grad_out),
                                       np.ascontiguousarray(indices, dtype=np.int64), (H, W))


def avg_pool2d(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int]) -> np.ndarray:
    """x: (N, C, H, W) -> (N, C, OH, OW), padding counted in the mean."""
    g = _conv_shapes.check_pool2d(x, kernel_size, stride, padding, "avg_pool2d")
    if not _all_float32(x):
        return _fallback.avg_pool2d(x, kernel_size, stride, padding)
    return _native.avg_pool2d(np.ascontiguousarray(x), (g.KH, g.KW), g.stride, g.padding)


def avg_pool2d_backward(grad_out: np.ndarray, input_hw: tuple[int, int],
                        kernel_size: tuple[int, int], stride: tuple[int, int],
                        padding: tuple[int, int]) -> np.ndarray:
    """grad_out: (N, C, OH, OW) -> grad_x: (N, C, H, W)."""
    g = _conv_shapes.check_pool2d_backward(grad_out, input_hw, kernel_size, stride, padding,
                                           "avg_pool2d_backward")
    if not _all_float32(grad_out):
        return _fallback.avg_pool2d_backward(grad_out, input_hw, kernel_size, stride, padding)
    return _native.avg_pool2d_backward(np.ascontiguousarray(grad_out), (g.H, g.W),
                                       (g.KH, g.KW), g.stride, g.padding)
