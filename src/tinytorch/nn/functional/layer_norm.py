"""Module 14 Transformers: layer normalisation as ONE Function over the ``norm`` kernels.

BatchNorm (Module 08) normalises each feature over the batch; a language model
cannot: its batch mixes positions and sequences of different lengths, and at
generation time the "batch" is one token. LayerNorm normalises each position's
own feature vector instead -- statistics over the last dims, per row::

    y = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias      (biased var, as PyTorch)

so a token's output never depends on its neighbours in the batch. The Function
flattens ``x: (*, *normalized_shape)`` to rows (M, D) once, calls the current
backend's ``layer_norm`` (which returns 2 numbers per row for backward: mean
and 1/std) and ``layer_norm_backward``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tinytorch import backends
from tinytorch.autograd import Function
from tinytorch.tensor import Tensor

__all__ = ["layer_norm", "normalized_shape_tuple"]


def normalized_shape_tuple(normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    """``5`` -> ``(5,)``; a sequence of positive ints stays (as a tuple)."""
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) \
        else tuple(normalized_shape)
    if not shape or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1
                        for n in shape):
        raise ValueError(f"layer_norm: normalized_shape must be a positive int or a non-empty "
                         f"sequence of them, got {normalized_shape!r}")
    return tuple(int(n) for n in shape)


class LayerNormFunction(Function):
    """x: (*, *normalized_shape), weight, bias: normalized_shape or None -> y like x.

    Saves the rows x (M, D), mean and rstd (M,): the backward kernel rebuilds
    xhat = (x - mean) * rstd from them instead of keeping a second (M, D) array.
    """

    def forward(self, x, weight, bias, normalized_shape=(), eps=1e-5):
        # BEGIN SOLUTION 14
        D = math.prod(normalized_shape)
        self.shape, self.normalized_shape = x.shape, normalized_shape
        self.x = x.reshape(-1, D)
        self.weight = None if weight is None else weight.reshape(D)
        self.has_bias = bias is not None
        y, self.mean, self.rstd = backends.current().layer_norm(
            self.x, self.weight, None if bias is None else bias.reshape(D), eps)
        return y.reshape(self.shape)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 14
        grad_rows = grad.reshape(self.x.shape)
        grad_x, grad_w, grad_b = backends.current().layer_norm_backward(
            grad_rows, self.x, self.weight, self.mean, self.rstd)
        if self.weight is None and self.has_bias:  # the kernel sums grad_bias only with a weight
            grad_b = grad_rows.sum(axis=0)
        if not self.has_bias:
            grad_b = None
        shape = self.normalized_shape
        return (grad_x.reshape(self.shape), None if grad_w is None else grad_w.reshape(shape),
                None if grad_b is None else grad_b.reshape(shape))
        # END SOLUTION


def layer_norm(input: Tensor, normalized_shape: int | Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalise over the last ``len(normalized_shape)`` dims of input (*, *normalized_shape);
    ``weight``/``bias`` (normalized_shape) scale and shift. As ``torch.nn.functional.layer_norm``.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"layer_norm: input must be a Tensor, got {type(input).__name__}")
    shape = normalized_shape_tuple(normalized_shape)
    if input.shape[input.ndim - len(shape):] != shape or input.ndim < len(shape):
        raise ValueError(f"layer_norm: input of shape {tuple(input.shape)} does not end in "
                         f"normalized_shape {shape}")
    if input.dtype.kind != "f":
        raise TypeError(f"layer_norm: input must be floating point, got dtype {input.dtype}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"layer_norm: {name} must have shape normalized_shape {shape}, "
                             f"got {tuple(t.shape)}")
    if eps <= 0:
        raise ValueError(f"layer_norm: eps must be > 0, got {eps}")
    return LayerNormFunction.apply(input, weight, bias, normalized_shape=shape, eps=float(eps))
