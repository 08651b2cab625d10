"""Module 04 Layers, stateless forms: ``linear`` and ``dropout``.

The layer classes in ``tinytorch.nn`` hold parameters and call these.
"""

from __future__ import annotations

import numpy as np

from tinytorch.autograd import Function
from tinytorch.random import default_generator
from tinytorch.tensor import Tensor

__all__ = ["dropout", "linear"]


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x @ weight.T + bias.

    x: (*, in_features), weight: (out_features, in_features), bias: (out_features,)
    -> y: (*, out_features). The matmul goes through the current backend; the
    leading dims (*) fold into one large GEMM (see ``ops.linalg.batched_matmul``).
    """
    if x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: expected input of shape (*, {weight.shape[-1]}) "
                         f"(in_features={weight.shape[-1]} for a weight of shape "
                         f"{tuple(weight.shape)}), got input of shape {tuple(x.shape)}")
    out = x @ weight.T
    return out if bias is None else out + bias


class Dropout(Function):
    """Zero each element with probability p and scale survivors by 1 / (1 - p).

    The scaling keeps E[output] = input, so evaluation (no dropout) needs no
    correction. The mask is kept as bool (1 byte per element, not 4): it is
    activation memory that lives until backward.
    """

    def forward(self, x, p=0.5):
        self.keep = default_generator().random(np.shape(x), dtype=np.float32) >= p
        self.scale = 1.0 / (1.0 - p)
        # multiplying by the bool mask streams; np.where over a random mask is ~10x slower
        return np.multiply(x, self.keep) * self.scale

    def backward(self, grad):
        return (np.multiply(grad, self.keep) * self.scale,)


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Dropout on any shape; the identity when ``training`` is False or p == 0."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
    if not training or p == 0.0:
        return x
    if p == 1.0:  # everything dropped: zeros, and zero gradient
        return x * 0.0
    return Dropout.apply(x, p=float(p))
