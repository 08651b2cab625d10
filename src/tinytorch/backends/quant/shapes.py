"""Argument checks of the ``quant`` family: the same messages on every backend."""

from __future__ import annotations

import dataclasses

import numpy as np

from tinytorch.backends.spatial import shapes as spatial_shapes

_CODES = {"int8": (-128, 127), "uint8": (0, 255)}


def code_range(dtype: str, reduce_range: bool) -> tuple[int, int]:
    if dtype not in _CODES:
        raise ValueError(f"quantized dtype must be 'uint8' or 'int8', got {dtype!r}")
    lo, hi = _CODES[dtype]
    if reduce_range:
        lo, hi = (0, 127) if dtype == "uint8" else (-64, 63)
    return lo, hi


def check_gemm(a: np.ndarray, w: np.ndarray, what: str) -> None:
    if a.dtype not in (np.uint8, np.int8):
        raise TypeError(f"{what}: the activations must have dtype uint8 or int8, got {a.dtype}")
    if w.dtype != np.int8:
        raise TypeError(f"w must have dtype int8, got {w.dtype}")
    if a.ndim != 2 or w.ndim != 2:
        raise ValueError(f"{what}: a and w must be 2-D, got shapes {a.shape} and {w.shape}")
    if a.shape[1] != w.shape[1]:
        raise ValueError(f"{what}: a has shape {a.shape} and w has shape {w.shape}; their last "
                         "dimensions (K) must agree")


def _vector(v: np.ndarray, name: str, n: int, allow_one: bool, kind: str, what: str) -> None:
    if not isinstance(v, np.ndarray) or v.dtype.kind != kind or v.ndim != 1:
        raise TypeError(f"{what}: {name} must be a 1-D {'float32' if kind == 'f' else 'int32'} "
                        f"array, got {getattr(v, 'dtype', type(v).__name__)}")
    if not (v.shape[0] == n or (allow_one and v.shape[0] == 1)):
        raise ValueError(f"{what}: {name} must have shape ({n},)"
                         f"{' or (1,)' if allow_one else ''}, got {v.shape}")


def check_linear(a: np.ndarray, a_scale: np.ndarray, a_zp: np.ndarray, w: np.ndarray,
                 w_scale: np.ndarray, w_colsum: np.ndarray, bias: np.ndarray | None,
                 out_dtype: str, out_scale: float, out_zp: int) -> None:
    what = "int8_linear"
    check_gemm(a, w, what)
    M, N = a.shape[0], w.shape[0]
    _vector(a_scale, "a_scale", M, True, "f", what)
    _vector(a_zp, "a_zp", M, True, "i", what)
    _vector(w_scale, "w_scale", N, False, "f", what)
    _vector(w_colsum, "w_colsum", N, False, "i", what)
    if bias is not None:
        _vector(bias, "bias", N, False, "f", what)
    if out_dtype not in ("float32", "int8", "uint8"):
        raise ValueError(f"{what}: out_dtype must be 'float32', 'int8' or 'uint8', got "
                         f"{out_dtype!r}")
    if out_dtype != "float32":
        if not (np.isfinite(out_scale) and out_scale > 0):
            raise ValueError(f"{what}: out_scale must be positive and finite, got {out_scale}")
        lo, hi = code_range(out_dtype, False)
        if not lo <= out_zp <= hi:
            raise ValueError(f"{what}: out_zp {out_zp} is out of range for {out_dtype}")


def check_rows(x: np.ndarray, dtype: str, what: str) -> None:
    code_range(dtype, False)
    if x.ndim != 2:
        raise ValueError(f"{what}: x must be 2-D (M, K), got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{what}: x must be a floating-point array, got {x.dtype}")


def check_im2col(x: np.ndarray, scale: float, zero_point: int, dtype: str, kernel_hw,
                 stride, padding, dilation) -> spatial_shapes.ConvGeometry:
    """quantize_im2col's arguments; the geometry with F = 1 (the weights are not needed)."""
    what = "quantize_im2col"
    lo, hi = code_range(dtype, False)
    if not isinstance(x, np.ndarray) or x.ndim != 4:
        raise ValueError(f"{what}: x must be 4-D (N, C, H, W), got shape "
                         f"{getattr(x, 'shape', None)}")
    if x.dtype.kind != "f":
        raise TypeError(f"{what}: x must be a floating-point array, got {x.dtype}")
    s32 = np.float32(scale)
    if not (np.isfinite(scale) and scale > 0 and np.isfinite(s32) and s32 > 0):
        raise ValueError(f"{what}: scale must be positive and finite in float32, got {scale}")
    if isinstance(zero_point, bool) or not isinstance(zero_point, (int, np.integer)):
        raise TypeError(f"{what}: zero_point must be an int, got {zero_point!r}")
    if not lo <= int(zero_point) <= hi:
        raise ValueError(f"{what}: zero_point {zero_point} is out of range for {dtype}")
    KH, KW = spatial_shapes.pair(kernel_hw, "kernel_size")
    return spatial_shapes.conv2d_geometry(x.shape, (1, x.shape[1], KH, KW), stride, padding,
                                          dilation, what)


def check_qconv2d(x: np.ndarray, a_scale: float, a_zp: int, w: np.ndarray,
                  w_scale: np.ndarray, w_colsum: np.ndarray, bias: np.ndarray | None,
                  kernel_hw, stride, padding, dilation) -> spatial_shapes.ConvGeometry:
    """quantized_conv2d's arguments (x and the activation qparams as quantize_im2col's)."""
    what = "quantized_conv2d"
    g = check_im2col(x, a_scale, a_zp, "uint8", kernel_hw, stride, padding, dilation)
    if not isinstance(w, np.ndarray) or w.dtype != np.int8 or w.ndim != 2:
        raise TypeError(f"{what}: w must be a 2-D int8 array (F, KH*KW*C), got "
                        f"{getattr(w, 'dtype', type(w).__name__)} of shape "
                        f"{getattr(w, 'shape', None)}")
    K = g.KH * g.KW * g.C
    if w.shape[1] != K:
        raise ValueError(f"{what}: w has shape {w.shape} but a {g.KH}x{g.KW} kernel over "
                         f"{g.C} channels needs (F, {K})")
    F = w.shape[0]
    _vector(w_scale, "w_scale", F, False, "f", what)
    _vector(w_colsum, "w_colsum", F, False, "i", what)
    if bias is not None:
        _vector(bias, "bias", F, False, "f", what)
    return dataclasses.replace(g, F=F)
