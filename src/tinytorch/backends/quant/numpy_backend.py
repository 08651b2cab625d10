"""``quant`` vectorised: an int32 matmul and array arithmetic for the epilogue."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tinytorch.backends.quant import shapes

_EPS = np.float32(np.finfo(np.float32).eps)


def int8_gemm(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """a: uint8 / int8 (M, K), w: int8 (N, K) -> int32 (M, N)."""
    shapes.check_gemm(a, w, "int8_gemm")
    return a.astype(np.int32) @ w.astype(np.int32).T


def requantize(y: np.ndarray, out_scale: float, out_zp: int, dtype: str) -> np.ndarray:
    lo, hi = shapes.code_range(dtype, False)
    inv = np.float32(1.0) / np.float32(out_scale)
    v = np.rint((y.astype(np.float64) * inv + np.float32(out_zp)).astype(np.float32))
    v = np.nan_to_num(v, nan=float(hi))
    return np.clip(v, lo, hi).astype(np.dtype(dtype))


def int8_linear(a: np.ndarray, a_scale: np.ndarray, a_zp: np.ndarray, w: np.ndarray,
                w_scale: np.ndarray, w_colsum: np.ndarray, bias: np.ndarray | None, relu: bool,
                out_dtype: str, out_scale: float, out_zp: int) -> np.ndarray:
    """int8 GEMM + epilogue (see the interface)."""
    shapes.check_linear(a, a_scale, a_zp, w, w_scale, w_colsum, bias, out_dtype, out_scale,
                        out_zp)
    acc = int8_gemm(a, w)
    M = a.shape[0]
    zp = np.broadcast_to(a_zp.astype(np.int32), (M,))[:, None]
    sa = np.broadcast_to(a_scale.astype(np.float32), (M,))[:, None]
    centered = acc - zp * w_colsum.astype(np.int32)[None, :]
    y = centered.astype(np.float32) * (sa * w_scale.astype(np.float32)[None, :])
    if bias is not None:
        y = y + bias.astype(np.float32)
    if relu:
        y = np.maximum(y, np.float32(0))
    if out_dtype == "float32":
        return y.astype(np.float32, copy=False)
    return requantize(y, out_scale, out_zp, out_dtype)


def quantize_rows(x: np.ndarray, per_row: bool, dtype: str, reduce_range: bool
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dynamic quantization of x: (M, K) per row or per tensor (see the interface)."""
    shapes.check_rows(x, dtype, "quantize_rows")
    x = x.astype(np.float32, copy=False)
    qmin, qmax = shapes.code_range(dtype, reduce_range)
    M, K = x.shape
    if x.size == 0:
        lo = hi = np.zeros(M if per_row else 1, np.float32)
    elif per_row:
        lo, hi = x.min(axis=1), x.max(axis=1)
    else:
        lo, hi = x.min(keepdims=True).reshape(1), x.max(keepdims=True).reshape(1)
    min_neg = np.minimum(lo, np.float32(0))
    max_pos = np.maximum(hi, np.float32(0))
    scale = np.maximum((max_pos - min_neg) / np.float32(qmax - qmin), _EPS).astype(np.float32)
    zp = np.clip(qmin - np.rint(min_neg / scale).astype(np.int32), qmin, qmax).astype(np.int32)
    inv = (np.float32(1.0) / scale)[:, None]
    v = np.rint((x.astype(np.float64) * inv + zp[:, None].astype(np.float32)).astype(np.float32))
    v = np.nan_to_num(v, nan=float(qmax))
    q = np.clip(v, qmin, qmax).astype(np.dtype(dtype))
    return q, scale, zp


def quantize_im2col(x: np.ndarray, scale: float, zero_point: int, dtype: str,
                    kernel_hw: tuple[int, int], stride: tuple[int, int],
                    padding: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """Quantize, pad with the zero point, then copy a (N, OH, OW, KH, KW, C) strided view
    of the channels-last codes (see the interface)."""
    g = shapes.check_im2col(x, scale, zero_point, dtype, kernel_hw, stride, padding, dilation)
    (ph, pw), (sh, sw), (dh, dw) = g.padding, g.stride, g.dilation
    q = requantize(x, scale, zero_point, dtype)  # quantize_per_tensor's formula
    q = q.transpose(0, 2, 3, 1)  # (N, H, W, C)  # (N, H, W, C)
    q = np.pad(q, ((0, 0), (ph, ph), (pw, pw), (0, 0)),
               constant_values=np.array(zero_point).astype(q.dtype))
    sn, s_row, s_col, sc = q.strides
    win = np.lib.stride_tricks.as_strided(
        q, shape=(g.N, g.OH, g.OW, g.KH, g.KW, g.C),
        strides=(sn, sh * s_row, sw * s_col, dh * s_row, dw * s_col, sc), writeable=False)
    return np.ascontiguousarray(win).reshape(g.N * g.OH * g.OW, g.KH * g.KW * g.C)



def conv_by_gemm(quantize_im2col: Callable[..., np.ndarray],
                 int8_linear: Callable[..., np.ndarray], x: np.ndarray, a_scale: float,
                 a_zp: int, w: np.ndarray, w_scale: np.ndarray, w_colsum: np.ndarray,
                 bias: np.ndarray | None, relu: bool, kernel_hw: tuple[int, int],
                 stride: tuple[int, int], padding: tuple[int, int],
                 dilation: tuple[int, int]) -> np.ndarray:
    """quantized_conv2d from a backend's quantize_im2col and int8_linear (loop and NumPy)."""
    g = shapes.check_qconv2d(x, a_scale, a_zp, w, w_scale, w_colsum, bias, kernel_hw,
                             stride, padding, dilation)
    cols = quantize_im2col(x, a_scale, a_zp, "uint8", (g.KH, g.KW), g.stride, g.padding,
                           g.dilation)
    y = int8_linear(cols, np.array([a_scale], np.float32), np.array([a_zp], np.int32), w,
                    w_scale, w_colsum, bias, relu, "float32", 1.0, 0)
    return np.ascontiguousarray(y.reshape(g.N, g.OH, g.OW, g.F).transpose(0, 3, 1, 2))


def quantized_conv2d(x: np.ndarray, a_scale: float, a_zp: int, w: np.ndarray,
                     w_scale: np.ndarray, w_colsum: np.ndarray, bias: np.ndarray | None,
                     relu: bool, kernel_hw: tuple[int, int], stride: tuple[int, int],
                     padding: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """quantize_im2col, int8_linear, then the (N*OH*OW, F) rows as NCHW planes."""
    return conv_by_gemm(quantize_im2col, int8_linear, x, a_scale, a_zp, w, w_scale, w_colsum,
                        bias, relu, kernel_hw, stride, padding, dilation)
