"""The contract of the ``quant`` family, and its operation counts.

Shapes follow PyTorch's Linear: activations ``a: (M, K)``, weights ``w: (N, K)``,
``C = a @ w.T``. Activations are uint8 (affine, zero point ``a_zp``) or int8; weights
are int8, symmetric (zero point 0), one scale per output channel.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class QuantKernels(Protocol):
    def int8_gemm(self, a: np.ndarray, w: np.ndarray) -> np.ndarray:
        """a: uint8 or int8 (M, K), w: int8 (N, K) -> int32 (M, N), exact::

            for i in M: for j in N:
                c[i, j] = sum over k of int32(a[i, k]) * int32(w[j, k])
        """
        ...

    def int8_linear(self, a: np.ndarray, a_scale: np.ndarray, a_zp: np.ndarray,
                    w: np.ndarray, w_scale: np.ndarray, w_colsum: np.ndarray,
                    bias: np.ndarray | None, relu: bool, out_dtype: str, out_scale: float,
                    out_zp: int) -> np.ndarray:
        """The int8 GEMM with its epilogue fused. a_scale (float32), a_zp (int32): (M,) or
        (1,); w_scale: float32 (N,); w_colsum: int32 (N,) = w.sum(axis=1); bias: float32
        (N,) or None::

            acc = int8_gemm(a, w)[i, j]
            y   = float32(acc - a_zp[i] * w_colsum[j]) * (a_scale[i] * w_scale[j]) + bias[j]
            y   = max(y, 0) if relu
            out = y                                              out_dtype "float32"
            out = clamp(round(fma(y, 1 / out_scale, out_zp)))    "int8" / "uint8"

        (acc - a_zp * colsum = sum_k (a - a_zp) * w: the zero point costs one multiply per
        output, not one per product.)
        """
        ...

    def quantize_rows(self, x: np.ndarray, per_row: bool, dtype: str, reduce_range: bool
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Dynamic quantization of float32 x: (M, K) -> (codes (M, K) uint8 / int8,
        scale float32 (M,) or (1,), zero_point int32 (M,) or (1,))::

            lo, hi  = min(min(row), 0), max(max(row), 0)        (or of the whole tensor)
            scale   = max((hi - lo) / (qmax - qmin), eps)
            zp      = clamp(qmin - round(lo / scale), qmin, qmax)
            q[i, k] = clamp(round(fma(x[i, k], 1 / scale, zp)), qmin, qmax)

        exactly ``MinMaxObserver`` + ``quantize_per_tensor`` (float32, ties to even).
        """
        ...

    def quantize_im2col(self, x: np.ndarray, scale: float, zero_point: int, dtype: str,
                        kernel_hw: tuple[int, int], stride: tuple[int, int],
                        padding: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
        """Static quantization fused with im2col (``QuantizedConv2d``'s input): float32
        x: (N, C, H, W) -> codes (N*OH*OW, KH*KW*C), uint8 / int8, channels last::

            row = (n*OH + oh)*OW + ow,   col = (kh*KW + kw)*C + c
            ih  = oh*stride_h - pad_h + kh*dil_h      (iw likewise)
            q[row, col] = clamp(round(fma(x[n, c, ih, iw], 1 / scale, zp)), qmin, qmax)
                          or zp where (ih, iw) is padding (the code of 0.0)

        exactly ``quantize_per_tensor`` (float32, ties to even, NaN -> qmax) then im2col.
        The column order (kh, kw, c) makes a receptive field KH runs of KW*C codes that
        sit next to each other in a channels-last image; the weights are permuted to match.
        """
        ...

    def quantized_conv2d(self, x: np.ndarray, a_scale: float, a_zp: int, w: np.ndarray,
                         w_scale: np.ndarray, w_colsum: np.ndarray, bias: np.ndarray | None,
                         relu: bool, kernel_hw: tuple[int, int], stride: tuple[int, int],
                         padding: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
        """A static int8 convolution (``QuantizedConv2d.forward``): float32 x (N, C, H, W),
        int8 w (F, KH*KW*C) in quantize_im2col's (kh, kw, c) column order, w_scale /
        w_colsum / bias (F,) -> float32 y (N, F, OH, OW)::

            cols = quantize_im2col(x, a_scale, a_zp, "uint8", kernel_hw, ...)
            y2d  = int8_linear(cols, [a_scale], [a_zp], w, w_scale, w_colsum, bias, relu,
                               "float32", 1.0, 0)                    # (N*OH*OW, F)
            y    = y2d.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)

        (the native kernel writes y2d's columns straight into the NCHW planes).
        """
        ...


def int8_gemm_ops(M: int, N: int, K: int) -> int:
    """Integer operations of the GEMM: a multiply and an add per product, 2 M N K
    (GOP/s are comparable with the GFLOP/s of the fp32 sgemm)."""
    return 2 * M * N * K
