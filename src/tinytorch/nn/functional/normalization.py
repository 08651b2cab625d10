"""Module 08 Spatial: batch normalisation as ONE fused autograd Function.

Written as a chain of small ops (mean, subtract, square, mean, add, sqrt,
divide, multiply, add) batch norm would record ~10 graph nodes, each saving a
full-size activation for backward. The fused Function saves two arrays
(x_hat and 1/std) and its backward is the closed form below, a few passes
over memory instead of a dozen.

Shapes: input (N, C) or (N, C, *) with statistics per channel C, taken over
every other axis (M = N * prod(*) values per channel).
"""

from __future__ import annotations

import numpy as np

from tinytorch.autograd import Function
from tinytorch.tensor import Tensor

__all__ = ["batch_norm"]


class BatchNormFunction(Function):
    """y = weight[c] * (x - mean[c]) / sqrt(var[c] + eps) + bias[c].

    Training: mean and the *biased* var (divide by M) of this batch; running
    stats are updated in place with the *unbiased* var (divide by M - 1),
    exactly like PyTorch. Evaluation: the running stats, so the output of one
    sample does not depend on the rest of the batch.

    Backward, with x_hat = (x - mean) / std and g_hat = grad * weight:

    * eval (mean, std are constants): dx = g_hat / std
    * train (mean and std depend on x):
      dx = (g_hat - mean(g_hat) - x_hat * mean(g_hat * x_hat)) / std
    * dweight = sum(grad * x_hat), dbias = sum(grad)   (sums over all axes but C)
    """

    def forward(self, x, weight, bias, training=True, eps=1e-5, momentum=0.1,
                running_mean=None, running_var=None):
        # BEGIN SOLUTION 08
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)  # per-channel values broadcast over (N, C, *)
        self.axes, self.shape, self.training = axes, shape, training
        if training:
            count = x.size // x.shape[1]
            mean = x.mean(axis=axes)
            centered = x - mean.reshape(shape)
            var = np.mean(centered * centered, axis=axes)
            if running_mean is not None:
                running_mean *= 1 - momentum
                running_mean += momentum * mean
            if running_var is not None:
                running_var *= 1 - momentum
                running_var += momentum * var * (count / (count - 1))  # unbiased, as PyTorch
        else:
            centered = x - running_mean.reshape(shape).astype(x.dtype, copy=False)
            var = running_var.astype(x.dtype, copy=False)
        self.inv_std = (1 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        self.x_hat = centered * self.inv_std.reshape(shape)
        self.weight = weight
        y = self.x_hat if weight is None else self.x_hat * weight.reshape(shape)
        return y if bias is None else y + bias.reshape(shape)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 08
        shape, axes, x_hat = self.shape, self.axes, self.x_hat
        want_x, want_w, want_b = self.needs_input_grad
        grad_x = grad_w = grad_b = None
        if want_x:
            g_hat = grad if self.weight is None else grad * self.weight.reshape(shape)
            if self.training:
                g_hat = (g_hat - g_hat.mean(axis=axes, keepdims=True)
                         - x_hat * (g_hat * x_hat).mean(axis=axes, keepdims=True))
            grad_x = g_hat * self.inv_std.reshape(shape)
        if want_w:
            grad_w = (grad * x_hat).sum(axis=axes)
        if want_b:
            grad_b = grad.sum(axis=axes)
        return grad_x, grad_w, grad_b
        # END SOLUTION


def _array(t: Tensor | None, name: str, channels: int) -> np.ndarray | None:
    if t is None:
        return None
    if tuple(t.shape) != (channels,):
        raise ValueError(f"batch_norm: {name} must have shape ({channels},) for an input with "
                         f"{channels} channels, got {tuple(t.shape)}")
    return t.data


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of input (N, C) or (N, C, *) (PyTorch's argument order).

    ``training=True`` uses the batch statistics and, when given, updates
    ``running_mean``/``running_var`` (C,) in place; ``training=False`` uses them.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"batch_norm: input must be a Tensor, got {type(input).__name__}")
    if input.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C) or (N, C, *), got shape "
                         f"{tuple(input.shape)}")
    C = input.shape[1]
    mean_array = _array(running_mean, "running_mean", C)
    var_array = _array(running_var, "running_var", C)
    for t, name in ((weight, "weight"), (bias, "bias")):
        _array(t, name, C)
    if training and input.numel() // max(C, 1) <= 1:
        raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                         f"got input of shape {tuple(input.shape)}")
    if not training and (mean_array is None or var_array is None):
        raise ValueError("batch_norm: running_mean and running_var are required when "
                         "training=False")
    return BatchNormFunction.apply(input, weight, bias, training=training, eps=eps,
                                   momentum=momentum, running_mean=mean_array,
                                   running_var=var_array)
