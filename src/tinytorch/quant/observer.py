"""Module 17: observers watch the values a tensor takes and choose scale and zero point.

Same names and arithmetic as ``torch.ao.quantization`` (float32 throughout)::

    min_neg = min(min_val, 0), max_pos = max(max_val, 0)   # 0.0 must be exact
    affine:     scale = (max_pos - min_neg) / (qmax - qmin)
                zero_point = qmin - round(min_neg / scale)
    symmetric:  scale = max(-min_neg, max_pos) / ((qmax - qmin) / 2)
                zero_point = 0 (int8) or 128 (uint8)
    scale = max(scale, eps)     # a constant tensor still gets a usable scale

``MinMaxObserver`` keeps the running extremes, ``MovingAverageMinMaxObserver`` an
exponential moving average of each batch's extremes, ``PerChannelMinMaxObserver``
extremes per output channel (weights), and ``PercentileObserver`` clips the outliers:
it tracks the p-th percentile of the values (averaged over batches), so one huge
activation does not stretch the scale for everything else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from tinytorch.quant.functional import qrange, resolve_dtype

__all__ = ["MinMaxObserver", "MovingAverageMinMaxObserver", "ObserverBase",
           "PerChannelMinMaxObserver", "PercentileObserver", "calculate_qparams"]

_EPS = np.finfo(np.float32).eps
_SCHEMES = ("per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
            "per_channel_symmetric")


def calculate_qparams(min_val: Any, max_val: Any, dtype: Any, symmetric: bool,
                      reduce_range: bool = False, eps: float = float(_EPS)
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Scale(s) (float32) and zero point(s) (int64) from observed extremes."""
    d = resolve_dtype(dtype)
    qmin, qmax = qrange(d, reduce_range)
    lo = np.asarray(min_val, dtype=np.float32)
    hi = np.asarray(max_val, dtype=np.float32)
    if np.any(lo > hi):
        raise ValueError(f"calculate_qparams: min_val {lo} is greater than max_val {hi}")
    # BEGIN SOLUTION 17
    min_neg = np.minimum(lo, np.float32(0))
    max_pos = np.maximum(hi, np.float32(0))
    if symmetric:
        max_pos = np.maximum(-min_neg, max_pos)
        scale = max_pos / np.float32((qmax - qmin) / 2)
        scale = np.maximum(scale, np.float32(eps))
        zp = np.full(scale.shape, (qmin + qmax + 1) // 2 if d == np.uint8 else 0,
                     dtype=np.int64)
    else:
        scale = (max_pos - min_neg) / np.float32(qmax - qmin)
        scale = np.maximum(scale, np.float32(eps))
        zp = qmin - np.rint(min_neg / scale).astype(np.int64)
        zp = np.clip(zp, qmin, qmax)  # min_neg <= 0 keeps it in range; float slack only
    # END SOLUTION
    return scale.astype(np.float32), zp.astype(np.int64)


class ObserverBase(ABC):
    """Call it on every batch (it returns its input unchanged); then ``calculate_qparams()``."""

    def __init__(self, dtype: Any = "quint8", qscheme: str = "per_tensor_affine",
                 reduce_range: bool = False) -> None:
        if qscheme not in _SCHEMES:
            raise ValueError(f"unknown qscheme {qscheme!r}; valid: {', '.join(_SCHEMES)}")
        self.dtype = resolve_dtype(dtype)
        self.qscheme = qscheme
        self.reduce_range = reduce_range
        self.min_val: np.ndarray | None = None
        self.max_val: np.ndarray | None = None

    @property
    def symmetric(self) -> bool:
        return self.qscheme.endswith("symmetric")

    def _extremes(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x.min(), x.max()

    @abstractmethod
    def _update(self, lo: np.ndarray, hi: np.ndarray) -> None:
        """How a batch's extremes ``lo``/``hi`` change ``min_val`` and ``max_val``."""

    def __call__(self, x: Any) -> Any:
        a = np.asarray(getattr(x, "data", x), dtype=np.float32)
        if a.size == 0:
            return x
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{type(self).__name__}: observed a NaN or infinite value")
        lo, hi = self._extremes(a)
        self._update(np.asarray(lo, np.float32), np.asarray(hi, np.float32))
        return x

    forward = __call__

    def calculate_qparams(self) -> tuple[np.ndarray, np.ndarray]:
        if self.min_val is None or self.max_val is None:
            raise RuntimeError(f"{type(self).__name__}: no values observed yet; run calibration "
                               "batches through the model first")
        return calculate_qparams(self.min_val, self.max_val, self.dtype, self.symmetric,
                                 self.reduce_range)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(dtype={self.dtype}, qscheme={self.qscheme}, "
                f"min_val={self.min_val}, max_val={self.max_val})")


class MinMaxObserver(ObserverBase):
    """The running minimum and maximum of everything observed."""

    def _update(self, lo: np.ndarray, hi: np.ndarray) -> None:
        # BEGIN SOLUTION 17
        if self.min_val is None:  # the first batch sets the range
            self.min_val = lo
            self.max_val = hi
        else:
            self.min_val = np.minimum(self.min_val, lo)
            self.max_val = np.maximum(self.max_val, hi)
        # END SOLUTION


class MovingAverageMinMaxObserver(ObserverBase):
    """min_val += c * (batch_min - min_val) (same for max); the first batch sets them."""

    def __init__(self, averaging_constant: float = 0.01, dtype: Any = "quint8",
                 qscheme: str = "per_tensor_affine", reduce_range: bool = False) -> None:
        super().__init__(dtype, qscheme, reduce_range)
        if not 0 < averaging_constant <= 1:
            raise ValueError(f"averaging_constant must be in (0, 1], got {averaging_constant}")
        self.averaging_constant = np.float32(averaging_constant)

    def _update(self, lo: np.ndarray, hi: np.ndarray) -> None:
        # BEGIN SOLUTION 17
        if self.min_val is None:  # the first batch sets the range
            self.min_val = lo
            self.max_val = hi
        else:
            c = self.averaging_constant
            self.min_val = self.min_val + c * (lo - self.min_val)
            self.max_val = self.max_val + c * (hi - self.max_val)
        # END SOLUTION


class PerChannelMinMaxObserver(MinMaxObserver):
    """Extremes per slice along ``ch_axis`` (weights: one scale per output channel)."""

    def __init__(self, ch_axis: int = 0, dtype: Any = "qint8",
                 qscheme: str = "per_channel_symmetric", reduce_range: bool = False) -> None:
        super().__init__(dtype, qscheme, reduce_range)
        self.ch_axis = ch_axis

    def _extremes(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        flat = np.moveaxis(x, self.ch_axis, 0).reshape(x.shape[self.ch_axis], -1)
        return flat.min(axis=1), flat.max(axis=1)


class PercentileObserver(ObserverBase):
    """Clip outliers: the ``percentile``-th and (100 - percentile)-th percentiles of each
    batch, averaged over batches, instead of the absolute extremes."""

    def __init__(self, percentile: float = 99.99, dtype: Any = "quint8",
                 qscheme: str = "per_tensor_affine", reduce_range: bool = False) -> None:
        super().__init__(dtype, qscheme, reduce_range)
        if not 50 < percentile <= 100:
            raise ValueError(f"percentile must be in (50, 100], got {percentile}")
        self.percentile = percentile
        self.batches = 0

    def _extremes(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = np.percentile(x, [100 - self.percentile, self.percentile])
        return lo, hi

    def _update(self, lo: np.ndarray, hi: np.ndarray) -> None:
        self.batches += 1
        if self.min_val is None or self.max_val is None:
            self.min_val, self.max_val = lo, hi
        else:  # the running mean of the batch percentiles
            w = np.float32(1.0 / self.batches)
            self.min_val = self.min_val + w * (lo - self.min_val)
            self.max_val = self.max_val + w * (hi - self.max_val)
