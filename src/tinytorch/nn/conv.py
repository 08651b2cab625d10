"""Module 08 Spatial: ``Conv2d``, the layer that made deep learning see.

A convolution is a Linear layer applied at every image position with the
SAME weights: F filters of shape (C, KH, KW) slide over the input. Weight
sharing is why a 3x3 conv from 64 to 64 channels has 36,928 parameters while
a Linear layer between two 64x32x32 feature maps would have 4.3 billion.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinytorch.backends.spatial.shapes import pair
from tinytorch.nn import init
from tinytorch.nn.functional.spatial import conv2d
from tinytorch.nn.module import Module
from tinytorch.nn.parameter import Parameter
from tinytorch.tensor import Tensor

__all__ = ["Conv2d"]


def _positive_int(value: Any, name: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"Conv2d: {name} must be a positive int, got {value!r}")
    return int(value)


class Conv2d(Module):
    """y = conv2d(x, weight) + bias: x (N, C_in, H, W) -> y (N, C_out, OH, OW).

    weight: (out_channels, in_channels, KH, KW), bias: (out_channels,). An
    unbatched (C_in, H, W) input gives (C_out, OH, OW), like PyTorch.
    ``stride``/``padding``/``dilation`` are ints or (h, w) pairs; padding may
    be ``'valid'`` or ``'same'``. Only ``groups=1`` and ``padding_mode='zeros'``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] | str = 0,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, bias: bool = True,
                 padding_mode: str = "zeros", dtype: Any = np.float32) -> None:
        super().__init__()
        if groups != 1:
            raise ValueError(f"Conv2d: groups={groups} is not supported; TinyTorch implements "
                             "groups=1 only")
        if padding_mode != "zeros":
            raise ValueError(f"Conv2d: padding_mode={padding_mode!r} is not supported; only "
                             "'zeros'")
        self.in_channels = _positive_int(in_channels, "in_channels")
        self.out_channels = _positive_int(out_channels, "out_channels")
        self.kernel_size = pair(kernel_size, "kernel_size")
        if min(self.kernel_size) < 1:
            raise ValueError(f"Conv2d: kernel_size must be >= 1, got {self.kernel_size}")
        self.stride, self.dilation = pair(stride, "stride"), pair(dilation, "dilation")
        self.padding = padding if isinstance(padding, str) else pair(padding, "padding")
        self.groups, self.padding_mode = groups, padding_mode
        self.weight = Parameter(np.empty((self.out_channels, self.in_channels)
                                         + self.kernel_size, dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
        fan_in = in_channels * KH * KW (kaiming_uniform_ with a = sqrt(5))."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        if isinstance(x, Tensor) and x.ndim in (3, 4) and x.shape[-3] != self.in_channels:
            raise ValueError(f"Conv2d({self.in_channels}, {self.out_channels}): expected input "
                             f"with {self.in_channels} channels, got {x.shape[-3]} channels "
                             f"(input shape {tuple(x.shape)}; layout (N, C, H, W))")
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding!r}" if isinstance(self.padding, str) \
                else f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.bias is None:
            text += ", bias=False"
        return text
