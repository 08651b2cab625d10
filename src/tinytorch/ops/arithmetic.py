"""Elementwise arithmetic (Module 02) with its backward rules (Module 06).

Elementwise work stays NumPy in every backend: it is memory-bound, so a
kernel would buy little (Module 15 shows why with the roofline).
"""

from __future__ import annotations

import numpy as np

from tinytorch.autograd import Function
from tinytorch.ops._broadcast import (
    broadcast_shape,
    cast_operands,
    float_dtype,
    result_type,
    unbroadcast,
)


def _shape(x) -> tuple[int, ...]:
    return np.shape(x)


class Add(Function):
    def forward(self, a, b):
        broadcast_shape("add", _shape(a), _shape(b))
        a, b = cast_operands(a, b, dtype=result_type(a, b))
        self.shapes = (_shape(a), _shape(b))
        return np.add(a, b)

    def backward(self, grad):
        return unbroadcast(grad, self.shapes[0]), unbroadcast(grad, self.shapes[1])


class Sub(Function):
    def forward(self, a, b):
        broadcast_shape("sub", _shape(a), _shape(b))
        a, b = cast_operands(a, b, dtype=result_type(a, b))
        self.shapes = (_shape(a), _shape(b))
        return np.subtract(a, b)

    def backward(self, grad):
        return unbroadcast(grad, self.shapes[0]), unbroadcast(-grad, self.shapes[1])


class Mul(Function):
    def forward(self, a, b):
        broadcast_shape("mul", _shape(a), _shape(b))
        a, b = cast_operands(a, b, dtype=result_type(a, b))
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
        # true division: int / int is a float (float32, like PyTorch)
        a, b = cast_operands(a, b, dtype=float_dtype(result_type(a, b)))
        self.a, self.b = a, b
        return np.divide(a, b)

    def backward(self, grad):
        a, b = self.a, self.b
        grad_a = grad / b
        want_a, want_b = self.needs_input_grad
        return (unbroadcast(grad_a, _shape(a)) if want_a else None,
                unbroadcast(-grad_a * a / b, _shape(b)) if want_b else None)


class Pow(Function):
    """a ** b; d/da = b * a**(b-1) (0 where b == 0, like PyTorch), d/db = a**b * log(a)."""

    def forward(self, a, b):
        broadcast_shape("pow", _shape(a), _shape(b))
        a, b = cast_operands(a, b, dtype=result_type(a, b))
        self.a, self.b = a, b
        self.out = np.power(a, b)
        return self.out

    def backward(self, grad):
        a, b, out = self.a, self.b, self.out
        want_a, want_b = self.needs_input_grad
        grad_a = None
        if want_a:
            with np.errstate(divide="ignore", invalid="ignore"):
                # a**0 is flat in a; b * a**(b-1) would be 0 * inf = nan at a == 0
                local = np.where(np.equal(b, 0), 0, b * np.power(a, b - 1))
            grad_a = unbroadcast((grad * local).astype(grad.dtype, copy=False), _shape(a))
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


def _as_float(a) -> np.ndarray:
    """exp/log/sqrt of an int tensor is float32, as in PyTorch (NumPy would give float64)."""
    a = np.asarray(a)
    return a.astype(float_dtype(a.dtype), copy=False)


class Exp(Function):
    def forward(self, a):
        self.out = np.exp(_as_float(a))
        return self.out

    def backward(self, grad):
        return (grad * self.out,)


class Log(Function):
    def forward(self, a):
        self.a = _as_float(a)
        return np.log(self.a)

    def backward(self, grad):
        return (grad / self.a,)


class Sqrt(Function):
    def forward(self, a):
        self.out = np.sqrt(_as_float(a))
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
        # an int tensor clamped to a float bound becomes float32, like PyTorch
        a = cast_operands(np.asarray(a), dtype=result_type(
            np.asarray(a), *(v for v in (min, max) if v is not None)))[0]
        self.mask = np.ones(np.shape(a), dtype=bool)
        if min is not None:
            self.mask &= a >= min
        if max is not None:
            self.mask &= a <= max
        return np.clip(a, min, max).astype(a.dtype, copy=False)

    def backward(self, grad):
        return (grad * self.mask,)


class Where(Function):
    """out = a where condition else b; gradient flows to whichever side was chosen."""

    def forward(self, condition, a, b):
        broadcast_shape("where", _shape(condition), _shape(a), _shape(b))
        self.condition = np.asarray(condition, dtype=bool)
        self.shapes = (_shape(a), _shape(b))
        dtype = result_type(a, b)  # where(c, 1.0, 0.0) is float32, not NumPy's float64
        return np.where(self.condition, np.asarray(a, dtype=dtype), np.asarray(b, dtype=dtype))

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
