"""Module 02 Tensor: an n-dimensional array with a gradient (Module 06).

A ``Tensor`` wraps a NumPy array (``.data``) and, when ``requires_grad`` is
set, remembers the operation that produced it (``.grad_fn``) so that
``backward()`` can compute gradients. The operations themselves live in
``tinytorch.ops``: each is a forward rule next to its backward rule.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from tinytorch import autograd
from tinytorch.ops import activations
from tinytorch.ops import arithmetic as A
from tinytorch.ops import reductions as R
from tinytorch.ops import shape as S
from tinytorch.ops._broadcast import broadcast_shape, default_dtype
from tinytorch.ops.linalg import MatMul
from tinytorch.ops.shape import shape_args as _shape_args

__all__ = ["Tensor", "as_array"]

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def as_array(data: Any, dtype: Any = None) -> np.ndarray:
    """Convert tensor-like ``data`` to a NumPy array following PyTorch's dtype rules.

    NumPy arrays keep their dtype; Python numbers and lists become float32,
    int64 or bool.
    """
    if isinstance(data, Tensor):
        array = data.data
    elif isinstance(data, np.ndarray):
        array = data
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
            data = [x.data if isinstance(x, Tensor) else x for x in data]
        try:
            array = np.asarray(data)
        except ValueError:
            array = None
        if array is None or array.dtype == object:
            raise TypeError(f"cannot build a tensor from this {type(data).__name__}: "
                            "nested sequences must be rectangular and numeric")
        if dtype is None:
            array = array.astype(default_dtype(array), copy=False)
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    return array


def _index(index: Any) -> Any:
    """Tensors used as indices become NumPy arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


def _binary(op, a: Any, b: Any):
    """Apply a binary op, or return NotImplemented for operands that are not numeric (then
    Python raises its usual "unsupported operand" TypeError)."""
    if isinstance(a, _OPERANDS) and isinstance(b, _OPERANDS):
        return op.apply(a, b)
    return NotImplemented


class Tensor:
    """An n-dimensional array that can track gradients.

    ``Tensor(data, dtype=None, requires_grad=False)``: ``data`` is a number,
    a (nested) list, a NumPy array or another Tensor.
    """

    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected op
    # A fixed set of attributes: no per-instance dict, so a Tensor is smaller and faster
    # to create (every op makes one). Subclasses such as Parameter may add their own.
    __slots__ = ("data", "grad", "grad_fn", "requires_grad", "_retains_grad", "__weakref__")

    def __init__(self, data: Any, dtype: Any = None, requires_grad: bool = False) -> None:
        self.data: np.ndarray = as_array(data, dtype)
        self.grad: Tensor | None = None
        self.grad_fn: autograd.Function | None = None
        self._retains_grad = False
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array: Any, requires_grad: bool = False) -> Tensor:
        """Wrap an op's result without conversion (internal fast path)."""
        t = cls.__new__(cls)
        # NumPy returns scalars (np.float32) for 0-d results; everything else is an array
        t.data = array if type(array) is np.ndarray else np.asarray(array)
        t.grad, t.grad_fn, t._retains_grad, t.requires_grad = None, None, False, requires_grad
        return t

    # ---- properties -------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def T(self) -> Tensor:
        return S.Permute.apply(self, tuple(range(self.ndim - 1, -1, -1)))

    def size(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self) -> int:
        return self.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def item(self) -> float | int | bool:
        if self.data.size != 1:
            raise ValueError(f"item(): only one-element tensors can be converted to Python "
                             f"scalars; this one has shape {self.shape}")
        return self.data.reshape(()).item()

    def numpy(self) -> np.ndarray:
        return self.data

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__  # tensors are identities (dict keys in optimizers), like PyTorch

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="tensor(", precision=4)
        extras = []
        if self.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn={self.grad_fn!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"

    # ---- autograd ---------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and self.dtype.kind != "f":
            raise RuntimeError(f"only floating-point tensors can require gradients, this one "
                               f"has dtype {self.dtype}")
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        self._retains_grad = True

    def _accumulate_grad(self, grad: np.ndarray) -> None:
        grad = np.asarray(grad, dtype=self.dtype)
        # copy on first write: the array may be shared with another input's gradient
        self.grad = Tensor._wrap(grad.copy() if self.grad is None else self.grad.data + grad)

    def backward(self, gradient: Any = None, retain_graph: bool = False) -> None:
        """Compute gradients of this tensor with respect to every leaf that requires grad.

        ``gradient`` (dL/dself, this tensor's shape) may be omitted for a scalar."""
        autograd.backward(self, gradient, retain_graph=retain_graph)

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor._wrap(self.data)

    def clone(self) -> Tensor:
        return A.Cast.apply(self, self.dtype) if self.requires_grad else Tensor._wrap(
            self.data.copy())

    # ---- dtype conversion -------------------------------------------------
    def to(self, dtype: Any) -> Tensor:
        return self if np.dtype(dtype) == self.dtype else A.Cast.apply(self, np.dtype(dtype))

    def float(self) -> Tensor:
        return self.to(np.float32)

    def double(self) -> Tensor:
        return self.to(np.float64)

    def long(self) -> Tensor:
        return self.to(np.int64)

    def int(self) -> Tensor:
        return self.to(np.int32)

    def bool(self) -> Tensor:
        return self.to(np.bool_)

    # ---- arithmetic -------------------------------------------------------
    # Operands: Tensors, Python/NumPy numbers and NumPy arrays. Anything else returns
    # NotImplemented, so Python raises its usual "unsupported operand" TypeError.
    def __add__(self, other): return _binary(A.Add, self, other)
    def __radd__(self, other): return _binary(A.Add, other, self)
    def __sub__(self, other): return _binary(A.Sub, self, other)
    def __rsub__(self, other): return _binary(A.Sub, other, self)
    def __mul__(self, other): return _binary(A.Mul, self, other)
    def __rmul__(self, other): return _binary(A.Mul, other, self)
    def __truediv__(self, other): return _binary(A.Div, self, other)
    def __rtruediv__(self, other): return _binary(A.Div, other, self)
    def __pow__(self, other): return _binary(A.Pow, self, other)
    def __rpow__(self, other): return _binary(A.Pow, other, self)
    def __neg__(self): return A.Neg.apply(self)
    def __pos__(self): return self
    def __matmul__(self, other): return _binary(MatMul, self, other)
    def __rmatmul__(self, other): return _binary(MatMul, other, self)

    add, sub, mul, div, pow, matmul = __add__, __sub__, __mul__, __truediv__, __pow__, __matmul__

    def neg(self) -> Tensor: return A.Neg.apply(self)
    def exp(self) -> Tensor: return A.Exp.apply(self)
    def log(self) -> Tensor: return A.Log.apply(self)
    def sqrt(self) -> Tensor: return A.Sqrt.apply(self)
    def abs(self) -> Tensor: return A.Abs.apply(self)

    def clamp(self, min=None, max=None) -> Tensor:
        return A.Clamp.apply(self, min=min, max=max)

    clip = clamp

    def masked_fill(self, mask, value) -> Tensor:
        return A.MaskedFill.apply(self, mask, value)

    # ---- comparisons (no gradient) ----------------------------------------
    def _compare(self, other, op) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
        broadcast_shape(op.__name__, self.shape, np.shape(other))
        return Tensor._wrap(op(self.data, other))

    def __eq__(self, other): return self._compare(other, np.equal)  # type: ignore[override]
    def __ne__(self, other): return self._compare(other, np.not_equal)  # type: ignore[override]
    def __lt__(self, other): return self._compare(other, np.less)
    def __le__(self, other): return self._compare(other, np.less_equal)
    def __gt__(self, other): return self._compare(other, np.greater)
    def __ge__(self, other): return self._compare(other, np.greater_equal)

    # ---- reductions -------------------------------------------------------
    def sum(self, dim=None, keepdim: bool = False) -> Tensor:
        return R.Sum.apply(self, dim=dim, keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False) -> Tensor:
        return R.Mean.apply(self, dim=dim, keepdim=keepdim)

    def var(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int = 1) -> Tensor:
        """Variance over ``dim``; PyTorch's argument order: ``var(dim, unbiased, keepdim)``."""
        if unbiased is not None:
            correction = 1 if unbiased else 0
        return R.Var.apply(self, dim=dim, keepdim=keepdim, correction=correction)

    def std(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int = 1) -> Tensor:
        return self.var(dim, unbiased, keepdim, correction=correction).sqrt()

    def _extreme(self, dim, keepdim: bool, largest: bool):
        if dim is None:
            return R.MaxAll.apply(self, largest=largest)
        values = R.MaxDim.apply(self, dim=dim, keepdim=keepdim, largest=largest)
        return MaxResult(values, self._arg(dim, keepdim, largest))

    def max(self, dim=None, keepdim: bool = False):
        """Largest element; with ``dim``, a ``(values, indices)`` pair like ``torch.max``."""
        return self._extreme(dim, keepdim, True)

    def min(self, dim=None, keepdim: bool = False):
        return self._extreme(dim, keepdim, False)

    def _arg(self, dim, keepdim: bool, largest: bool) -> Tensor:
        return Tensor._wrap(R.arg_extreme(self.data, dim, keepdim, largest))

    def argmax(self, dim=None, keepdim: bool = False) -> Tensor:
        return self._arg(dim, keepdim, True)

    def argmin(self, dim=None, keepdim: bool = False) -> Tensor:
        return self._arg(dim, keepdim, False)

    # ---- shape ------------------------------------------------------------
    def reshape(self, *shape) -> Tensor:
        return S.Reshape.apply(self, _shape_args(shape))

    view = reshape

    def permute(self, *dims) -> Tensor:
        return S.Permute.apply(self, _shape_args(dims))

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return self.permute(S.transpose_order(self.ndim, dim0, dim1))

    def squeeze(self, dim=None) -> Tensor:
        return self.reshape(S.squeeze_shape(self.shape, dim))

    def unsqueeze(self, dim: int) -> Tensor:
        return self.reshape(S.unsqueeze_shape(self.shape, dim))

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return self.reshape(S.flatten_shape(self.shape, start_dim, end_dim))

    def expand(self, *sizes) -> Tensor:
        return S.Expand.apply(self, S.expand_shape(self.shape, _shape_args(sizes)))

    def contiguous(self) -> Tensor:
        return self

    def __getitem__(self, index) -> Tensor:
        return S.GetItem.apply(self, _index(index))

    def __setitem__(self, index, value) -> None:
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError("in-place assignment into a tensor that requires grad would "
                               "corrupt its gradient; do it under tinytorch.no_grad()")
        self.data[_index(index)] = value.data if isinstance(value, Tensor) else value

    # ---- activations (Module 03, defined once in ops/activations.py) -------
    def relu(self) -> Tensor:
        return activations.relu(self)

    def sigmoid(self) -> Tensor:
        return activations.sigmoid(self)

    def tanh(self) -> Tensor:
        return activations.tanh(self)

    def softmax(self, dim: int) -> Tensor:
        return activations.softmax(self, dim)

    def log_softmax(self, dim: int) -> Tensor:
        return activations.log_softmax(self, dim)

    # ---- in-place helpers (optimizers, initialisers; no graph) --------------
    def zero_(self) -> Tensor:
        self.data[...] = 0
        return self

    def fill_(self, value) -> Tensor:
        self.data[...] = value
        return self

    def copy_(self, src) -> Tensor:
        src = as_array(src)
        if np.broadcast_shapes(src.shape, self.shape) != self.shape:
            raise ValueError(f"copy_: source shape {src.shape} does not fit shape {self.shape}")
        self.data[...] = src
        return self


#: what a Tensor operator accepts on either side
_OPERANDS = (Tensor, int, float, bool, np.number, np.bool_, np.ndarray)
