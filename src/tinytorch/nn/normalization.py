"""Module 08 Spatial: ``BatchNorm1d`` and ``BatchNorm2d``.

Batch normalisation standardises every channel with the statistics of the
current batch while training, and with running averages of those statistics
in evaluation -- the layer that behaves differently under ``model.eval()``.
The running averages are *buffers*: state that is saved in ``state_dict()``
but not learned by the optimizer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.nn.functional.normalization import batch_norm
from tinytorch.nn.module import Module
from tinytorch.nn.parameter import Parameter
from tinytorch.tensor import Tensor

__all__ = ["BatchNorm1d", "BatchNorm2d"]


class _BatchNorm(Module):
    """Shared by BatchNorm1d/2d; they differ only in the input shapes they accept.

    Parameters: weight (gamma, ones) and bias (beta, zeros), (C,) each, when
    ``affine``. Buffers: running_mean (zeros), running_var (ones) and
    num_batches_tracked, when ``track_running_stats``. ``momentum=None`` uses
    the cumulative average 1/num_batches_tracked instead of a fixed momentum.
    """

    #: input ranks this layer accepts, and how to describe them in an error
    _NDIMS: tuple[int, ...] = ()
    _LAYOUT = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        if not isinstance(num_features, (int, np.integer)) or isinstance(num_features, bool) \
                or num_features < 1:
            raise ValueError(f"{type(self).__name__}: num_features must be a positive int, got "
                             f"{num_features!r}")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dtype))
            self.bias = Parameter(np.zeros(num_features, dtype=dtype))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(num_features, dtype=dtype)))
            self.register_buffer("running_var", Tensor(np.ones(num_features, dtype=dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(name, None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.data[...] = 0
            self.running_var.data[...] = 1
            self.num_batches_tracked.data[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            self.weight.data[...] = 1
            self.bias.data[...] = 0

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"{type(self).__name__}: input must be a Tensor, got "
                            f"{type(x).__name__}")
        if x.ndim not in self._NDIMS:
            raise ValueError(f"{type(self).__name__}: expected {self._LAYOUT} input, got "
                             f"{x.ndim}-D input of shape {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}({self.num_features}): expected "
                             f"{self.num_features} channels in dim 1, got {x.shape[1]} "
                             f"(input shape {tuple(x.shape)})")
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:  # cumulative moving average of every batch so far
                momentum = 1.0 / int(self.num_batches_tracked.data)
        # without running stats there is nothing else to use: batch statistics always
        use_batch_stats = self.training or self.running_mean is None
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          use_batch_stats, momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Per-feature normalisation of (N, C) or (N, C, L) (statistics over N, and L)."""

    _NDIMS, _LAYOUT = (2, 3), "2-D (N, C) or 3-D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Per-channel normalisation of (N, C, H, W) (statistics over N, H and W)."""

    _NDIMS, _LAYOUT = (4,), "4-D (N, C, H, W)"
