"""Module 18: how sparse a model is, and sparsity that is not stored or multiplied.

``sparsity(model)`` counts zero weights per layer and in all. A masked model
still stores and multiplies its zeros; ``CSRMatrix`` stores only the nonzeros
(values + column indices + one pointer per row) and ``SparseLinear`` runs a
pruned Linear on the CSR x dense kernel of ``backends/sparse``. Whether that is
*faster* than the dense sgemm depends on the sparsity and the CPU:
``benchmarks/bench_sparse.py`` measures the crossover.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinytorch import backends
from tinytorch.autograd import is_grad_enabled
from tinytorch.nn.conv import Conv2d
from tinytorch.nn.linear import Linear
from tinytorch.nn.module import Module
from tinytorch.tensor import Tensor

__all__ = ["CSRMatrix", "LayerSparsity", "SparseLinear", "SparsityReport", "effective_weight",
           "sparsity"]

_INT32_MAX = np.iinfo(np.int32).max


def effective_weight(module: Module, name: str = "weight") -> np.ndarray:
    """The tensor the layer computes with: ``<name>_orig * <name>_mask`` when pruned
    (fresh, even before the next forward), else the parameter itself."""
    if name + "_mask" in module._buffers:
        return module._parameters[name + "_orig"].data * module._buffers[name + "_mask"].data
    return getattr(module, name).data


@dataclass(frozen=True)
class LayerSparsity:
    name: str
    nonzero: int
    total: int

    @property
    def sparsity(self) -> float:
        return 1.0 - self.nonzero / self.total if self.total else 0.0


@dataclass(frozen=True)
class SparsityReport:
    """Per layer and global counts of the weights of Linear and Conv2d layers."""

    layers: tuple[LayerSparsity, ...]

    @property
    def nonzero(self) -> int:
        return sum(layer.nonzero for layer in self.layers)

    @property
    def total(self) -> int:
        return sum(layer.total for layer in self.layers)

    @property
    def sparsity(self) -> float:
        """Global: the fraction of all weights that are zero."""
        return 1.0 - self.nonzero / self.total if self.total else 0.0

    @property
    def compression(self) -> float:
        """total / nonzero weights: Han et al.'s "12x" for LeNet-300-100."""
        return self.total / self.nonzero if self.nonzero else float("inf")

    def __getitem__(self, name: str) -> LayerSparsity:
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise KeyError(f"no layer {name!r}; layers: {', '.join(x.name for x in self.layers)}")

    def __str__(self) -> str:
        lines = [f"{'layer':<14}{'nonzero':>10}{'total':>10}{'sparsity':>10}"]
        for x in (*self.layers, LayerSparsity("global", self.nonzero, self.total)):
            lines.append(f"{x.name:<14}{x.nonzero:>10,}{x.total:>10,}{x.sparsity:>10.1%}")
        return "\n".join(lines) + f"\n({self.compression:.1f}x fewer nonzero weights)"


def sparsity(model: Module, include_bias: bool = False) -> SparsityReport:
    """Zeros in the weights of every Linear and Conv2d of ``model`` (pruned or not)."""
    layers = []
    for name, module in model.named_modules():
        if not isinstance(module, (Linear, Conv2d)):
            continue
        tensors = [effective_weight(module, "weight")]
        if include_bias and module.bias is not None:
            tensors.append(effective_weight(module, "bias"))
        layers.append(LayerSparsity(name or type(module).__name__,
                                    sum(int(np.count_nonzero(t)) for t in tensors),
                                    sum(t.size for t in tensors)))
    if not layers:
        raise ValueError(f"sparsity: {type(model).__name__} has no Linear or Conv2d layer")
    return SparsityReport(tuple(layers))


class CSRMatrix:
    """A 2-D float32 matrix in compressed sparse row form (the layout of
    ``torch.sparse_csr_tensor`` and ``scipy.sparse.csr_matrix``)::

        values      (nnz,)    float32  the nonzeros, row by row, columns ascending
        col_indices (nnz,)    int32    the column of each nonzero
        row_ptr     (M + 1,)  int32    row i is values[row_ptr[i]:row_ptr[i + 1]]
    """

    def __init__(self, values: np.ndarray, col_indices: np.ndarray, row_ptr: np.ndarray,
                 shape: tuple[int, int]) -> None:
        self.values, self.col_indices, self.row_ptr = values, col_indices, row_ptr
        self.shape = (int(shape[0]), int(shape[1]))
        if len(row_ptr) != self.shape[0] + 1:
            raise ValueError(f"CSRMatrix: row_ptr has {len(row_ptr)} entries, a matrix of "
                             f"shape {self.shape} needs {self.shape[0] + 1}")

    @classmethod
    def from_dense(cls, dense: np.ndarray | Tensor) -> CSRMatrix:
        a = dense.data if isinstance(dense, Tensor) else np.asarray(dense)
        if a.ndim != 2:
            raise ValueError(f"CSRMatrix.from_dense: expected a 2-D matrix, got shape {a.shape}")
        # BEGIN SOLUTION 18
        rows, cols = np.nonzero(a)            # row-major order: sorted by row, then column
        if len(rows) > _INT32_MAX or a.shape[1] > _INT32_MAX:
            raise ValueError(f"CSRMatrix: {len(rows)} nonzeros / {a.shape[1]} columns do not "
                             "fit int32 indices")
        row_ptr = np.zeros(a.shape[0] + 1, dtype=np.int32)
        np.cumsum(np.bincount(rows, minlength=a.shape[0]), out=row_ptr[1:])
        values = a[rows, cols].astype(np.float32)
        # END SOLUTION
        return cls(values, cols.astype(np.int32), row_ptr, a.shape)

    @property
    def nnz(self) -> int:
        return len(self.values)

    @property
    def density(self) -> float:
        size = self.shape[0] * self.shape[1]
        return self.nnz / size if size else 0.0

    @property
    def nbytes(self) -> int:
        """Bytes of the three arrays: 8 per nonzero + 4 per row (+ 4)."""
        return self.values.nbytes + self.col_indices.nbytes + self.row_ptr.nbytes

    def to_dense(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=self.values.dtype)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.row_ptr))
        np.add.at(out, (rows, self.col_indices), self.values)
        return out

    def matmul(self, b: np.ndarray) -> np.ndarray:
        """self @ b for a dense b: (K, N), on the current backend's ``csr_matmul``."""
        if b.ndim != 2 or b.shape[0] != self.shape[1]:
            raise ValueError(f"CSRMatrix.matmul: a matrix of shape {self.shape} needs b of "
                             f"shape ({self.shape[1]}, N), got {b.shape}")
        return backends.current().csr_matmul(self.values, self.col_indices, self.row_ptr, b)

    def __matmul__(self, b: np.ndarray) -> np.ndarray:
        return self.matmul(b)

    def __repr__(self) -> str:
        return (f"CSRMatrix(shape={self.shape}, nnz={self.nnz:,}, density={self.density:.1%}, "
                f"{self.nbytes:,} bytes)")


class SparseLinear(Module):
    """A Linear whose weight is stored in CSR: y = x @ W.T + b, computed as (W @ x.T).T
    so that the CSR kernel streams rows of x.T. Inference only (no weight gradient):
    prune and fine-tune the dense model, then convert with ``SparseLinear.from_linear``."""

    def __init__(self, weight: CSRMatrix, bias: np.ndarray | None) -> None:
        super().__init__()
        self.weight_csr = weight
        self.out_features, self.in_features = weight.shape
        self.register_buffer("bias", None if bias is None else Tensor(bias.astype(np.float32)))

    @classmethod
    def from_linear(cls, linear: Linear) -> SparseLinear:
        if not isinstance(linear, Linear):
            raise TypeError(f"SparseLinear.from_linear needs an nn.Linear, got "
                            f"{type(linear).__name__}")
        bias = None if linear.bias is None else effective_weight(linear, "bias")
        return cls(CSRMatrix.from_dense(effective_weight(linear)), bias)

    @property
    def nbytes(self) -> int:
        """Bytes of the CSR weight and the bias (the dense layer: 4 (out * in + out))."""
        return self.weight_csr.nbytes + (0 if self.bias is None else self.bias.data.nbytes)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.in_features:
            raise ValueError(f"SparseLinear(in_features={self.in_features}): expected input of "
                             f"shape (*, {self.in_features}), got {tuple(x.shape)}")
        if x.requires_grad and is_grad_enabled():
            raise RuntimeError("SparseLinear is an inference layer (no gradients through the "
                               "CSR weight); run it under tinytorch.no_grad()")
        rows = x.data.reshape(-1, self.in_features)
        xt = np.ascontiguousarray(rows.T, dtype=np.float32)
        out = self.weight_csr.matmul(xt).T
        if self.bias is not None:
            out = out + self.bias.data
        return Tensor(np.ascontiguousarray(out).reshape(x.shape[:-1] + (self.out_features,)))

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"nnz={self.weight_csr.nnz:,}, bias={self.bias is not None}")
