"""Module 10: the multi-layer perceptron of the 1986 milestone.

Flatten -> Linear(inputs, hidden) -> ReLU -> Linear(hidden, classes): Rumelhart,
Hinton and Williams' two-layer network, on images flattened to vectors.
"""

from __future__ import annotations

from tinytorch import nn
from tinytorch.models.registry import architecture

__all__ = ["mlp"]


@architecture("mlp")
def mlp(inputs: int, hidden: int, classes: int) -> nn.Module:
    """Flatten -> Linear(inputs, hidden) -> ReLU -> Linear(hidden, classes)."""
    return nn.Sequential(nn.Flatten(), nn.Linear(inputs, hidden), nn.ReLU(),
                         nn.Linear(hidden, classes))
