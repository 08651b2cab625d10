"""``softmax`` as plain Python loops, one row at a time: the executable specification."""

from __future__ import annotations

import math

import numpy as np


def _rows(x: np.ndarray, axis: int) -> tuple[list[list[float]], np.ndarray]:
    """The rows along ``axis`` as Python lists, and the moved view they came from."""
    moved = np.moveaxis(x, axis, -1)
    return moved.reshape(int(np.prod(moved.shape[:-1])), moved.shape[-1]).tolist(), moved


def _back(out: list[list[float]], moved: np.ndarray, axis: int, dtype) -> np.ndarray:
    return np.moveaxis(np.array(out, dtype=dtype).reshape(moved.shape), -1, axis)


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """y = exp(x - max(x)) / sum(exp(x - max(x))) along ``axis``."""
    rows, moved = _rows(x, axis)
    out: list[list[float]] = []
    # BEGIN SOLUTION 03
    for row in rows:
        if not row:
            out.append([])
            continue
        row_max = max(row)
        if math.isnan(row_max) or any(math.isnan(v) for v in row) or row_max == -math.inf:
            out.append([math.nan] * len(row))  # NaN propagates; all -inf has no finite max
            continue
        exps = [math.exp(v - row_max) for v in row]
        total = sum(exps)
        out.append([e / total for e in exps])
    # END SOLUTION
    return _back(out, moved, axis, x.dtype)


def log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    """y = x - max(x) - log(sum(exp(x - max(x)))) along ``axis``."""
    rows, moved = _rows(x, axis)
    out: list[list[float]] = []
    # BEGIN SOLUTION 03
    for row in rows:
        if not row:
            out.append([])
            continue
        row_max = max(row)
        if math.isnan(row_max) or any(math.isnan(v) for v in row) or row_max == -math.inf:
            out.append([math.nan] * len(row))
            continue
        log_total = math.log(sum(math.exp(v - row_max) for v in row))
        out.append([v - row_max - log_total for v in row])
    # END SOLUTION
    return _back(out, moved, axis, x.dtype)
