"""Module 07: RMSprop -- divide the gradient by a running root-mean-square of itself.

One step for each parameter ``p`` with gradient ``g`` (PyTorch's formulation)::

    g   = -g                                  if maximize
    g   = g + weight_decay * p
    v   = alpha * v + (1 - alpha) * g * g     running mean of g^2
    avg = sqrt(v) + eps
    avg = sqrt(v - mu * mu) + eps             if centered, mu = alpha * mu + (1 - alpha) * g
    buf = momentum * buf + g / avg; p = p - lr * buf      if momentum > 0
    p   = p - lr * g / avg                                otherwise

Memory: one buffer the size of ``p``, plus one for momentum, plus one if centered.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tinytorch.optim.optimizer import Optimizer, check_non_negative

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """``RMSprop(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False, *, maximize=False)`` -- as ``torch.optim.RMSprop``."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum: float = 0.0,
                 centered: bool = False, *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps,
                                  "weight_decay": weight_decay, "momentum": momentum,
                                  "centered": centered, "maximize": maximize})

    def _check(self, hp: dict[str, Any]) -> None:
        check_non_negative(hp, "lr", "eps", "momentum", "weight_decay", "alpha")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        # float(): a NumPy float64 hyper-parameter would promote float32 temporaries (NEP 50)
        # BEGIN SOLUTION 07
        lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
        weight_decay, momentum = float(group["weight_decay"]), float(group["momentum"])
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(param)
        if momentum > 0 and "momentum_buffer" not in state:
            state["momentum_buffer"] = np.zeros_like(param)
        if group["centered"] and "grad_avg" not in state:
            state["grad_avg"] = np.zeros_like(param)
        state["step"] += 1
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * (grad * grad)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg *= alpha
            grad_avg += (1 - alpha) * grad
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += eps
        if momentum > 0:
            buf = state["momentum_buffer"]
            buf *= momentum
            buf += grad / avg
            param -= lr * buf
        else:
            param -= lr * (grad / avg)
        # END SOLUTION
