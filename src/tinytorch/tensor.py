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
from tinytorch.ops import arithmetic as A
from tinytorch.ops import reductions as R
from tinytorch.ops import shape as S
from tinytorch.ops._broadcast import broadcast_shape
from tinytorch.ops.linalg import MatMul

__all__ = ["Tensor", "as_array"]

MaxResult = namedtuple("MaxResult", ["values", "indices"])


def _default_dtype(array: np.ndarray) -> np.dtype:
    """PyTorch's defaults for data given as Python numbers: float32, int64, bool."""
    if array.dtype.kind == "f":
        return np.dtype(np.float32)
    if array.dtype.kind in "iu":
        return np.dtype(np.int64)
    return array.dtype


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
            array = array.astype(_default_dtype(array), copy=False)
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


def _shape_args(shape: tuple) -> tuple[int, ...]:
    """Accept ``f(2, 3)`` and ``f((2, 3))`` like PyTorch."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


_OPERAND_TYPES = (int, float, bool, np.number, np.bool_, np.ndarray)


def _binary(op, a: Any, b: Any):
    """Apply a binary op, or return NotImplemented for operands that are not numeric."""
    for x in (a, b):
        if not isinstance(x, (Tensor, *_OPERAND_TYPES)):
            return NotImplemented
    return op.apply(a, b)


class Tensor:
    """An n-dimensional array that can track gradients.

    ``Tensor(data, dtype=None, requires_grad=False)``: ``data`` is a number,
    a (nested) list, a NumPy array or another Tensor.
    """

    __array_priority__ = 1000  # ndarray <op> Tensor defers to Tensor's reflected op

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
        t.data = np.asarray(array)
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
        return self.permute(*reversed(range(self.ndim)))

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
        """Compute gradients of this tensor with respect to every leaf that requires grad."""
        if not self.requires_grad:
            raise RuntimeError("backward(): this tensor does not require grad and has no "
                               "grad_fn; set requires_grad=True on the inputs you differentiate")
        if gradient is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward(): the tensor has shape {self.shape}, not a scalar. Pass "
                    f"gradient=<tensor of shape {self.shape}> (the upstream dL/dthis), or "
                    f"reduce it first, e.g. out.sum().backward()")
            seed = np.ones(self.shape, dtype=self.dtype)
        else:
            seed = as_array(gradient, self.dtype)
            if seed.shape != self.shape:
                raise RuntimeError(f"backward(): gradient has shape {seed.shape} but the tensor "
                                   f"has shape {self.shape}")
        autograd.backward(self, seed, retain_graph=retain_graph)

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
        pick = np.argmax if largest else np.argmin
        if dim is None:
            return Tensor._wrap(np.asarray(pick(self.data), dtype=np.int64))
        axes = R.normalize_dims(dim, self.ndim, "argmax" if largest else "argmin")
        if axes is None:  # 0-d: the only element is at index 0
            return Tensor._wrap(np.zeros((), dtype=np.int64))
        (axis,) = axes
        return Tensor._wrap(pick(self.data, axis=axis, keepdims=keepdim).astype(np.int64))

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
        for d in (dim0, dim1):
            if not -max(self.ndim, 1) <= d < max(self.ndim, 1):
                raise IndexError(f"transpose: dim {d} is out of range for a {self.ndim}-D tensor")
        if self.ndim == 0:  # dims 0 and -1 of a 0-d tensor: nothing to swap
            return self.permute()
        order = list(range(self.ndim))
        order[dim0], order[dim1] = order[dim1], order[dim0]
        return self.permute(*order)

    def squeeze(self, dim=None) -> Tensor:
        if dim is None:
            shape = tuple(n for n in self.shape if n != 1)
        else:  # an int or a tuple of dims; a dim whose size is not 1 is left alone
            axes = R.normalize_dims(dim, self.ndim, "squeeze") or ()
            shape = tuple(n for i, n in enumerate(self.shape) if not (i in axes and n == 1))
        return self.reshape(shape)

    def unsqueeze(self, dim: int) -> Tensor:
        if not -self.ndim - 1 <= dim <= self.ndim:
            raise IndexError(f"unsqueeze: dim {dim} is out of range for a {self.ndim}-D tensor")
        axis = dim % (self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        start, end = start_dim % self.ndim, end_dim % self.ndim
        return self.reshape(self.shape[:start] + (-1,) + self.shape[end + 1:])

    def expand(self, *sizes) -> Tensor:
        sizes = _shape_args(sizes)
        offset = len(sizes) - self.ndim
        shape = tuple(self.shape[i - offset] if n == -1 else n for i, n in enumerate(sizes))
        return S.Expand.apply(self, shape)

    def contiguous(self) -> Tensor:
        return self

    def __getitem__(self, index) -> Tensor:
        return S.GetItem.apply(self, _index(index))

    def __setitem__(self, index, value) -> None:
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError("in-place assignment into a tensor that requires grad would "
                               "corrupt its gradient; do it under tinytorch.no_grad()")
        self.data[_index(index)] = value.data if isinstance(value, Tensor) else value

    # ---- activations (defined once, in nn.functional) -----------------------
    def relu(self) -> Tensor:
        from tinytorch.nn import functional as F
        return F.relu(self)

    def sigmoid(self) -> Tensor:
        from tinytorch.nn import functional as F
        return F.sigmoid(self)

    def tanh(self) -> Tensor:
        from tinytorch.nn import functional as F
        return F.tanh(self)

    def softmax(self, dim: int) -> Tensor:
        from tinytorch.nn import functional as F
        return F.softmax(self, dim)

    def log_softmax(self, dim: int) -> Tensor:
        from tinytorch.nn import functional as F
        return F.log_softmax(self, dim)

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
