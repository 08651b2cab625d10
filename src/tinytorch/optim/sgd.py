"""Module 07: stochastic gradient descent, with momentum, dampening, Nesterov, weight decay.

One step for each parameter ``p`` with gradient ``g`` (PyTorch's formulation)::

    g   = -g                          if maximize
    g   = g + weight_decay * p        (L2 penalty folded into the gradient)
    buf = g                           on the first step (no dampening)
    buf = momentum * buf + (1 - dampening) * g   afterwards
    g   = g + momentum * buf          if nesterov, else g = buf
    p   = p - lr * g

Memory: no state without momentum; one buffer the size of ``p`` with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from tinytorch.optim.optimizer import Optimizer, check_non_negative

__all__ = ["SGD"]


class SGD(Optimizer):
    """``SGD(params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
    *, maximize=False)`` -- same defaults and update as ``torch.optim.SGD``."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-3, momentum: float = 0.0,
                 dampening: float = 0.0, weight_decay: float = 0.0, nesterov: bool = False,
                 *, maximize: bool = False) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "dampening": dampening,
                                  "weight_decay": weight_decay, "nesterov": nesterov,
                                  "maximize": maximize})

    def _check(self, hp: dict[str, Any]) -> None:
        check_non_negative(hp, "lr", "momentum", "weight_decay")
        if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening "
                             f"(got momentum={hp['momentum']}, dampening={hp['dampening']})")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        # float(): a NumPy float64 hyper-parameter would promote float32 temporaries (NEP 50)
        # BEGIN SOLUTION 07
        lr, momentum = float(group["lr"]), float(group["momentum"])
        weight_decay, dampening = float(group["weight_decay"]), float(group["dampening"])
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            grad = grad + weight_decay * param  # a new array: p.grad itself is never changed
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                # np.array, not grad.copy(): arithmetic on a 0-d array yields a NumPy
                # scalar, and an in-place update of a scalar would be lost
                buf = state["momentum_buffer"] = np.array(grad, dtype=param.dtype)
            else:
                buf *= momentum
                buf += (1 - dampening) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= lr * grad
        # END SOLUTION
