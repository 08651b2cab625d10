"""``activation`` with NumPy: the formulas as whole-array passes (each one a trip to memory)."""

from __future__ import annotations

import math

import numpy as np

_K = math.sqrt(2 / math.pi)
_C = 0.044715
_SQRT1_2 = 1 / math.sqrt(2)


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
    out[small] = acc * xs * np.exp(-x2) / math.sqrt(math.pi)
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
    out[~small] = 1.0 - p / q * xl * np.exp(-x2) / math.sqrt(math.pi)
    return (np.sign(x64) * out).astype(np.asarray(x).dtype, copy=False)


def _tanh_inner(x: np.ndarray) -> np.ndarray:
    return np.tanh(_K * (x + _C * x * x * x))


def gelu(x: np.ndarray, approximate: str) -> np.ndarray:
    if approximate == "tanh":
        return 0.5 * x * (1 + _tanh_inner(x))
    return x * (0.5 * (1 + erf(x * _SQRT1_2)))


def gelu_backward(grad: np.ndarray, x: np.ndarray, approximate: str) -> np.ndarray:
    if approximate == "tanh":
        t = _tanh_inner(x)
        return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * (_K * (1 + 3 * _C * x * x)))
    pdf = np.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
    return grad * (0.5 * (1 + erf(x * _SQRT1_2)) + x * pdf)
