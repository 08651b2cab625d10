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
    promote_pair,
    result_type,
    unbroadcast,
)


def _shape(x) -> tuple[int, ...]:
    return x.shape if type(x) is np.ndarray else np.shape(x)


def _elementwise(ufunc, op: str, a, b):
    """ufunc(a, b), with NumPy's broadcasting error replaced by one naming the op and both
    shapes. (Checking the shapes first would cost every call; catching costs only errors.)"""
    try:
        return ufunc(a, b)
    except ValueError:
        broadcast_shape(op, _shape(a), _shape(b))
        raise


class Add(Function):
    def forward(self, a, b):
        # BEGIN SOLUTION 02
        a, b = promote_pair(a, b)
        self.shapes = (_shape(a), _shape(b))
        return _elementwise(np.add, "add", a, b)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return unbroadcast(grad, self.shapes[0]), unbroadcast(grad, self.shapes[1])
        # END SOLUTION


class Sub(Function):
    def forward(self, a, b):
        # BEGIN SOLUTION 02
        a, b = promote_pair(a, b)
        self.shapes = (_shape(a), _shape(b))
        return _elementwise(np.subtract, "sub", a, b)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return unbroadcast(grad, self.shapes[0]), unbroadcast(-grad, self.shapes[1])
        # END SOLUTION


class Mul(Function):
    def forward(self, a, b):
        # BEGIN SOLUTION 02
        a, b = promote_pair(a, b)
        self.a, self.b = a, b
        return _elementwise(np.multiply, "mul", a, b)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        a, b = self.a, self.b
        want_a, want_b = self.needs_input_grad
        return (unbroadcast(grad * b, _shape(a)) if want_a else None,
                unbroadcast(grad * a, _shape(b)) if want_b else None)
        # END SOLUTION


class Div(Function):
    def forward(self, a, b):
        # BEGIN SOLUTION 02
        a, b = promote_pair(a, b)
        dtype = a.dtype if type(a) is np.ndarray else b.dtype if type(b) is np.ndarray \
            else result_type(a, b)
        if dtype.kind not in "fc":  # true division: int / int is a float (float32, like PyTorch)
            a, b = cast_operands(a, b, dtype=float_dtype(dtype))
        self.a, self.b = a, b
        return _elementwise(np.divide, "div", a, b)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        a, b = self.a, self.b
        grad_a = grad / b
        want_a, want_b = self.needs_input_grad
        return (unbroadcast(grad_a, _shape(a)) if want_a else None,
                unbroadcast(-grad_a * a / b, _shape(b)) if want_b else None)
        # END SOLUTION


class Pow(Function):
    """a ** b; d/da = b * a**(b-1) (0 where b == 0, like PyTorch), d/db = a**b * log(a)."""

    def forward(self, a, b):
        # BEGIN SOLUTION 02
        a, b = promote_pair(a, b)
        self.a, self.b = a, b
        self.out = _elementwise(np.power, "pow", a, b)
        return self.out
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
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
        # END SOLUTION


class Neg(Function):
    def forward(self, a):
        # BEGIN SOLUTION 02
        return np.negative(a)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return (-grad,)
        # END SOLUTION


def _as_float(a) -> np.ndarray:
    """exp/log/sqrt of an int tensor is float32, as in PyTorch (NumPy would give float64)."""
    a = np.asarray(a)
    return a.astype(float_dtype(a.dtype), copy=False)


class Exp(Function):
    def forward(self, a):
        # BEGIN SOLUTION 02
        self.out = np.exp(_as_float(a))
        return self.out
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return (grad * self.out,)
        # END SOLUTION


class Log(Function):
    def forward(self, a):
        # BEGIN SOLUTION 02
        self.a = _as_float(a)
        return np.log(self.a)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return (grad / self.a,)
        # END SOLUTION


class Sqrt(Function):
    def forward(self, a):
        # BEGIN SOLUTION 02
        self.out = np.sqrt(_as_float(a))
        return self.out
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return (grad / (2 * self.out),)
        # END SOLUTION


class Abs(Function):
    def forward(self, a):
        # BEGIN SOLUTION 02
        self.a = a
        return np.abs(a)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return (grad * np.sign(self.a),)  # PyTorch's choice: gradient 0 at 0
        # END SOLUTION


class Clamp(Function):
    """Gradient passes where min <= a <= max (inclusive, like PyTorch)."""

    def forward(self, a, min=None, max=None):
        # BEGIN SOLUTION 02
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
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return (grad * self.mask,)
        # END SOLUTION


class Where(Function):
    """out = a where condition else b; gradient flows to whichever side was chosen."""

    def forward(self, condition, a, b):
        # BEGIN SOLUTION 02
        broadcast_shape("where", _shape(condition), _shape(a), _shape(b))
        self.condition = np.asarray(condition, dtype=bool)
        self.shapes = (_shape(a), _shape(b))
        dtype = result_type(a, b)  # where(c, 1.0, 0.0) is float32, not NumPy's float64
        return np.where(self.condition, np.asarray(a, dtype=dtype), np.asarray(b, dtype=dtype))
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        zero = np.zeros_like(grad)
        return (None,
                unbroadcast(np.where(self.condition, grad, zero), self.shapes[0]),
                unbroadcast(np.where(self.condition, zero, grad), self.shapes[1]))
        # END SOLUTION


class MaskedFill(Function):
    """out = value where mask else a (mask broadcasts to a)."""

    def forward(self, a, mask, value):
        # BEGIN SOLUTION 02
        mask = np.asarray(mask)
        if mask.dtype != np.bool_:
            raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {mask.dtype}")
        if broadcast_shape("masked_fill", np.shape(a), mask.shape) != np.shape(a):
            raise ValueError(f"masked_fill: mask of shape {mask.shape} does not broadcast to "
                             f"the tensor's shape {np.shape(a)}")
        self.mask = mask
        return np.where(mask, np.asarray(value, dtype=np.asarray(a).dtype), a)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return np.where(self.mask, 0, grad).astype(grad.dtype, copy=False), None, None
        # END SOLUTION


class Cast(Function):
    """Change dtype; the gradient is cast back to the input's dtype."""

    def forward(self, a, dtype):
        self.dtype = np.asarray(a).dtype
        return np.asarray(a).astype(dtype)

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return grad.astype(self.dtype), None
        # END SOLUTION
