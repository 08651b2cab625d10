"""The contract of the ``norm`` family, and its FLOP counts.

Rows are what is normalised: ``F.layer_norm`` flattens ``x: (*, *normalized_shape)``
into ``(M, D)`` with D = prod(normalized_shape) before calling a kernel.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class NormKernels(Protocol):
    def layer_norm(self, x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
                   eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x: (M, D), weight, bias: (D,) or None -> (y: (M, D), mean: (M,), rstd: (M,))::

            for m in M:
                mean[m] = sum(x[m, :]) / D
                var     = sum((x[m, :] - mean[m])**2) / D          # biased, as PyTorch
                rstd[m] = 1 / sqrt(var + eps)
                y[m, d] = (x[m, d] - mean[m]) * rstd[m] * weight[d] + bias[d]

        mean and rstd are what the backward needs (2 numbers per row instead of the row).
        """
        ...

    def layer_norm_backward(self, grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray | None,
                            mean: np.ndarray, rstd: np.ndarray
                            ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
        """grad_y, x: (M, D) -> (grad_x: (M, D), grad_weight: (D,), grad_bias: (D,));
        the last two are None when ``weight`` is None. With xhat = (x - mean) * rstd and
        g = grad_y * weight::

            grad_bias[d]   = sum over m of grad_y[m, d]
            grad_weight[d] = sum over m of grad_y[m, d] * xhat[m, d]
            grad_x[m, d]   = rstd[m] * (g[m, d] - mean(g[m, :])
                                        - xhat[m, d] * mean(g[m, :] * xhat[m, :]))
        """
        ...


def layer_norm_flops(M: int, D: int) -> int:
    """Forward: per element a subtract, a square-add (variance), a multiply by rstd,
    a multiply by weight and an add of bias: 5 M D (+ one sqrt per row, not counted)."""
    return 5 * M * D
