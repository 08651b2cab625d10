"""Module 04 Layers, stateless forms: ``linear`` and ``dropout``.

The layer classes in ``tinytorch.nn`` hold parameters and call these.
"""

from __future__ import annotations

import numpy as np

from tinytorch import backends
from tinytorch.autograd import Function
from tinytorch.random import default_generator
from tinytorch.tensor import Tensor

__all__ = ["dropout", "linear"]


class Linear(Function):
    """y = x @ weight.T + bias as ONE op (PyTorch's addmm), not three (transpose, matmul, add).

    x: (*, in), weight: (out, in), bias: (out,) or None -> y: (*, out). The leading dims
    fold into a single (rows, in) @ (in, out) GEMM on the current backend, which reads
    ``weight.T`` in place (a transposed view, no copy). One node instead of three is
    also three times less framework overhead per layer -- what small models pay for.

    Backward, with g = grad as (rows, out) and x as (rows, in)::

        grad_x = g @ weight          grad_weight = g^T @ x          grad_bias = sum of g's rows
    """

    def forward(self, x, weight, bias=None):
        kernels = backends.current()
        self.x_shape = x.shape
        rows = x.reshape(-1, x.shape[-1])
        self.rows, self.weight = rows, weight
        # BEGIN SOLUTION 04
        out = kernels.matmul(rows, weight.T)
        if bias is not None:  # in place on the fresh product, unless the dtypes differ
            if bias.dtype == out.dtype:
                out += bias
            else:
                out = out + bias
        # END SOLUTION
        return out.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, grad):
        kernels = backends.current()
        want_x, want_w, want_b = self.needs_input_grad
        grad_x = grad_w = grad_b = None
        # BEGIN SOLUTION 06
        g = grad.reshape(-1, grad.shape[-1])
        if want_x:
            grad_x = kernels.matmul(g, self.weight).reshape(self.x_shape)
        if want_w:
            grad_w = kernels.matmul(g.T, self.rows)
        if want_b:
            grad_b = g.sum(axis=0)
        # END SOLUTION
        return grad_x, grad_w, grad_b


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x @ weight.T + bias.

    x: (*, in_features), weight: (out_features, in_features), bias: (out_features,)
    -> y: (*, out_features).
    """
    if x.ndim == 0 or x.shape[-1] != weight.shape[-1]:
        raise ValueError(f"linear: expected input of shape (*, {weight.shape[-1]}) "
                         f"(in_features={weight.shape[-1]} for a weight of shape "
                         f"{tuple(weight.shape)}), got input of shape {tuple(x.shape)}")
    if weight.ndim != 2 or (bias is not None and tuple(bias.shape) != (weight.shape[0],)):
        raise ValueError(f"linear: weight must be 2-D (out, in) and bias (out,), got shapes "
                         f"{tuple(weight.shape)} and "
                         f"{None if bias is None else tuple(bias.shape)}")
    return Linear.apply(x, weight, bias)


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
