"""Module 14 Transformers: ``nn.LayerNorm`` (per-position normalisation, PyTorch's API)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinytorch.nn.functional.layer_norm import layer_norm, normalized_shape_tuple
from tinytorch.nn.module import Module
from tinytorch.nn.parameter import Parameter
from tinytorch.tensor import Tensor

__all__ = ["LayerNorm"]


class LayerNorm(Module):
    """``LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True, bias=True)``.

    x: (*, *normalized_shape) -> same shape, each position normalised over its last
    dims. Parameters (with ``elementwise_affine``): weight (ones) and bias (zeros) of
    shape normalized_shape; ``bias=False`` keeps only the weight.
    """

    def __init__(self, normalized_shape: int | Sequence[int], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        self.normalized_shape = normalized_shape_tuple(normalized_shape)
        self.eps, self.elementwise_affine = float(eps), bool(elementwise_affine)
        self.use_bias = bool(bias) and self.elementwise_affine  # PyTorch's flag
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("weight", None)
        if elementwise_affine and bias:
            self.bias = Parameter(np.zeros(self.normalized_shape, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            self.weight.data[...] = 1
        if self.bias is not None:
            self.bias.data[...] = 0

    def forward(self, x: Tensor) -> Tensor:
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.use_bias}")
