"""Elementwise arithmetic (Module 02) with its backward rules (Module 06).

Elementwise work stays NumPy in every backend: it is memory-bound, so a
kernel would buy little (Module 15 shows why with the roofline).
"""

from __future__ import annotations

import numpy as np

from tinytorch.autograd import Function
from tinytorch.ops._broadcast import broadcast_shape, unbroadcast


def _shape(x) -> tuple[int, ...]:
    return np.shape(x)


class Add(Function):
    def forward(self, a, b):
        broadcast_shape("add", _shape(a), _shape(b))
        self.shapes = (_shape(a), _shape(b))
        return np.add(a, b)

    def backward(self, grad):
        return unbroadcast(grad, self.shapes[0]), unbroadcast(grad, self.shapes[1])


class Sub(Function):
    def forward(self, a, b):
        broadcast_shape("sub", _shape(a), _shape(b))
        self.shapes = (_shape(a), _shape(b))
        return np.subtract(a, b)

    def backward(self, grad):
        return unbroadcast(grad, self.shapes[0]), unbroadcast(-grad, self.shapes[1])


class Mul(Function):
    def forward(self, a, b):
        broadcast_shape("mul", _shape(a), _shape(b))
        self.a, self.b = a, b
        return np.multiply(a, b)

    def backward(self, grad):
        a, b = self.a, self.b
        want_a, want_b = self.needs_input_grad
        return (unbroadcast(grad * b, _shape(a)) if want_a else None,
                unbroadcast(grad * a, _shape(b)) if want_b else None)


class Div(Function):
    def forward(self, a, b):
        broadcast_shape("div", _shape(a), _shape(b))
        self.a, self.b = a, b
        return np.divide(a, b)

    def backward(self, grad):
        a, b = self.a, self.b
        grad_a = grad / b
        want_a, want_b = self.needs_input_grad
        return (unbroadcast(grad_a, _shape(a)) if want_a else None,
                unbroadcast(-grad_a * a / b, _shape(b)) if want_b else None)


class Pow(Function):
    """a ** b; d/da = b * a**(b-1), d/db = a**b * log(a)."""

    def forward(self, a, b):
        broadcast_shape("pow", _shape(a), _shape(b))
        self.a, self.b = a, b
        self.out = np.power(a, b)
        return self.out

    def backward(self, grad):
        a, b, out = self.a, self.b, self.out
        want_a, want_b = self.needs_input_grad
        grad_a = unbroadcast(grad * b * np.power(a, b - 1), _shape(a)) if want_a else None
        if not want_b:
            return grad_a, None
        with np.errstate(divide="ignore", invalid="ignore"):
            # log(a) is only defined for a > 0; where a == 0 the term is 0 (0**b is flat in b)
            log_a = np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)
        grad_b = unbroadcast(grad * out * log_a, _shape(b))
        return grad_a, grad_b


class Neg(Function):
    def forward(self, a):
        return np.negative(a)

    def backward(self, grad):
        return (-grad,)


class Exp(Function):
    def forward(self, a):
        self.out = np.exp(a)
        return self.out

    def backward(self, grad):
        return (grad * self.out,)


class Log(Function):
    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, grad):
        return (grad / self.a,)


class Sqrt(Function):
    def forward(self, a):
        self.out = np.sqrt(a)
        return self.out

    def backward(self, grad):
        return (grad / (2 * self.out),)


class Abs(Function):
    def forward(self, a):
        self.a = a
        return np.abs(a)

    def backward(self, grad):
        return (grad * np.sign(self.a),)  # PyTorch's choice: gradient 0 at 0


class Clamp(Function):
    """Gradient passes where min <= a <= max (inclusive, like PyTorch)."""

    def forward(self, a, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: at least one of min or max must be given")
        self.mask = np.ones(np.shape(a), dtype=bool)
        if min is not None:
            self.mask &= a >= min
        if max is not None:
            self.mask &= a <= max
        return np.clip(a, min, max).astype(np.asarray(a).dtype, copy=False)

    def backward(self, grad):
        return (grad * self.mask,)


class Where(Function):
    """out = a where condition else b; gradient flows to whichever side was chosen."""

    def forward(self, condition, a, b):
        broadcast_shape("where", _shape(condition), _shape(a), _shape(b))
        self.condition = np.asarray(condition, dtype=bool)
        self.shapes = (_shape(a), _shape(b))
        return np.where(self.condition, a, b)

    def backward(self, grad):
        zero = np.zeros_like(grad)
        return (None,
                unbroadcast(np.where(self.condition, grad, zero), self.shapes[0]),
                unbroadcast(np.where(self.condition, zero, grad), self.shapes[1]))


class MaskedFill(Function):
    """out = value where mask else a (mask broadcasts to a)."""

    def forward(self, a, mask, value):
        mask = np.asarray(mask)
        if mask.dtype != np.bool_:
            raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {mask.dtype}")
        if broadcast_shape("masked_fill", np.shape(a), mask.shape) != np.shape(a):
            raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to "
                             f"the tensor's shape {np.shape(a)}")
        self.mask = mask
        return np.where(mask, np.asarray(value, dtype=np.asarray(a).dtype), a)

    def backward(self, grad):
        return np.where(self.mask, 0, grad).astype(grad.dtype, copy=False), None, None


class Cast(Function):
    """Change dtype; the gradient is cast back to the input's dtype."""

    def forward(self, a, dtype):
        self.dtype = np.asarray(a).dtype
        return np.asarray(a).astype(dtype)

    def backward(self, grad):
        return grad.astype(self.dtype), None
