"""Module 03 Activations: the nonlinearities, each a forward rule next to its backward rule.

Every function takes a Tensor of any shape and returns one of the same shape
(softmax and log_softmax normalise along ``dim``). Each is written to stay
finite for huge inputs: a network that diverges should show a large loss, not
``nan`` from an overflow inside an activation.

They live here, below ``tensor.py``, so that ``Tensor.relu()`` and friends need
no import of ``nn``; ``tinytorch.nn.functional`` re-exports them under the same
names (``F.relu``). Softmax and log-softmax run on the current backend's
``softmax`` kernel family.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from tinytorch import backends
from tinytorch.autograd import Function
from tinytorch.ops.reductions import normalize_dims

if TYPE_CHECKING:
    from tinytorch.tensor import Tensor

__all__ = ["gelu", "leaky_relu", "log_softmax", "relu", "sigmoid", "silu", "softmax",
           "stable_sigmoid", "tanh"]



def stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow.

    exp(-x) overflows for x < -88 in float32; exp(-|x|) is always in (0, 1],
    and the two algebraically equal forms 1/(1+e) (x >= 0) and e/(1+e)
    (x < 0) cover both signs.
    """
    # BEGIN SOLUTION 03
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
    # END SOLUTION


# ---- elementwise activations ----------------------------------------------------------


class ReLU(Function):
    """max(x, 0); the gradient passes where x > 0 (0 at x == 0, like PyTorch)."""

    def forward(self, x):
        # np.maximum and a multiply by the mask are single streaming passes; np.where
        # over an unpredictable mask is ~10x slower on large activations (measured)
        # BEGIN SOLUTION 03
        out = np.maximum(x, 0)
        self.mask = out > 0
        return out
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return (grad * self.mask,)
        # END SOLUTION


class LeakyReLU(Function):
    """x for x > 0, negative_slope * x otherwise: negative inputs keep a small gradient."""

    def forward(self, x, negative_slope=0.01):
        # BEGIN SOLUTION 03
        self.mask, self.slope = x > 0, negative_slope
        return np.where(self.mask, x, x * negative_slope).astype(x.dtype, copy=False)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return (np.where(self.mask, grad, grad * self.slope),)
        # END SOLUTION


class Sigmoid(Function):
    """1 / (1 + exp(-x)); dy/dx = y (1 - y), so only the output is saved."""

    def forward(self, x):
        self.out = stable_sigmoid(x)
        return self.out

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return (grad * self.out * (1 - self.out),)
        # END SOLUTION


class Tanh(Function):
    """tanh(x); dy/dx = 1 - y^2."""

    def forward(self, x):
        # BEGIN SOLUTION 03
        self.out = np.tanh(x)
        return self.out
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return (grad * (1 - self.out * self.out),)
        # END SOLUTION


class GELU(Function):
    """x * Phi(x), Phi the standard normal CDF (``approximate='none'``), or the tanh
    approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) used by GPT-2.

    Both directions are one kernel call of the ``activation`` family: forward saves
    only x, and backward recomputes what it needs from x in the same pass (cheaper
    than keeping a second activation-sized array alive until backward).
    """

    def forward(self, x, approximate="none"):
        self.x, self.approximate = x, approximate
        return backends.current().gelu(x, approximate)

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return (backends.current().gelu_backward(grad, self.x, self.approximate),)
        # END SOLUTION


class SiLU(Function):
    """x * sigmoid(x) (a.k.a. swish); dy/dx = s + x s (1 - s)."""

    def forward(self, x):
        # BEGIN SOLUTION 03
        self.x, self.s = x, stable_sigmoid(x)
        return x * self.s
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        s = self.s
        return (grad * (s + self.x * s * (1 - s)),)
        # END SOLUTION


# ---- normalising activations ------------------------------------------------------------


def _axis(dim: int, ndim: int, op: str) -> int:
    (axis,) = normalize_dims(dim, ndim, op)
    return axis


class Softmax(Function):
    """exp(x_i) / sum_j exp(x_j) along ``dim``, computed by the current backend's kernel.

    Backward (the Jacobian diag(y) - y y^T applied to g, without forming it):
    dx = y * (g - sum(g * y)).
    """

    def forward(self, x, dim):
        # BEGIN SOLUTION 03
        self.axis = _axis(dim, x.ndim, "softmax")
        self.out = backends.current().softmax(x, self.axis)
        return self.out
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        y = self.out
        return (y * (grad - np.sum(grad * y, axis=self.axis, keepdims=True)),)
        # END SOLUTION


class LogSoftmax(Function):
    """x - logsumexp(x) along ``dim``; logsumexp = max + log(sum(exp(x - max))).

    Subtracting the max first makes every exponent <= 0, so nothing overflows
    and the largest term is exactly 1 (the log never sees 0). Backward:
    dx = g - softmax(x) * sum(g).
    """

    def forward(self, x, dim):
        # BEGIN SOLUTION 03
        self.axis = _axis(dim, x.ndim, "log_softmax")
        self.out = backends.current().log_softmax(x, self.axis)
        return self.out
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        total = np.sum(grad, axis=self.axis, keepdims=True)
        return (grad - np.exp(self.out) * total,)
        # END SOLUTION


# ---- the public functions (PyTorch's names and arguments) -------------------------------


def relu(x: Tensor) -> Tensor:
    """max(x, 0), elementwise."""
    return ReLU.apply(x)


def leaky_relu(x: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x where x > 0, else negative_slope * x."""
    return LeakyReLU.apply(x, negative_slope=float(negative_slope))


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x)), finite for any input."""
    return Sigmoid.apply(x)


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit; ``approximate`` is ``'none'`` (exact, erf) or ``'tanh'``."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return GELU.apply(x, approximate=approximate)


def silu(x: Tensor) -> Tensor:
    """x * sigmoid(x)."""
    return SiLU.apply(x)


def softmax(x: Tensor, dim: int) -> Tensor:
    """Probabilities along ``dim`` (they sum to 1); x: any shape."""
    if x.ndim == 0:  # one element: probability 1 (dim must still be 0 or -1)
        normalize_dims(dim, 0, "softmax")
        return Softmax.apply(x.reshape(1), dim=0).reshape(())
    return Softmax.apply(x, dim=dim)


def log_softmax(x: Tensor, dim: int) -> Tensor:
    """log(softmax(x)) along ``dim``, computed without ever taking log(0)."""
    if x.ndim == 0:
        normalize_dims(dim, 0, "log_softmax")
        return LogSoftmax.apply(x.reshape(1), dim=0).reshape(())
    return LogSoftmax.apply(x, dim=dim)
