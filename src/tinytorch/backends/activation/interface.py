"""The contract of the ``activation`` family.

``approximate`` is ``"none"`` (exact: x * Phi(x), Phi the standard normal CDF)
or ``"tanh"`` (GPT-2's 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class ActivationKernels(Protocol):
    def gelu(self, x: np.ndarray, approximate: str) -> np.ndarray:
        """x: any shape -> y, the same shape::

            for every element:  y = x * Phi(x)                               (none)
                                y = 0.5 x (1 + tanh(k (x + 0.044715 x^3)))   (tanh),
                                k = sqrt(2 / pi)
        """
        ...

    def gelu_backward(self, grad: np.ndarray, x: np.ndarray, approximate: str) -> np.ndarray:
        """grad, x: the same shape -> grad_x = grad * dy/dx::

            dy/dx = Phi(x) + x phi(x)                                        (none)
            dy/dx = 0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 * 0.044715 x^2)   (tanh),
                    t = tanh(k (x + 0.044715 x^3))
        """
        ...


def gelu_flops(numel: int) -> int:
    """Counted as 8 FLOPs per element (a transcendental as one); the true cost is memory."""
    return 8 * numel
