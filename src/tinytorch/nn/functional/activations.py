"""Module 03 Activations: the nonlinearities, each a forward rule next to its backward rule.

Every function takes a Tensor of any shape and returns one of the same shape
(softmax and log_softmax normalise along ``dim``). Each is written to stay
finite for huge inputs: a network that diverges should show a large loss, not
``nan`` from an overflow inside an activation.
"""

from __future__ import annotations

import math

import numpy as np

from tinytorch import backends
from tinytorch.autograd import Function
from tinytorch.ops.reductions import normalize_dims
from tinytorch.tensor import Tensor

__all__ = ["erf", "gelu", "leaky_relu", "log_softmax", "relu", "sigmoid", "silu", "softmax",
           "tanh"]

_SQRT_PI = math.sqrt(math.pi)


def _stable_sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) without overflow.

    exp(-x) overflows for x < -88 in float32; exp(-|x|) is always in (0, 1],
    and the two algebraically equal forms 1/(1+e) (x >= 0) and e/(1+e)
    (x < 0) cover both signs.
    """
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise, accurate to ~1e-15 (NumPy has none).

    A Taylor-like series for |x| < 1.5 and a continued fraction for erfc
    beyond (the method CPython's ``math.erf`` used): each converges fast in its
    own range. Computed in float64, returned in ``x``'s dtype.
    """
    x64 = np.asarray(x, dtype=np.float64)
    a = np.abs(x64)
    out = np.empty_like(a)
    small = a < 1.5
    xs = a[small]
    x2 = xs * xs
    acc = np.zeros_like(xs)
    fk = 25.5
    for _ in range(25):  # erf(x) = 2x e^{-x^2}/sqrt(pi) * sum_k (2x^2)^k / (1*3*...*(2k+1))
        acc = 2.0 + x2 * acc / fk
        fk -= 1.0
    out[small] = acc * xs * np.exp(-x2) / _SQRT_PI
    xl = np.minimum(a[~small], 30.0)  # erfc(30) underflows to 0 anyway
    x2 = xl * xl
    p, p_last = np.ones_like(xl), np.zeros_like(xl)
    q, q_last = 0.5 + x2, np.ones_like(xl)
    coef_a, coef_da = 0.0, 0.5
    for _ in range(50):
        coef_a += coef_da
        coef_da += 2.0
        b = coef_da + x2
        p, p_last = b * p - coef_a * p_last, p
        q, q_last = b * q - coef_a * q_last, q
    out[~small] = 1.0 - p / q * xl * np.exp(-x2) / _SQRT_PI
    return (np.sign(x64) * out).astype(np.asarray(x).dtype, copy=False)


# ---- elementwise activations ----------------------------------------------------------


class ReLU(Function):
    """max(x, 0); the gradient passes where x > 0 (0 at x == 0, like PyTorch)."""

    def forward(self, x):
        # np.maximum and a multiply by the mask are single streaming passes; np.where
        # over an unpredictable mask is ~10x slower on large activations (measured)
        out = np.maximum(x, 0)
        self.mask = out > 0
        return out

    def backward(self, grad):
        return (grad * self.mask,)


class LeakyReLU(Function):
    """x for x > 0, negative_slope * x otherwise: negative inputs keep a small gradient."""

    def forward(self, x, negative_slope=0.01):
        self.mask, self.slope = x > 0, negative_slope
        return np.where(self.mask, x, x * negative_slope).astype(x.dtype, copy=False)

    def backward(self, grad):
        return (np.where(self.mask, grad, grad * self.slope),)


class Sigmoid(Function):
    """1 / (1 + exp(-x)); dy/dx = y (1 - y), so only the output is saved."""

    def forward(self, x):
        self.out = _stable_sigmoid(x)
        return self.out

    def backward(self, grad):
        return (grad * self.out * (1 - self.out),)


class Tanh(Function):
    """tanh(x); dy/dx = 1 - y^2."""

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, grad):
        return (grad * (1 - self.out * self.out),)


class GELU(Function):
    """x * Phi(x), Phi the standard normal CDF (``approximate='none'``), or the tanh
    approximation 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) used by GPT-2."""

    _K = math.sqrt(2 / math.pi)

    def forward(self, x, approximate="none"):
        self.x, self.approximate = x, approximate
        if approximate == "tanh":
            self.t = np.tanh(self._K * (x + 0.044715 * x * x * x))
            return 0.5 * x * (1 + self.t)
        self.cdf = 0.5 * (1 + erf(x * (1 / math.sqrt(2))))
        return x * self.cdf

    def backward(self, grad):
        x = self.x
        if self.approximate == "tanh":
            inner_grad = self._K * (1 + 3 * 0.044715 * x * x)
            return (grad * (0.5 * (1 + self.t) + 0.5 * x * (1 - self.t * self.t) * inner_grad),)
        pdf = np.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return (grad * (self.cdf + x * pdf),)


class SiLU(Function):
    """x * sigmoid(x) (a.k.a. swish); dy/dx = s + x s (1 - s)."""

    def forward(self, x):
        self.x, self.s = x, _stable_sigmoid(x)
        return x * self.s

    def backward(self, grad):
        s = self.s
        return (grad * (s + self.x * s * (1 - s)),)


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
        self.axis = _axis(dim, x.ndim, "softmax")
        self.out = backends.current().softmax(x, self.axis)
        return self.out

    def backward(self, grad):
        y = self.out
        return (y * (grad - np.sum(grad * y, axis=self.axis, keepdims=True)),)


class LogSoftmax(Function):
    """x - logsumexp(x) along ``dim``; logsumexp = max + log(sum(exp(x - max))).

    Subtracting the max first makes every exponent <= 0, so nothing overflows
    and the largest term is exactly 1 (the log never sees 0). Backward:
    dx = g - softmax(x) * sum(g).
    """

    def forward(self, x, dim):
        self.axis = _axis(dim, x.ndim, "log_softmax")
        self.out = log_softmax_array(x, self.axis)
        return self.out

    def backward(self, grad):
        total = np.sum(grad, axis=self.axis, keepdims=True)
        return (grad - np.exp(self.out) * total,)


def log_softmax_array(x: np.ndarray, axis: int) -> np.ndarray:
    """The stable log-softmax of an array (shared with the fused cross-entropy)."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


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
