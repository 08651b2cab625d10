"""Module 17 Precision: quantize and dequantize, with PyTorch's exact semantics.

An affine quantization maps a real number x to an integer code::

    q = clamp(round_half_to_even(x * (1 / scale) + zero_point), qmin, qmax)
    x_hat = (q - zero_point) * scale

computed as PyTorch's CPU kernels do it, which decides the ties: ``1 / scale`` in
float32 (a multiply by the inverse, not a division), the zero point added *before*
rounding (so 2.5 + 1 rounds to 4, not 2 + 1 = 3), and per tensor in one fused
multiply-add (one rounding), per channel as a float32 product then an add. ``int8`` codes
span [-128, 127], ``uint8`` codes [0, 255]. Symmetric quantization is the special
case zero_point = 0 (int8) or 128 (uint8). Per-channel quantization gives every slice
along ``axis`` its own scale and zero point (weights: one per output channel).

Codes are never reinterpreted through a clamped zero point: a zero point outside the
code range is an error (clamping it would silently move every value).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["QTensor", "dequantize", "qrange", "quantize_per_channel", "quantize_per_tensor",
           "resolve_dtype"]

_DTYPES = {"int8": np.dtype(np.int8), "qint8": np.dtype(np.int8),
           "uint8": np.dtype(np.uint8), "quint8": np.dtype(np.uint8)}


def resolve_dtype(dtype: Any) -> np.dtype:
    """'int8' / 'qint8' / np.int8 -> int8; 'uint8' / 'quint8' / np.uint8 -> uint8."""
    if isinstance(dtype, str):
        if dtype in _DTYPES:
            return _DTYPES[dtype]
    else:
        try:
            d = np.dtype(dtype)
        except TypeError:
            d = None
        if d is not None and d in (np.dtype(np.int8), np.dtype(np.uint8)):
            return d
        name = getattr(dtype, "__str__", lambda: "")()
        if name.startswith("torch.q"):  # torch.qint8 / torch.quint8 given by a curious student
            return resolve_dtype(name[len("torch."):])
    raise TypeError(f"quantized dtype must be int8 or uint8 ('qint8', 'quint8', numpy.int8, "
                    f"numpy.uint8), got {dtype!r}")


def qrange(dtype: Any, reduce_range: bool = False) -> tuple[int, int]:
    """The code range of ``dtype``: int8 -> (-128, 127), uint8 -> (0, 255); reduce_range
    drops one bit (-64..63, 0..127), as PyTorch's x86 activations do."""
    d = resolve_dtype(dtype)
    info = np.iinfo(d)
    lo, hi = int(info.min), int(info.max)
    if reduce_range:
        lo, hi = (0, 127) if lo == 0 else (-64, 63)
    return lo, hi


def _as_array(x: Any, what: str) -> np.ndarray:
    data = getattr(x, "data", x) if not isinstance(x, np.ndarray) else x
    a = np.asarray(data)
    if a.dtype.kind != "f":
        raise TypeError(f"{what}: x must be a floating-point tensor, got dtype {a.dtype}")
    return a.astype(np.float32, copy=False)


def _check_scale(scale: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise ValueError(f"{what}: scale must be positive and finite, got {scale}")


def _check_zero_point(zp: np.ndarray, dtype: np.dtype, what: str) -> None:
    lo, hi = qrange(dtype)
    if np.any(zp < lo) or np.any(zp > hi):
        raise ValueError(f"{what}: zero_point {zp} is out of range [{lo}, {hi}] for {dtype}")


def _quantize(x: np.ndarray, scale: np.ndarray, zero_point: np.ndarray, dtype: np.dtype,
              fused: bool) -> np.ndarray:
    """The codes; ``fused``: round(fma(x, 1/scale, zp)) (PyTorch per tensor, one rounding of
    x/scale + zp), else round(float32(x * (1/scale)) + zp) (PyTorch per channel)."""
    lo, hi = qrange(dtype)
    # BEGIN SOLUTION 17
    inv_scale = np.float32(1.0) / scale.astype(np.float32)   # float32, like PyTorch's CPU
    zp = zero_point.astype(np.float32)
    if fused:  # a float32 x float32 product is exact in float64: one rounding, as an FMA
        v = (x.astype(np.float64) * inv_scale + zp).astype(np.float32)
    else:
        v = x * inv_scale + zp
    v = np.rint(v)                          # half to even
    v = np.nan_to_num(v, nan=float(hi) if fused else 0.0)
    q = np.clip(v, lo, hi)
    # END SOLUTION
    return q.astype(dtype)


class QTensor:
    """A quantized tensor: integer codes plus the scale(s) and zero point(s) that give
    them meaning. ``int_repr()`` is the codes, ``dequantize()`` the real values."""

    def __init__(self, codes: np.ndarray, scale: np.ndarray, zero_point: np.ndarray,
                 axis: int | None = None) -> None:
        self._codes = codes
        self._scale = np.asarray(scale, dtype=np.float64)
        self._zero_point = np.asarray(zero_point, dtype=np.int64)
        self.axis = axis

    @property
    def dtype(self) -> np.dtype:
        return self._codes.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self._codes.shape

    @property
    def qscheme(self) -> str:
        return "per_tensor_affine" if self.axis is None else "per_channel_affine"

    def int_repr(self) -> np.ndarray:
        return self._codes

    def q_scale(self) -> float:
        self._per_tensor("q_scale")
        return float(self._scale)

    def q_zero_point(self) -> int:
        self._per_tensor("q_zero_point")
        return int(self._zero_point)

    def q_per_channel_scales(self) -> np.ndarray:
        return self._per_channel("q_per_channel_scales", self._scale)

    def q_per_channel_zero_points(self) -> np.ndarray:
        return self._per_channel("q_per_channel_zero_points", self._zero_point)

    def q_per_channel_axis(self) -> int:
        self._per_channel("q_per_channel_axis", self._scale)
        return int(self.axis)  # type: ignore[arg-type]

    def _per_tensor(self, what: str) -> None:
        if self.axis is not None:
            raise RuntimeError(f"{what}: this tensor is quantized per channel (axis "
                               f"{self.axis}); use q_per_channel_scales()")

    def _per_channel(self, what: str, value: np.ndarray) -> np.ndarray:
        if self.axis is None:
            raise RuntimeError(f"{what}: this tensor is quantized per tensor; use q_scale()")
        return value

    def dequantize(self) -> np.ndarray:
        return dequantize(self)

    @property
    def nbytes(self) -> int:
        return int(self._codes.nbytes + self._scale.size * 4 + self._zero_point.size * 4)

    def __repr__(self) -> str:
        if self.axis is None:
            q = f"scale={self.q_scale():.6g}, zero_point={self.q_zero_point()}"
        else:
            q = f"axis={self.axis}, {self._scale.size} scales"
        return f"QTensor(shape={self.shape}, dtype={self.dtype}, {q})"


def quantize_per_tensor(x: Any, scale: float, zero_point: int, dtype: Any) -> QTensor:
    """One scale and zero point for the whole tensor (``torch.quantize_per_tensor``)."""
    what = "quantize_per_tensor"
    d = resolve_dtype(dtype)
    a = _as_array(x, what)
    s = np.asarray(scale, dtype=np.float64)
    z = np.asarray(zero_point)
    if s.ndim or z.ndim:
        raise ValueError(f"{what}: scale and zero_point must be scalars; for one per channel "
                         f"use quantize_per_channel")
    if z.dtype.kind not in "iu":
        raise TypeError(f"{what}: zero_point must be an int, got {zero_point!r}")
    _check_scale(s, what)
    _check_zero_point(z, d, what)
    return QTensor(_quantize(a, s, z.astype(np.int64), d, True), s, z.astype(np.int64))


def quantize_per_channel(x: Any, scales: Any, zero_points: Any, axis: int, dtype: Any
                         ) -> QTensor:
    """One scale and zero point per slice along ``axis`` (``torch.quantize_per_channel``)."""
    what = "quantize_per_channel"
    d = resolve_dtype(dtype)
    a = _as_array(x, what)
    if not -a.ndim <= axis < a.ndim:
        raise ValueError(f"{what}: axis {axis} is out of range for a {a.ndim}-D tensor")
    axis %= a.ndim
    s = np.asarray(getattr(scales, "data", scales), dtype=np.float64).reshape(-1)
    z = np.asarray(getattr(zero_points, "data", zero_points)).reshape(-1)
    if s.size != a.shape[axis] or z.size != a.shape[axis]:
        raise ValueError(f"{what}: need {a.shape[axis]} scales and zero points (x.shape[{axis}]"
                         f"), got {s.size} and {z.size}")
    if z.dtype.kind not in "iu":
        raise TypeError(f"{what}: zero_points must be integers, got dtype {z.dtype}")
    _check_scale(s, what)
    _check_zero_point(z, d, what)
    shape = [1] * a.ndim
    shape[axis] = -1
    codes = _quantize(a, s.reshape(shape), z.astype(np.int64).reshape(shape), d, False)
    return QTensor(codes, s, z.astype(np.int64), axis)


def dequantize(q: QTensor) -> np.ndarray:
    """x_hat = (q - zero_point) * scale as float32 (``Tensor.dequantize``)."""
    if not isinstance(q, QTensor):
        raise TypeError(f"dequantize: expected a QTensor, got {type(q).__name__}")
    codes = q.int_repr()
    scale, zp = q._scale, q._zero_point
    if q.axis is not None:
        shape = [1] * codes.ndim
        shape[q.axis] = -1
        scale, zp = scale.reshape(shape), zp.reshape(shape)
    # BEGIN SOLUTION 17
    centered = codes.astype(np.int32) - zp.astype(np.int32)
    if q.axis is None:   # PyTorch: float32 arithmetic per tensor,
        out = centered.astype(np.float32) * np.float32(scale)
    else:                # float64 scales per channel, rounded once at the end
        out = centered * scale
    # END SOLUTION
    return out.astype(np.float32, copy=False)
