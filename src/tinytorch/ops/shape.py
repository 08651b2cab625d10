"""Shape and indexing ops: views in NumPy, and gradients routed back (Modules 02, 06).

Most of these move no data (NumPy returns views), so their forward is nearly
free; their backward is the inverse rearrangement of the gradient.
"""

from __future__ import annotations

import numpy as np

from tinytorch.autograd import Function
from tinytorch.ops._broadcast import cast_operands, result_type

# ---- shape arithmetic behind Tensor.transpose/squeeze/unsqueeze/flatten/expand -------------


def shape_args(shape: tuple) -> tuple[int, ...]:
    """Accept ``f(2, 3)`` and ``f((2, 3))`` like PyTorch."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def transpose_order(ndim: int, dim0: int, dim1: int) -> tuple[int, ...]:
    """The permutation that swaps dims ``dim0`` and ``dim1`` of an ``ndim``-D tensor."""
    for d in (dim0, dim1):
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"transpose: dim {d} is out of range for a {ndim}-D tensor")
    if ndim == 0:  # dims 0 and -1 of a 0-d tensor: nothing to swap
        return ()
    order = list(range(ndim))
    order[dim0], order[dim1] = order[dim1], order[dim0]
    return tuple(order)


def squeeze_shape(shape: tuple[int, ...], dim=None) -> tuple[int, ...]:
    """``shape`` without its size-1 dims (all, or those in ``dim``: an int or a tuple)."""
    from tinytorch.ops.reductions import normalize_dims

    if dim is None:
        return tuple(n for n in shape if n != 1)
    axes = normalize_dims(dim, len(shape), "squeeze") or ()  # a dim of size != 1 stays
    return tuple(n for i, n in enumerate(shape) if not (i in axes and n == 1))


def unsqueeze_shape(shape: tuple[int, ...], dim: int) -> tuple[int, ...]:
    ndim = len(shape)
    if not -ndim - 1 <= dim <= ndim:
        raise IndexError(f"unsqueeze: dim {dim} is out of range for a {ndim}-D tensor")
    axis = dim % (ndim + 1)
    return shape[:axis] + (1,) + shape[axis:]


def flatten_shape(shape: tuple[int, ...], start_dim: int, end_dim: int) -> tuple[int, ...]:
    if not shape:
        return (1,)
    start, end = start_dim % len(shape), end_dim % len(shape)
    return shape[:start] + (-1,) + shape[end + 1:]


def expand_shape(shape: tuple[int, ...], sizes: tuple[int, ...]) -> tuple[int, ...]:
    """``sizes`` with each -1 replaced by the existing size of that dim."""
    offset = len(sizes) - len(shape)
    return tuple(shape[i - offset] if n == -1 else n for i, n in enumerate(sizes))


# ---- the Functions ----------------------------------------------------------------------------


class Reshape(Function):
    def forward(self, a, shape):
        # BEGIN SOLUTION 02
        a = np.asarray(a)
        self.shape = a.shape
        try:
            return a.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {self.shape} "
                             f"({int(np.prod(self.shape))} elements) into {tuple(shape)}") from None
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return np.reshape(grad, self.shape), None
        # END SOLUTION


class Permute(Function):
    def forward(self, a, dims):
        # BEGIN SOLUTION 02
        ndim = np.ndim(a)
        if dims != (1, 0) or ndim != 2:  # a matrix transpose needs no checks
            dims = tuple(int(d) % ndim if -ndim <= d < ndim else d for d in dims)
        if sorted(dims) != list(range(ndim)):
            raise ValueError(f"permute: {tuple(dims)} is not a permutation of the {ndim} dims "
                             f"of a tensor with shape {np.shape(a)}")
        inverse = [0] * ndim
        for position, d in enumerate(dims):
            inverse[d] = position
        self.inverse = tuple(inverse)
        return np.asarray(a).transpose(dims)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return np.transpose(grad, self.inverse), None
        # END SOLUTION


class Expand(Function):
    """Broadcast to a larger shape without copying; gradient sums back."""

    def forward(self, a, shape):
        from tinytorch.ops._broadcast import broadcast_shape

        # BEGIN SOLUTION 02
        self.shape = np.shape(a)
        if broadcast_shape("expand", self.shape, shape) != tuple(shape):
            raise ValueError(f"expand: cannot expand shape {self.shape} to {tuple(shape)}")
        return np.broadcast_to(a, shape)
        # END SOLUTION

    def backward(self, grad):
        from tinytorch.ops._broadcast import unbroadcast

        # BEGIN SOLUTION 06
        return unbroadcast(grad, self.shape), None
        # END SOLUTION


def _has_advanced_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (list, np.ndarray)) for i in items)


class GetItem(Function):
    """a[index]; the gradient is scattered back to the positions that were read.

    Integer-array indexing may read one position several times, so its
    backward must *add* (``np.add.at``), not assign.
    """

    def forward(self, a, index):
        # BEGIN SOLUTION 02
        self.shape, self.dtype, self.index = np.shape(a), np.asarray(a).dtype, index
        try:
            return np.asarray(a[index])
        except IndexError as exc:
            raise IndexError(f"index {index!r} is invalid for a tensor of shape {self.shape}: "
                             f"{exc}") from None
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        out = np.zeros(self.shape, dtype=grad.dtype)
        if _has_advanced_index(self.index):
            np.add.at(out, self.index, grad)
        else:
            out[self.index] = grad
        return out, None
        # END SOLUTION


class Cat(Function):
    def forward(self, *arrays, dim=0):
        # BEGIN SOLUTION 02
        if not arrays:
            raise ValueError("cat: expected a non-empty sequence of tensors")
        ndim = np.ndim(arrays[0])
        if not -ndim <= dim < ndim:
            raise IndexError(f"cat: dim {dim} is out of range for {ndim}-D tensors")
        self.dim = dim % ndim
        for a in arrays[1:]:
            s0, s = np.shape(arrays[0]), np.shape(a)
            outside = s[:self.dim] + s[self.dim + 1:], s0[:self.dim] + s0[self.dim + 1:]
            if len(s) != ndim or outside[0] != outside[1]:
                raise ValueError(f"cat: shapes {s0} and {s} differ outside dim {dim}")
        self.splits = np.cumsum([np.shape(a)[self.dim] for a in arrays])[:-1]
        # PyTorch's promotion: float32 with int64 stays float32 (NumPy would give float64)
        return np.concatenate(cast_operands(*arrays, dtype=result_type(*arrays)), axis=self.dim)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return tuple(np.split(grad, self.splits, axis=self.dim))
        # END SOLUTION


class Stack(Function):
    def forward(self, *arrays, dim=0):
        # BEGIN SOLUTION 02
        if not arrays:
            raise ValueError("stack: expected a non-empty sequence of tensors")
        shapes = {np.shape(a) for a in arrays}
        if len(shapes) != 1:
            raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
        ndim = np.ndim(arrays[0]) + 1
        if not -ndim <= dim < ndim:
            raise IndexError(f"stack: dim {dim} is out of range for the {ndim}-D result")
        self.dim = dim % ndim
        return np.stack(cast_operands(*arrays, dtype=result_type(*arrays)), axis=self.dim)
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 06
        return tuple(np.moveaxis(grad, self.dim, 0))
        # END SOLUTION
