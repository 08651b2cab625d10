"""Module 02: making tensors -- factories and the functions that combine tensors.

Floating-point factories default to float32 (what training uses: half the
memory and twice the SIMD width of float64); integer ones to int64.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinytorch.ops import arithmetic as A
from tinytorch.ops import shape as S
from tinytorch.ops.shape import shape_args as _shape_args
from tinytorch.random import default_generator
from tinytorch.tensor import Tensor, as_array

__all__ = [
    "arange", "cat", "empty", "eye", "from_numpy", "full", "full_like", "linspace", "ones",
    "ones_like", "rand", "rand_like", "randint", "randn", "randn_like", "stack", "tensor",
    "where", "zeros", "zeros_like",
]

float32, float64, int64, int32, bool_ = np.float32, np.float64, np.int64, np.int32, np.bool_


def _make(array: np.ndarray, dtype: Any, requires_grad: bool) -> Tensor:
    return Tensor(array if dtype is None else array.astype(dtype, copy=False),
                  requires_grad=requires_grad)


def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (like ``torch.tensor``)."""
    return Tensor(np.array(as_array(data, dtype), copy=True), requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (no copy, dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    return Tensor(array)


def zeros(*size, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    return _make(np.zeros(_shape_args(size)), dtype, requires_grad)


def ones(*size, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    return _make(np.ones(_shape_args(size)), dtype, requires_grad)


def empty(*size, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    return _make(np.empty(_shape_args(size)), dtype, requires_grad)


def full(size, fill_value, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    if dtype is None:  # PyTorch infers the dtype from the fill value
        dtype = as_array(fill_value).dtype
    return _make(np.full(tuple(np.atleast_1d(size)) if np.ndim(size) else (size,), fill_value),
                 dtype, requires_grad)


def rand(*size, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1), from TinyTorch's seeded generator (``manual_seed``)."""
    return _make(default_generator().random(_shape_args(size)), dtype, requires_grad)


def randn(*size, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    """Standard normal, from TinyTorch's seeded generator (``manual_seed``)."""
    return _make(default_generator().standard_normal(_shape_args(size)), dtype, requires_grad)


def randint(low: int, high: int, size: Sequence[int], dtype: Any = int64) -> Tensor:
    return _make(default_generator().integers(low, high, size=tuple(size)), dtype, False)


def arange(start, end=None, step=1, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    if end is None:
        start, end = 0, start
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = int64 if is_int else float32
    return _make(np.arange(start, end, step), dtype, requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = float32) -> Tensor:
    return _make(np.linspace(start, end, steps), dtype, False)


def eye(n: int, m: int | None = None, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    return _make(np.eye(n, m), dtype, requires_grad)


def _like(t: Tensor, dtype: Any) -> tuple[tuple[int, ...], Any]:
    return tuple(t.shape), t.dtype if dtype is None else dtype


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like(t, dtype)
    return zeros(shape, dtype=dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like(t, dtype)
    return ones(shape, dtype=dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like(t, dtype)
    return full(shape, fill_value, dtype=dtype, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like(t, dtype)
    return rand(shape, dtype=dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like(t, dtype)
    return randn(shape, dtype=dtype, requires_grad=requires_grad)


def _as_tensors(tensors: Sequence[Any], op: str) -> list[Tensor]:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op} expects a list or tuple of tensors")
    return [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing dim; the gradient is split back."""
    return S.Cat.apply(*_as_tensors(tensors, "cat"), dim=dim)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new dim."""
    return S.Stack.apply(*_as_tensors(tensors, "stack"), dim=dim)


def where(condition: Any, input: Any, other: Any) -> Tensor:
    """``input`` where ``condition`` is true, else ``other`` (broadcasting)."""
    cond = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    return A.Where.apply(cond, input, other)
