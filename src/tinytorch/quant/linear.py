"""Module 17: ``QuantizedLinear`` -- int8 weights, int8 GEMM, float32 in and out.

Weights are quantized once, per output channel and symmetric (int8, zero point 0, as
PyTorch's fbgemm default); activations are quantized

* dynamically (``quantize_dynamic``): on the fly, one scale per tensor (PyTorch's
  choice) or per row, from the batch's own min/max, in native code, to 7 bits
  (``reduce_range``, 0..127, as PyTorch's fbgemm dynamic Linear does on x86: the
  AVX2 GEMM then multiplies u8 x s8 with vpmaddubsw, 32 products per instruction,
  without the int16 saturation that 8-bit activations would risk); or
* statically (``prepare`` / ``convert``, static.py): with the scale and zero point a
  calibration pass chose.

Either way the product runs as an int8 GEMM with int32 accumulation and a fused
epilogue (backends/quant): the float32 weight matrix is never rebuilt.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch import backends
from tinytorch.nn.linear import Linear
from tinytorch.nn.module import Module
from tinytorch.quant.functional import quantize_per_channel
from tinytorch.quant.observer import PerChannelMinMaxObserver
from tinytorch.tensor import Tensor

__all__ = ["QuantizedLinear", "quantize_weight"]


def quantize_weight(weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and float32 scales, symmetric per output channel (axis 0)."""
    w = np.asarray(weight, dtype=np.float32)
    observer = PerChannelMinMaxObserver(ch_axis=0)
    observer(w)
    scale, zp = observer.calculate_qparams()
    codes = quantize_per_channel(w, scale.astype(np.float64), zp, 0, "qint8").int_repr()
    return codes, scale.astype(np.float32)


def _flatten(x: Any, in_features: int, what: str) -> tuple[np.ndarray, tuple[int, ...]]:
    data = np.asarray(x.data if isinstance(x, Tensor) else x)
    if data.ndim == 0 or data.shape[-1] != in_features:
        raise ValueError(f"{what}: expected input of shape (*, {in_features}), got shape "
                         f"{tuple(data.shape)}")
    lead = data.shape[:-1]
    return np.ascontiguousarray(data.reshape(-1, in_features), dtype=np.float32), lead


class QuantizedLinear(Module):
    """y = x @ dequant(weight).T + bias, computed as an int8 GEMM (inference only).

    Buffers: ``weight_int8`` (out, in) int8, ``weight_scale`` (out,) float32,
    ``weight_colsum`` (out,) int32 (row sums of weight_int8), ``bias``
    (out,) float32 or None, and for static activations ``act_scale`` / ``act_zero_point``.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dynamic: bool = True, per_row: bool = False, relu: bool = False,
                 reduce_range: bool = True) -> None:
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.dynamic, self.per_row, self.relu = dynamic, per_row, relu
        self.reduce_range = bool(reduce_range)  # dynamic activations: 7 bits (0..127)
        self.register_buffer("weight_int8", np.zeros((out_features, in_features), np.int8))
        self.register_buffer("weight_scale", np.ones(out_features, np.float32))
        # saved with the weights (4 bytes per output), so a loaded model never pairs new
        # weights with an old correction term
        self.register_buffer("weight_colsum", np.zeros(out_features, np.int32))
        self.register_buffer("bias", np.zeros(out_features, np.float32) if bias else None)
        if not dynamic:
            self.register_buffer("act_scale", np.ones(1, np.float32))
            self.register_buffer("act_zero_point", np.zeros(1, np.int32))

    @classmethod
    def from_float(cls, linear: Linear, dynamic: bool = True, per_row: bool = False,
                   act_qparams: tuple[float, int] | None = None,
                   reduce_range: bool = True, relu: bool = False) -> QuantizedLinear:
        """Quantize a trained ``nn.Linear`` (weights per channel; see the module docstring).
        Static (``dynamic=False``) needs ``act_qparams = (scale, zero_point)`` of its input."""
        if not isinstance(linear, Linear):
            raise TypeError(f"QuantizedLinear.from_float expects an nn.Linear, got "
                            f"{type(linear).__name__}")
        if not dynamic and act_qparams is None:
            raise ValueError("QuantizedLinear.from_float(dynamic=False) needs act_qparams "
                             "(scale, zero_point) from calibration")
        q = cls(linear.in_features, linear.out_features, linear.bias is not None, dynamic,
                per_row, relu, reduce_range=reduce_range)
        codes, scale = quantize_weight(linear.weight.data)
        q.weight_int8.data[...] = codes
        q.weight_scale.data[...] = scale
        q.weight_colsum.data[...] = codes.astype(np.int32).sum(axis=1)
        if linear.bias is not None:
            q.bias.data[...] = linear.bias.data.astype(np.float32)
        if act_qparams is not None and not dynamic:
            q.act_scale.data[...] = np.float32(act_qparams[0])
            q.act_zero_point.data[...] = int(act_qparams[1])
        return q

    def colsum(self) -> np.ndarray:
        """sum over k of weight_int8[n, k] (int32): the zero-point correction."""
        return self.weight_colsum.data

    def forward(self, x: Any) -> Tensor:
        what = f"QuantizedLinear(in_features={self.in_features}, out_features=" \
               f"{self.out_features})"
        flat, lead = _flatten(x, self.in_features, what)
        kernels = backends.current()
        if self.dynamic:
            codes, scale, zp = kernels.quantize_rows(flat, self.per_row, "uint8",
                                                     self.reduce_range)
        else:
            scale = self.act_scale.data.astype(np.float32)
            zp = self.act_zero_point.data.astype(np.int32)
            # quantize_per_tensor's codes, in native code: (M, K) is the im2col of a 1x1
            # convolution over (M, K, 1, 1)
            codes = kernels.quantize_im2col(flat.reshape(*flat.shape, 1, 1), float(scale[0]),
                                            int(zp[0]), "uint8", (1, 1), (1, 1), (0, 0), (1, 1))
        bias = None if self.bias is None else self.bias.data
        y = kernels.int8_linear(codes, scale, zp, self.weight_int8.data, self.weight_scale.data,
                                self.colsum(), bias, self.relu, "float32", 1.0, 0)
        return Tensor(y.reshape(*lead, self.out_features))

    def extra_repr(self) -> str:
        kind = ("dynamic" + (" per-row" if self.per_row else "")
                + (", 7-bit" if self.reduce_range else "")) if self.dynamic else "static"
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, activations={kind}")
