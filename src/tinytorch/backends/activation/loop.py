"""``activation`` one element at a time with Python's math module: the specification."""

from __future__ import annotations

import math

import numpy as np

_K = math.sqrt(2 / math.pi)
_C = 0.044715


def _map(fn, *arrays: np.ndarray) -> np.ndarray:
    flat = [a.reshape(-1).tolist() for a in arrays]
    return np.array([fn(*values) for values in zip(*flat, strict=True)],
                    dtype=arrays[-1].dtype).reshape(arrays[-1].shape)


def _cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))  # Phi(x), exact also far in the left tail


def gelu(x: np.ndarray, approximate: str) -> np.ndarray:
    """y = x * Phi(x), or the tanh approximation."""
    def one(v: float) -> float:
        # BEGIN SOLUTION 03
        if approximate == "tanh":
            return 0.5 * v * (1 + math.tanh(_K * (v + _C * v ** 3)))
        return v * _cdf(v)
        # END SOLUTION
    return _map(one, x)


def gelu_backward(grad: np.ndarray, x: np.ndarray, approximate: str) -> np.ndarray:
    """grad * dy/dx (formulas in the interface)."""
    def one(g: float, v: float) -> float:
        # BEGIN SOLUTION 06
        if approximate == "tanh":
            t = math.tanh(_K * (v + _C * v ** 3))
            return g * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * _K * (1 + 3 * _C * v * v))
        return g * (_cdf(v) + v * math.exp(-0.5 * v * v) / math.sqrt(2 * math.pi))
        # END SOLUTION
    return _map(one, grad, x)
