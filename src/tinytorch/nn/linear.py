"""Module 04 Layers: ``Linear`` (the fully connected layer) and ``Identity``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tinytorch.nn import init
from tinytorch.nn.functional.layers import Linear as LinearFunction
from tinytorch.nn.module import Module
from tinytorch.nn.parameter import Parameter
from tinytorch.tensor import Tensor

__all__ = ["Identity", "Linear"]


class Linear(Module):
    """y = x @ weight.T + bias.

    x: (*, in_features) -> y: (*, out_features); weight: (out_features,
    in_features), bias: (out_features,). Parameters: in*out + out, e.g. 200,960
    for 784 -> 256 (785 KiB in float32).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 dtype: Any = np.float32) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"Linear: {name} must be a non-negative int, got {value!r}")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dtype))
        if bias:
            self.bias = Parameter(np.empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in)).

        (kaiming_uniform_ with a = sqrt(5) gives exactly that bound for the weight.)
        """
        # BEGIN SOLUTION 04
        if self.in_features == 0:  # an empty weight; nothing to draw
            init.zeros_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)
            return
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)
        # END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"Linear(in_features={self.in_features}, out_features="
                             f"{self.out_features}): expected input of shape "
                             f"(*, {self.in_features}), got shape {tuple(x.shape)}")
        return LinearFunction.apply(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input unchanged (a placeholder, e.g. to remove a layer); ignores any
    constructor arguments, like PyTorch."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x
