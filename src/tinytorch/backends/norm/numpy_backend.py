"""``norm`` vectorised: the row loop becomes reductions along the last axis."""

from __future__ import annotations

import numpy as np


def layer_norm(x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
               eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x: (M, D) -> (y, mean: (M,), rstd: (M,))."""
    mean = x.mean(axis=1)
    centered = x - mean[:, None]
    var = np.mean(centered * centered, axis=1)
    rstd = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
    y = centered * rstd[:, None]
    if weight is not None:
        y *= weight
    if bias is not None:
        y += bias
    return y, mean, rstd


def layer_norm_backward(grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray | None,
                        mean: np.ndarray, rstd: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """grad_y, x: (M, D) -> (grad_x, grad_weight, grad_bias)."""
    xhat = (x - mean[:, None]) * rstd[:, None]
    g = grad_y if weight is None else grad_y * weight
    mean_g = g.mean(axis=1, keepdims=True)
    mean_gx = np.mean(g * xhat, axis=1, keepdims=True)
    grad_x = rstd[:, None] * (g - mean_g - xhat * mean_gx)
    if weight is None:
        return grad_x, None, None
    return grad_x, np.sum(grad_y * xhat, axis=0), np.sum(grad_y, axis=0)
