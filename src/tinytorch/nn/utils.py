"""Module 07: gradient clipping -- keep one bad batch from wrecking the weights.

``clip_grad_norm_`` rescales all gradients together so their joint norm is at
most ``max_norm`` (the direction is kept, only the length shrinks);
``clip_grad_value_`` clamps each element. Both work in place on ``p.grad``,
between ``loss.backward()`` and ``optimizer.step()``. Semantics follow
``torch.nn.utils``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from tinytorch.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _with_grads(parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    params = list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"expected Tensors (parameters), got a {type(p).__name__}")
    return [p for p in params if p.grad is not None]


def _vector_norm(x: np.ndarray, norm_type: float) -> np.ndarray:
    """||x||_p over all elements, as a 0-d array of x's dtype.

    Accumulates in float64 and rounds once: a float32 sum over millions of
    squared gradients would otherwise lose digits.
    """
    a = np.abs(x.astype(np.float64, copy=False)).ravel()
    if norm_type == math.inf:
        value = a.max(initial=0.0)
    elif norm_type == -math.inf:
        value = a.min(initial=math.inf) if a.size else math.inf
    elif norm_type == 2:
        value = math.sqrt(float(np.dot(a, a)))
    elif norm_type == 1:
        value = float(a.sum())
    else:
        value = float(np.sum(a ** norm_type)) ** (1.0 / norm_type)
    return np.asarray(value, dtype=x.dtype)


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale the gradients of ``parameters`` in place so that their total norm is at most
    ``max_norm``; returns the total norm *before* clipping as a 0-d Tensor.

    The total norm is the norm of the per-parameter norms (= the norm of all gradients
    concatenated). ``norm_type`` is p > 0 or ``inf`` (largest absolute element).
    Like PyTorch, every gradient is multiplied by ``min(1, max_norm / (total + 1e-6))``.
    """
    norm_type = float(norm_type)
    if not (norm_type > 0 or math.isinf(norm_type)):
        raise ValueError(f"norm_type must be a positive number or inf, got {norm_type}")
    if max_norm < 0:
        raise ValueError(f"max_norm must be >= 0, got {max_norm}")
    params = _with_grads(parameters)
    if not params:
        return Tensor(0.0)
    dtype = np.result_type(*(p.grad.data.dtype for p in params))
    norms = np.stack([_vector_norm(p.grad.data, norm_type) for p in params]).astype(dtype)
    total = _vector_norm(norms, norm_type)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"the total norm of order {norm_type} of the gradients is "
                           f"{float(total)}, so they cannot be clipped; set "
                           "error_if_nonfinite=False to clip anyway")
    # the 1e-6 keeps the division finite for all-zero gradients; in the grads' dtype,
    # as PyTorch computes it
    coef = np.minimum(np.asarray(max_norm, dtype) / (total + np.asarray(1e-6, dtype)),
                      np.asarray(1.0, dtype))
    for p in params:
        p.grad.data *= coef.astype(p.grad.data.dtype)
    return Tensor(total)


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float) -> None:
    """Clamp every gradient element of ``parameters`` to ``[-clip_value, clip_value]``,
    in place."""
    if clip_value < 0:
        raise ValueError(f"clip_value must be >= 0, got {clip_value}")
    for p in _with_grads(parameters):
        np.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)
