"""Module 03 Activations, as ``nn.functional`` names (``F.relu``, ``F.softmax``, ...).

The Functions themselves live in ``tinytorch/ops/activations.py``, below
``tensor.py``, so ``Tensor.relu()`` needs no import of ``nn``.
"""

from tinytorch.ops.activations import (
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    silu,
    softmax,
    tanh,
)

__all__ = ["gelu", "leaky_relu", "log_softmax", "relu", "sigmoid", "silu", "softmax", "tanh"]
