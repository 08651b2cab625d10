"""``activation`` on the fused one-pass kernels of ``csrc/activation.cpp``."""

from __future__ import annotations

import numpy as np

from tinytorch.backends.activation import numpy_backend
from tinytorch.backends.native_support import ext, native_kernel


@native_kernel(numpy_backend.gelu)
def gelu(x: np.ndarray, approximate: str) -> np.ndarray:
    return ext.gelu(x, approximate)


@native_kernel(numpy_backend.gelu_backward, arrays=2)
def gelu_backward(grad: np.ndarray, x: np.ndarray, approximate: str) -> np.ndarray:
    if grad.shape != x.shape:
        raise ValueError(f"gelu_backward: grad has shape {grad.shape} but x has shape "
                         f"{x.shape}")
    return ext.gelu_backward(grad, x, approximate)
