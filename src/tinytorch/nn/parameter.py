"""Module 04: ``Parameter``, a Tensor that a Module learns."""

from __future__ import annotations

from typing import Any

from tinytorch.tensor import Tensor

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A Tensor that is a learnable weight: ``requires_grad=True`` by default, and
    assigning one to a Module attribute registers it (``module.parameters()``).

    Like ``torch.nn.Parameter`` it shares memory with the data it wraps.
    """

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        super().__init__([] if data is None else data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
