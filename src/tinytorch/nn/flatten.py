"""Module 04: ``Flatten`` -- the bridge from image-shaped to vector-shaped activations."""

from __future__ import annotations

from tinytorch.nn.module import Module
from tinytorch.tensor import Tensor

__all__ = ["Flatten"]


class Flatten(Module):
    """Merge dims ``start_dim..end_dim``: (N, C, H, W) -> (N, C*H*W) by default.

    A reshape of a contiguous array moves no data; only the view changes.
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x: Tensor) -> Tensor:
        for dim in (self.start_dim, self.end_dim):
            if not -max(x.ndim, 1) <= dim < max(x.ndim, 1):
                raise IndexError(f"Flatten: dim {dim} is out of range for input of shape "
                                 f"{tuple(x.shape)}")
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
