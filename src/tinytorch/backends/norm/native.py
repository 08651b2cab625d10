"""``norm`` on the C++ kernels of ``csrc/norm.cpp`` (Module 14, made fast in Module 15).

``native_kernel`` sends other dtypes (float64 gradchecks) to NumPy and makes the
arrays C-contiguous; ``weight`` / ``bias`` may be None (no affine transform).
The bindings check shapes and raise ValueError / TypeError naming the argument.
"""

from __future__ import annotations

import numpy as np

from tinytorch.backends.native_support import ext, native_kernel
from tinytorch.backends.norm import numpy_backend


@native_kernel(numpy_backend.layer_norm, arrays=3)
def layer_norm(x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
               eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x: (M, D), weight, bias: (D,) or None -> (y: (M, D), mean: (M,), rstd: (M,))."""
    return ext.layer_norm(x, weight, bias, eps)


@native_kernel(numpy_backend.layer_norm_backward, arrays=5)
def layer_norm_backward(grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray | None,
                        mean: np.ndarray, rstd: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """grad_y, x: (M, D) -> (grad_x, grad_weight, grad_bias); the last two None without weight."""
    return ext.layer_norm_backward(grad_y, x, weight, mean, rstd)
