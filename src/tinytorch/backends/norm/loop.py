"""``norm`` as plain Python loops: the executable specification (Module 14)."""

from __future__ import annotations

import math

import numpy as np


def layer_norm(x: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None,
               eps: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalise every row of x: (M, D) to mean 0 and variance 1, then scale and shift."""
    M, D = x.shape
    X = x.tolist()
    Wt = weight.tolist() if weight is not None else [1.0] * D
    Bs = bias.tolist() if bias is not None else [0.0] * D
    Y, means, rstds = [], [], []
    # BEGIN SOLUTION 14
    for row in X:
        mean = sum(row) / D if D else math.nan
        var = sum((v - mean) ** 2 for v in row) / D if D else math.nan
        rstd = 1.0 / math.sqrt(var + eps)
        Y.append([(v - mean) * rstd * w + b for v, w, b in zip(row, Wt, Bs, strict=True)])
        means.append(mean)
        rstds.append(rstd)
    # END SOLUTION
    dtype = x.dtype
    return (np.array(Y, dtype=dtype).reshape(M, D), np.array(means, dtype=dtype).reshape(M),
            np.array(rstds, dtype=dtype).reshape(M))


def layer_norm_backward(grad_y: np.ndarray, x: np.ndarray, weight: np.ndarray | None,
                        mean: np.ndarray, rstd: np.ndarray
                        ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """The gradients of layer_norm (formulas in the interface), one row at a time."""
    M, D = x.shape
    G, X, mu, rs = grad_y.tolist(), x.tolist(), mean.tolist(), rstd.tolist()
    Wt = weight.tolist() if weight is not None else [1.0] * D
    grad_x = []
    grad_w, grad_b = [0.0] * D, [0.0] * D
    # BEGIN SOLUTION 14
    for m in range(M):
        xhat = [(v - mu[m]) * rs[m] for v in X[m]]
        g = [gy * w for gy, w in zip(G[m], Wt, strict=True)]
        mean_g = sum(g) / D
        mean_gx = sum(a * b for a, b in zip(g, xhat, strict=True)) / D
        grad_x.append([rs[m] * (g[d] - mean_g - xhat[d] * mean_gx) for d in range(D)])
        for d in range(D):
            grad_b[d] += G[m][d]
            grad_w[d] += G[m][d] * xhat[d]
    # END SOLUTION
    dtype = grad_y.dtype
    gx = np.array(grad_x, dtype=dtype).reshape(M, D)
    if weight is None:
        return gx, None, None
    return gx, np.array(grad_w, dtype=dtype), np.array(grad_b, dtype=dtype)
