"""Module 17: ``QuantizedConv2d`` -- a convolution as im2col + the int8 GEMM.

The input is quantized (static scale and zero point from calibration) and its receptive
fields are laid out as rows of uint8 codes (``quantize_im2col``: padding is the *zero
point*, the code of 0.0, not code 0; channels last, so a row is KH runs of KW*C codes);
one int8 GEMM with the per-channel weight scales and the bias in its epilogue produces
float32 output channels -- all in one kernel, ``quantized_conv2d``, whose native version
writes the channels straight into the NCHW output. The weights are stored as PyTorch orders a
conv weight, (F, C*KH*KW), and permuted to the rows' (kh, kw, c) order per call (F*K
bytes: microseconds).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch import backends
from tinytorch.backends.spatial import shapes
from tinytorch.nn.conv import Conv2d
from tinytorch.nn.module import Module
from tinytorch.quant.linear import quantize_weight
from tinytorch.tensor import Tensor

__all__ = ["QuantizedConv2d"]


class QuantizedConv2d(Module):
    """Static int8 convolution (groups = 1), float32 in and out, inference only."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: Any, stride: Any = 1,
                 padding: Any = 0, dilation: Any = 1, bias: bool = True,
                 relu: bool = False) -> None:
        super().__init__()
        self.relu = bool(relu)  # fused (quant.fuse_modules): max(y, 0) in the epilogue
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = shapes.pair(kernel_size, "kernel_size")
        self.stride, self.dilation = shapes.pair(stride, "stride"), shapes.pair(dilation,
                                                                                "dilation")
        self.padding = shapes.pair(padding, "padding")
        K = self.in_channels * self.kernel_size[0] * self.kernel_size[1]
        self.register_buffer("weight_int8", np.zeros((out_channels, K), np.int8))
        self.register_buffer("weight_scale", np.ones(out_channels, np.float32))
        self.register_buffer("weight_colsum", np.zeros(out_channels, np.int32))
        self.register_buffer("bias", np.zeros(out_channels, np.float32) if bias else None)
        self.register_buffer("act_scale", np.ones(1, np.float32))
        self.register_buffer("act_zero_point", np.zeros(1, np.int32))

    @classmethod
    def like(cls, conv: Conv2d, relu: bool = False) -> QuantizedConv2d:
        """An empty quantized twin of ``conv`` (same hyper-parameters), e.g. to load into."""
        if not isinstance(conv, Conv2d):
            raise TypeError(f"expected an nn.Conv2d, got {type(conv).__name__}")
        if conv.groups != 1 or isinstance(conv.padding, str):
            raise ValueError("QuantizedConv2d supports groups=1 and numeric padding only, got "
                             f"groups={conv.groups}, padding={conv.padding!r}")
        return cls(conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride,
                   conv.padding, conv.dilation, conv.bias is not None, relu)

    @classmethod
    def from_float(cls, conv: Conv2d, act_qparams: tuple[float, int],
                   relu: bool = False) -> QuantizedConv2d:
        """Quantize a trained conv: weights per output channel, input with ``act_qparams``;
        ``relu``: the ReLU that followed it runs in the epilogue."""
        q = cls.like(conv, relu)
        w = conv.weight.data.reshape(conv.out_channels, -1)
        codes, scale = quantize_weight(w)
        q.weight_int8.data[...] = codes
        q.weight_scale.data[...] = scale
        q.weight_colsum.data[...] = codes.astype(np.int32).sum(axis=1)
        if conv.bias is not None:
            q.bias.data[...] = conv.bias.data
        q.act_scale.data[...] = np.float32(act_qparams[0])
        q.act_zero_point.data[...] = int(act_qparams[1])
        return q

    def forward(self, x: Any) -> Tensor:
        data = np.asarray(x.data if isinstance(x, Tensor) else x, dtype=np.float32)
        if data.ndim != 4 or data.shape[1] != self.in_channels:
            raise ValueError(f"QuantizedConv2d({self.in_channels}, {self.out_channels}): "
                             f"expected input (N, {self.in_channels}, H, W), got shape "
                             f"{tuple(data.shape)}")
        w_shape = (self.out_channels, self.in_channels, *self.kernel_size)
        g = shapes.conv2d_geometry(data.shape, w_shape, self.stride, self.padding,
                                   self.dilation, "QuantizedConv2d")
        scale, zp = float(self.act_scale.data[0]), int(self.act_zero_point.data[0])
        w = self.weight_int8.data.reshape(w_shape).transpose(0, 2, 3, 1).reshape(g.F, -1)
        bias = None if self.bias is None else self.bias.data
        return Tensor(backends.current().quantized_conv2d(
            data, scale, zp, np.ascontiguousarray(w), self.weight_scale.data,
            self.weight_colsum.data, bias, self.relu, self.kernel_size, self.stride,
            self.padding, self.dilation))

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, activations=static"
                + (", relu" if self.relu else ""))
