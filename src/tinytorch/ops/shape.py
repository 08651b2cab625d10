"""Shape and indexing ops: views in NumPy, and gradients routed back (Modules 02, 06).

Most of these move no data (NumPy returns views), so their forward is nearly
free; their backward is the inverse rearrangement of the gradient.
"""

from __future__ import annotations

import numpy as np

from tinytorch.autograd import Function
from tinytorch.ops._broadcast import cast_operands, result_type


class Reshape(Function):
    def forward(self, a, shape):
        self.shape = np.shape(a)
        try:
            return np.reshape(a, shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {self.shape} "
                             f"({int(np.prod(self.shape))} elements) into {tuple(shape)}") from None

    def backward(self, grad):
        return np.reshape(grad, self.shape), None


class Permute(Function):
    def forward(self, a, dims):
        ndim = np.ndim(a)
        dims = tuple(int(d) % ndim if -ndim <= d < ndim else d for d in dims)
        if sorted(dims) != list(range(ndim)):
            raise ValueError(f"permute: {tuple(dims)} is not a permutation of the {ndim} dims "
                             f"of a tensor with shape {np.shape(a)}")
        self.inverse = tuple(np.argsort(dims))
        return np.transpose(a, dims)

    def backward(self, grad):
        return np.transpose(grad, self.inverse), None


class Expand(Function):
    """Broadcast to a larger shape without copying; gradient sums back."""

    def forward(self, a, shape):
        from tinytorch.ops._broadcast import broadcast_shape

        self.shape = np.shape(a)
        if broadcast_shape("expand", self.shape, shape) != tuple(shape):
            raise ValueError(f"expand: cannot expand shape {self.shape} to {tuple(shape)}")
        return np.broadcast_to(a, shape)

    def backward(self, grad):
        from tinytorch.ops._broadcast import unbroadcast

        return unbroadcast(grad, self.shape), None


def _has_advanced_index(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (list, np.ndarray)) for i in items)


class GetItem(Function):
    """a[index]; the gradient is scattered back to the positions that were read.

    Integer-array indexing may read one position several times, so its
    backward must *add* (``np.add.at``), not assign.
    """

    def forward(self, a, index):
        self.shape, self.dtype, self.index = np.shape(a), np.asarray(a).dtype, index
        try:
            return np.asarray(a[index])
        except IndexError as exc:
            raise IndexError(f"index {index!r} is invalid for a tensor of shape {self.shape}: "
                             f"{exc}") from None

    def backward(self, grad):
        out = np.zeros(self.shape, dtype=grad.dtype)
        if _has_advanced_index(self.index):
            np.add.at(out, self.index, grad)
        else:
            out[self.index] = grad
        return out, None


class Cat(Function):
    def forward(self, *arrays, dim=0):
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

    def backward(self, grad):
        return tuple(np.split(grad, self.splits, axis=self.dim))


class Stack(Function):
    def forward(self, *arrays, dim=0):
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

    def backward(self, grad):
        return tuple(np.moveaxis(grad, self.dim, 0))
