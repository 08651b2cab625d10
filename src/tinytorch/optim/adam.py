"""Module 07: Adam and AdamW -- per-parameter step sizes from running moments of the gradient.

One step for each parameter ``p`` with gradient ``g`` (PyTorch's formulation)::

    t  = t + 1
    g  = -g                                   if maximize
    p  = p * (1 - lr * weight_decay)          AdamW (decoupled weight decay)
    g  = g + weight_decay * p                 Adam (L2 penalty through the moments)
    m  = beta1 * m + (1 - beta1) * g          first moment (momentum)
    v  = beta2 * v + (1 - beta2) * g * g      second moment (per-element scale)
    v_max = max(v_max, v)                     if amsgrad; then v_max is used below
    p  = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

The ``1 - beta**t`` terms undo the bias of starting ``m`` and ``v`` at zero.
Memory: two buffers the size of ``p`` (three with amsgrad) -- for a model
that is 2x its parameters on top of the parameters and their gradients.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from tinytorch.optim.optimizer import Optimizer, check_non_negative

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
    *, maximize=False, decoupled_weight_decay=False)`` -- as ``torch.optim.Adam``.

    ``weight_decay`` here is an L2 penalty added to the gradient, so it is divided
    by ``sqrt(v)`` like the gradient is; :class:`AdamW` decouples it.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False) -> None:
        super().__init__(params, {"lr": lr, "betas": tuple(betas), "eps": eps,
                                  "weight_decay": weight_decay, "amsgrad": amsgrad,
                                  "maximize": maximize,
                                  "decoupled_weight_decay": decoupled_weight_decay})

    def _check(self, hp: dict[str, Any]) -> None:
        check_non_negative(hp, "lr", "eps", "weight_decay")
        betas = hp["betas"]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"Invalid beta parameter at index {i}: {beta} "
                                 "(must be in [0, 1))")

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any],
                group: dict[str, Any]) -> None:
        # float(): a NumPy float64 hyper-parameter would promote float32 temporaries (NEP 50)
        # BEGIN SOLUTION 07
        lr, eps, weight_decay = float(group["lr"]), float(group["eps"]), float(
            group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        if not state:  # lazily: a parameter that never gets a gradient costs no memory
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(param)
            state["exp_avg_sq"] = np.zeros_like(param)
        if group["amsgrad"] and "max_exp_avg_sq" not in state:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        state["step"] += 1
        step = state["step"]
        if group["maximize"]:
            grad = -grad
        if weight_decay != 0:
            if group["decoupled_weight_decay"]:
                param *= 1 - lr * weight_decay
            else:
                grad = grad + weight_decay * param
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        # in place: the moments are the big arrays, never reallocate them
        exp_avg *= beta1
        exp_avg += (1 - beta1) * grad
        exp_avg_sq *= beta2
        exp_avg_sq += (1 - beta2) * (grad * grad)
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            exp_avg_sq = state["max_exp_avg_sq"]
        step_size = lr / (1 - beta1 ** step)
        denom = np.sqrt(exp_avg_sq) / math.sqrt(1 - beta2 ** step) + eps
        param -= step_size * (exp_avg / denom)
        # END SOLUTION


class AdamW(Adam):
    """``AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
    amsgrad=False, *, maximize=False)`` -- Adam with decoupled weight decay.

    The decay shrinks ``p`` directly (``p *= 1 - lr * weight_decay``) instead of
    passing through the adaptive scale, so every weight decays at the same rate
    (Loshchilov & Hutter, 2019); the usual choice for transformers.
    """

    def __init__(self, params: Iterable[Any], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *,
                 maximize: bool = False) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True)
