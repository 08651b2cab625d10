"""Module 04: ``Dropout`` -- randomly zero activations while training (regularisation)."""

from __future__ import annotations

from tinytorch.nn import functional as F
from tinytorch.nn.module import Module
from tinytorch.tensor import Tensor

__all__ = ["Dropout"]


class Dropout(Module):
    """In ``train()`` mode zero each element with probability ``p`` and scale the rest
    by 1/(1-p); in ``eval()`` mode return the input unchanged. x: any shape."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"dropout probability has to be between 0 and 1, got {p}")
        self.p = p

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
