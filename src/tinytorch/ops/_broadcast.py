"""Broadcasting helpers shared by every op."""

from __future__ import annotations

import numpy as np


def broadcast_shape(op: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast result shape, or a ValueError that names the op and both shapes."""
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        listed = " and ".join(str(tuple(s)) for s in shapes)
        raise ValueError(f"{op}: shapes {listed} cannot be broadcast together") from None


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` back down to ``shape``: the backward rule of broadcasting.

    A value broadcast to many positions was *used* at all of them, so its
    gradient is the sum over those positions (leading added axes, and axes
    where ``shape`` has size 1).
    """
    if grad.shape == shape or grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


def _category(dtype: np.dtype) -> int:
    """bool < integer < floating point: PyTorch promotes across categories, never by size."""
    return 0 if dtype.kind == "b" else 1 if dtype.kind in "iu" else 2


def _promote(dtypes: list[np.dtype]) -> np.dtype:
    """The highest category wins outright (int64 with float32 is float32, unlike NumPy's
    float64); within one category the wider dtype wins."""
    top = max(_category(d) for d in dtypes)
    return np.result_type(*(d for d in dtypes if _category(d) == top))


def result_type(*operands) -> np.dtype:
    """The dtype PyTorch gives an op on ``operands`` (arrays and Python numbers).

    Three tiers, highest first: arrays with dims, 0-d arrays, Python numbers. A
    lower tier only matters when it is of a higher category, so a float64 0-d
    tensor or a Python float does not turn a float32 tensor into float64, and a
    Python float turns an int tensor into float32 (the default float dtype).
    """
    tiers: list[list[np.dtype]] = [[], [], []]
    for x in operands:
        if isinstance(x, np.ndarray):
            tiers[0 if x.ndim else 1].append(x.dtype)
        elif isinstance(x, (bool, np.bool_)):
            tiers[2].append(np.dtype(np.bool_))
        elif isinstance(x, (int, np.integer)):
            tiers[2].append(np.dtype(np.int64))
        else:
            tiers[2].append(np.dtype(np.float32))
    result = None
    for tier in tiers:
        if tier:
            candidate = _promote(tier)
            if result is None or _category(candidate) > _category(result):
                result = candidate
    return result


_PYTHON_NUMBERS = (int, float)  # not bool: True + int8 stays int8, handled by result_type


def promote_pair(a, b) -> tuple:
    """``a`` and ``b`` (arrays or Python numbers) converted to the dtype PyTorch gives their
    op: ``cast_operands(a, b, dtype=result_type(a, b))``, with the common cases first.

    Systems note: this runs for every elementwise op; for two arrays of one dtype, or
    a float array and a Python number, there is nothing to decide or convert.
    """
    a_array, b_array = type(a) is np.ndarray, type(b) is np.ndarray
    if a_array and b_array:
        if a.dtype == b.dtype:
            return a, b
    elif a_array and type(b) in _PYTHON_NUMBERS and a.dtype.kind == "f":
        return a, b
    elif b_array and type(a) in _PYTHON_NUMBERS and b.dtype.kind == "f":
        return a, b
    return cast_operands(a, b, dtype=result_type(a, b))


def cast_operands(*operands, dtype: np.dtype):
    """Arrays converted to ``dtype``; Python numbers stay as they are (NumPy treats
    them as weak, so they take the arrays' dtype)."""
    return tuple(x.astype(dtype, copy=False) if isinstance(x, np.ndarray) else x
                 for x in operands)


def float_dtype(dtype: np.dtype) -> np.dtype:
    """Integer and bool inputs of a floating-point op (division, exp, sqrt) compute in
    float32, PyTorch's default float dtype, not NumPy's float64."""
    return dtype if dtype.kind in "fc" else np.dtype(np.float32)


def default_dtype(array: np.ndarray) -> np.dtype:
    """PyTorch's defaults for data given as Python numbers: float32, int64, bool."""
    if array.dtype.kind == "f":
        return np.dtype(np.float32)
    if array.dtype.kind in "iu":
        return np.dtype(np.int64)
    return array.dtype
