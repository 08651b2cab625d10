"""Reductions: sum, mean, max/min, var (Module 02) and their gradients (Module 06)."""

from __future__ import annotations

import math

import numpy as np

from tinytorch.autograd import Function


def normalize_dims(dim, ndim: int, op: str) -> tuple[int, ...] | None:
    """``dim`` (None, int or tuple) as a tuple of non-negative axes; None means all.

    Like PyTorch, an empty tuple also means all dims, and a 0-d tensor accepts
    dim 0 or -1 (reducing its one element over "all" dims leaves it unchanged).
    """
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"{op}: dim {d} is out of range for a tensor with {ndim} dims")
        out.append(int(d) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dim {dim} repeats an axis")
    if not out or ndim == 0:
        return None
    return tuple(sorted(out))


def arg_extreme(a: np.ndarray, dim, keepdim: bool, largest: bool) -> np.ndarray:
    """int64 index of the max (``largest``) or min along ``dim`` (None: of the flattened array)."""
    pick = np.argmax if largest else np.argmin
    if dim is None:
        return np.asarray(pick(a), dtype=np.int64)
    axes = normalize_dims(dim, a.ndim, "argmax" if largest else "argmin")
    if axes is None:  # 0-d: the only element is at index 0
        return np.zeros((), dtype=np.int64)
    (axis,) = axes
    return pick(a, axis=axis, keepdims=keepdim).astype(np.int64)


def _expand_back(grad: np.ndarray, shape: tuple[int, ...], dims, keepdim: bool) -> np.ndarray:
    """Re-insert the reduced axes so ``grad`` broadcasts against the input."""
    if dims is None:
        return np.reshape(grad, (1,) * len(shape)) if not keepdim else grad
    if not keepdim:
        grad = np.expand_dims(grad, dims)
    return grad


class Sum(Function):
    def forward(self, a, dim=None, keepdim=False):
        # BEGIN SOLUTION 02
        self.shape = np.shape(a)
        self.dims, self.keepdim = normalize_dims(dim, np.ndim(a), "sum"), keepdim
        return np.sum(a, axis=self.dims, keepdims=keepdim)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        grad = _expand_back(grad, self.shape, self.dims, self.keepdim)
        return (np.broadcast_to(grad, self.shape).copy(),)
        # END SOLUTION


class Mean(Function):
    def forward(self, a, dim=None, keepdim=False):
        # BEGIN SOLUTION 02
        self.shape = np.shape(a)
        self.dims, self.keepdim = normalize_dims(dim, np.ndim(a), "mean"), keepdim
        axes = self.dims if self.dims is not None else range(np.ndim(a))
        self.count = math.prod(self.shape[d] for d in axes)
        return np.mean(a, axis=self.dims, keepdims=keepdim)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        grad = _expand_back(grad, self.shape, self.dims, self.keepdim)
        return (np.broadcast_to(grad / self.count, self.shape).copy(),)
        # END SOLUTION


class Var(Function):
    """Variance with ``correction`` (1 = unbiased, PyTorch's default)."""

    def forward(self, a, dim=None, keepdim=False, correction=1):
        # BEGIN SOLUTION 02
        self.dims, self.keepdim = normalize_dims(dim, np.ndim(a), "var"), keepdim
        axes = self.dims if self.dims is not None else tuple(range(np.ndim(a)))
        count = math.prod(np.shape(a)[d] for d in axes)
        self.centered = a - np.mean(a, axis=axes, keepdims=True)
        self.denominator = max(count - correction, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (np.sum(self.centered ** 2, axis=self.dims, keepdims=keepdim)
                    / self.denominator).astype(np.asarray(a).dtype, copy=False)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        grad = _expand_back(grad, self.centered.shape, self.dims, self.keepdim)
        return (grad * 2 * self.centered / self.denominator,)
        # END SOLUTION


class MaxAll(Function):
    """max/min over all elements; ties share the gradient equally (PyTorch's rule)."""

    def forward(self, a, largest=True):
        # BEGIN SOLUTION 02
        if np.size(a) == 0:
            raise ValueError("max()/min() of an empty tensor is undefined; pass dim=...")
        value = np.max(a) if largest else np.min(a)
        self.mask = a == value
        return np.asarray(value)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return (self.mask * (grad / self.mask.sum()),)
        # END SOLUTION


class MaxDim(Function):
    """max/min along one dim; the gradient goes to the index that was returned."""

    def forward(self, a, dim, keepdim=False, largest=True):
        # BEGIN SOLUTION 02
        axes = normalize_dims(dim, np.ndim(a), "max" if largest else "min")
        self.zero_d = axes is None
        if self.zero_d:  # a 0-d tensor is its own max along dim 0
            return np.array(a, copy=True)
        (self.dim,) = axes
        if np.shape(a)[self.dim] == 0:
            raise ValueError(f"max()/min() along dim {dim} of size 0 is undefined")
        self.shape, self.keepdim = np.shape(a), keepdim
        pick = np.argmax if largest else np.argmin
        self.indices = np.expand_dims(pick(a, axis=self.dim), self.dim)
        values = np.take_along_axis(a, self.indices, axis=self.dim)
        return values if keepdim else np.squeeze(values, self.dim)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        if self.zero_d:
            return (grad,)
        if not self.keepdim:
            grad = np.expand_dims(grad, self.dim)
        out = np.zeros(self.shape, dtype=grad.dtype)
        np.put_along_axis(out, self.indices, grad, axis=self.dim)
        return (out,)
        # END SOLUTION
