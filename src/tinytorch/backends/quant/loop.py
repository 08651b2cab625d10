"""``quant`` as plain Python loops: the executable specification (Module 17).

Integers are Python ints (they never overflow), so this is the definition the
int32 kernels must reproduce exactly; the float parts go through float32 NumPy
scalars in the order the interface states.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch.backends.quant import numpy_backend, shapes

_F = np.float32


def int8_gemm(a: np.ndarray, w: np.ndarray) -> np.ndarray:
    """c[i, j] = sum over k of a[i, k] * w[j, k], in unbounded integers."""
    shapes.check_gemm(a, w, "int8_gemm")
    M, K = a.shape
    N = w.shape[0]
    A, W = a.tolist(), w.tolist()
    C = [[0] * N for _ in range(M)]
    # BEGIN SOLUTION 17
    for i in range(M):
        for j in range(N):
            acc = 0
            for k in range(K):
                acc += A[i][k] * W[j][k]
            C[i][j] = acc
    # END SOLUTION
    return np.array(C, dtype=np.int64).reshape(M, N).astype(np.int32)


def int8_linear(a: np.ndarray, a_scale: np.ndarray, a_zp: np.ndarray, w: np.ndarray,
                w_scale: np.ndarray, w_colsum: np.ndarray, bias: np.ndarray | None, relu: bool,
                out_dtype: str, out_scale: float, out_zp: int) -> np.ndarray:
    """The GEMM, then the epilogue one element at a time."""
    shapes.check_linear(a, a_scale, a_zp, w, w_scale, w_colsum, bias, out_dtype, out_scale,
                        out_zp)
    acc = int8_gemm(a, w).tolist()
    M, N = a.shape[0], w.shape[0]
    out = np.zeros((M, N), dtype=np.float32)
    for i in range(M):
        sa = _F(a_scale[0 if a_scale.shape[0] == 1 else i])
        za = int(a_zp[0 if a_zp.shape[0] == 1 else i])
        for j in range(N):
            # BEGIN SOLUTION 17
            y = _F(acc[i][j] - za * int(w_colsum[j])) * (sa * _F(w_scale[j]))
            if bias is not None:
                y = _F(y + _F(bias[j]))
            if relu:
                y = max(y, _F(0))
            # END SOLUTION
            out[i, j] = y
    if out_dtype == "float32":
        return out
    return numpy_backend.requantize(out, out_scale, out_zp, out_dtype)


def quantize_rows(x: np.ndarray, per_row: bool, dtype: str, reduce_range: bool
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row (or for the whole tensor): extremes, scale and zero point, then the codes."""
    shapes.check_rows(x, dtype, "quantize_rows")
    qmin, qmax = shapes.code_range(dtype, reduce_range)
    M, K = x.shape
    rows = [list(map(_F, r)) for r in x.astype(np.float32).tolist()]
    groups = rows if per_row else [[v for r in rows for v in r]]
    scales, zps = [], []
    for values in groups:
        lo = min(min(values, default=_F(0)), _F(0))
        hi = max(max(values, default=_F(0)), _F(0))
        scale = max(_F(hi - lo) / _F(qmax - qmin), _F(np.finfo(np.float32).eps))
        zp = min(max(qmin - int(np.rint(lo / scale)), qmin), qmax)
        scales.append(scale)
        zps.append(zp)
    q = np.zeros((M, K), dtype=np.dtype(dtype))
    for i in range(M):
        g = i if per_row else 0
        inv = _F(1) / scales[g]
        for k in range(K):
            v = float(np.float32(float(rows[i][k]) * float(inv) + zps[g]))  # one rounding (FMA)
            v = float(qmax) if math.isnan(v) else float(np.rint(v))
            q[i, k] = int(min(max(v, qmin), qmax))
    return q, np.array(scales, dtype=np.float32), np.array(zps, dtype=np.int32)


def quantize_im2col(x: np.ndarray, scale: float, zero_point: int, dtype: str,
                    kernel_hw: tuple[int, int], stride: tuple[int, int],
                    padding: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """One receptive field per row, one element at a time (see the interface)."""
    g = shapes.check_im2col(x, scale, zero_point, dtype, kernel_hw, stride, padding, dilation)
    lo, hi = shapes.code_range(dtype, False)
    inv, zp = _F(1.0) / _F(scale), int(zero_point)
    (ph, pw), (sh, sw), (dh, dw) = g.padding, g.stride, g.dilation
    out = np.zeros((g.N * g.OH * g.OW, g.KH * g.KW * g.C), dtype=np.dtype(dtype))
    # BEGIN SOLUTION 17
    for n in range(g.N):
        for oh in range(g.OH):
            for ow in range(g.OW):
                row = (n * g.OH + oh) * g.OW + ow
                for kh in range(g.KH):
                    for kw in range(g.KW):
                        ih, iw = oh * sh - ph + kh * dh, ow * sw - pw + kw * dw
                        for c in range(g.C):
                            code = zp  # padding: the code of 0.0
                            if 0 <= ih < g.H and 0 <= iw < g.W:
                                v = float(_F(float(x[n, c, ih, iw]) * float(inv) + zp))  # FMA
                                v = float(hi) if math.isnan(v) else float(np.rint(v))
                                code = int(min(max(v, lo), hi))
                            out[row, (kh * g.KW + kw) * g.C + c] = code
    # END SOLUTION
    return out



def quantized_conv2d(x: np.ndarray, a_scale: float, a_zp: int, w: np.ndarray,
                     w_scale: np.ndarray, w_colsum: np.ndarray, bias: np.ndarray | None,
                     relu: bool, kernel_hw: tuple[int, int], stride: tuple[int, int],
                     padding: tuple[int, int], dilation: tuple[int, int]) -> np.ndarray:
    """This module's quantize_im2col and int8_linear, then the rows as NCHW planes."""
    return numpy_backend.conv_by_gemm(quantize_im2col, int8_linear, x, a_scale, a_zp, w,
                                      w_scale, w_colsum, bias, relu, kernel_hw, stride,
                                      padding, dilation)
