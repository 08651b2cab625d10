"""``spatial`` on the C++ kernels of ``csrc/conv.cpp`` (im2col + sgemm) and ``csrc/pool.cpp``.

Each adapter validates with the family's shape checks (the same messages as the
other backends) and calls C++; ``native_kernel`` has already sent other dtypes
to NumPy and made the arrays C-contiguous.
"""

from __future__ import annotations

import numpy as np

from tinytorch.backends.native_support import ext, native_kernel
from tinytorch.backends.spatial import numpy_backend, shapes


@native_kernel(numpy_backend.conv2d, arrays=2)
def conv2d(x: np.ndarray, weight: np.ndarray, stride: tuple[int, int],
           padding: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """x: (N, C, H, W), weight: (F, C, KH, KW) -> (N, F, OH, OW)."""
    g = shapes.check_conv2d(x, weight, stride, padding, dilation)
    return ext.conv2d(x, weight, g.stride, g.padding, g.dilation)


@native_kernel(numpy_backend.conv2d_backward_input, arrays=2)
def conv2d_backward_input(grad_out: np.ndarray, weight: np.ndarray, input_hw: tuple[int, int],
                          stride: tuple[int, int], padding: tuple[int, int],
                          dilation: tuple[int, int]) -> np.ndarray:
    """grad_out: (N, F, OH, OW), weight: (F, C, KH, KW) -> grad_x: (N, C, H, W)."""
    g = shapes.check_conv2d_backward_input(grad_out, weight, input_hw, stride, padding,
                                           dilation)
    return ext.conv2d_backward_input(grad_out, weight, (g.H, g.W), g.stride, g.padding,
                                     g.dilation)


@native_kernel(numpy_backend.conv2d_backward_weight, arrays=2)
def conv2d_backward_weight(grad_out: np.ndarray, x: np.ndarray, kernel_hw: tuple[int, int],
                           stride: tuple[int, int], padding: tuple[int, int],
                           dilation: tuple[int, int]) -> np.ndarray:
    """grad_out: (N, F, OH, OW), x: (N, C, H, W) -> grad_w: (F, C, KH, KW)."""
    g = shapes.check_conv2d_backward_weight(grad_out, x, kernel_hw, stride, padding, dilation)
    return ext.conv2d_backward_weight(grad_out, x, (g.KH, g.KW), g.stride, g.padding,
                                      g.dilation)


@native_kernel(numpy_backend.max_pool2d)
def max_pool2d(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """x: (N, C, H, W) -> (y, int64 indices), both (N, C, OH, OW)."""
    g = shapes.check_pool2d(x, kernel_size, stride, padding, "max_pool2d")
    return ext.max_pool2d(x, (g.KH, g.KW), g.stride, g.padding)


@native_kernel(numpy_backend.max_pool2d_backward)
def max_pool2d_backward(grad_out: np.ndarray, indices: np.ndarray,
                        input_hw: tuple[int, int]) -> np.ndarray:
    """grad_out, indices: (N, C, OH, OW) -> grad_x: (N, C, H, W)."""
    H, W = shapes.check_max_pool2d_backward(grad_out, indices, input_hw)
    return ext.max_pool2d_backward(grad_out, np.ascontiguousarray(indices, dtype=np.int64),
                                   (H, W))


@native_kernel(numpy_backend.avg_pool2d)
def avg_pool2d(x: np.ndarray, kernel_size: tuple[int, int], stride: tuple[int, int],
               padding: tuple[int, int]) -> np.ndarray:
    """x: (N, C, H, W) -> (N, C, OH, OW), padding counted in the mean."""
    g = shapes.check_pool2d(x, kernel_size, stride, padding, "avg_pool2d")
    return ext.avg_pool2d(x, (g.KH, g.KW), g.stride, g.padding)


@native_kernel(numpy_backend.avg_pool2d_backward)
def avg_pool2d_backward(grad_out: np.ndarray, input_hw: tuple[int, int],
                        kernel_size: tuple[int, int], stride: tuple[int, int],
                        padding: tuple[int, int]) -> np.ndarray:
    """grad_out: (N, C, OH, OW) -> grad_x: (N, C, H, W)."""
    g = shapes.check_pool2d_backward(grad_out, input_hw, kernel_size, stride, padding,
                                     "avg_pool2d_backward")
    return ext.avg_pool2d_backward(grad_out, (g.H, g.W), (g.KH, g.KW), g.stride, g.padding)
