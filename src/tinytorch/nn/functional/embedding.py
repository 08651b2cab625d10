"""Module 12 Embeddings: a lookup table of learned vectors, one row per token id.

``F.embedding(input, weight)`` is the whole idea: ``weight[input]``, a row
gather. Its backward is the systems lesson: many positions of a batch read the
same row (the letter ``e`` appears thousands of times in a batch of text), so
the gradient of a row is the SUM of the gradients of every position that read
it -- a scatter-add. ``np.add.at`` does that one element at a time (slow);
sorting the indices once turns it into one contiguous segment sum per row
(``np.add.reduceat``), a few vectorised passes over the gradient.

Shapes: input: any shape (*) of integer ids in [0, num_embeddings), weight:
(num_embeddings, embedding_dim) -> (*, embedding_dim).
"""

from __future__ import annotations

import numpy as np

from tinytorch.autograd import Function
from tinytorch.tensor import Tensor

__all__ = ["check_indices", "embedding", "scatter_add_rows"]


def check_indices(indices: np.ndarray, num_embeddings: int, op: str = "embedding") -> None:
    """Raise a clear error unless ``indices`` are integers in [0, num_embeddings).

    A negative id would silently read a row from the end of the table (NumPy's
    indexing), and an id past the end would be an IndexError far from its cause.
    """
    if indices.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be an integer tensor (int64 token ids), got "
                        f"dtype {indices.dtype}")
    if indices.size == 0:
        return
    low, high = int(indices.min()), int(indices.max())
    if low < 0 or high >= num_embeddings:
        bad = low if low < 0 else high
        raise IndexError(f"{op}: index {bad} is out of range for a table of {num_embeddings} "
                         f"rows (valid ids are 0..{num_embeddings - 1})")


def scatter_add_rows(indices: np.ndarray, rows: np.ndarray, num_rows: int) -> np.ndarray:
    """out[i] = sum of rows[n] over every n with indices[n] == i.

    indices: (M,) ints, rows: (M, D) -> out: (num_rows, D). Sort once so equal ids are
    neighbours, then one ``reduceat`` sums each run of equal ids: O(M log M) index work
    plus two streaming passes over the (M, D) rows, instead of M tiny scattered adds.
    """
    # BEGIN SOLUTION 12
    out = np.zeros((num_rows,) + rows.shape[1:], dtype=rows.dtype)
    if indices.size == 0:
        return out
    order = np.argsort(indices, kind="stable")
    sorted_ids = indices[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    out[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return out
    # END SOLUTION


class Embedding(Function):
    """out[*, :] = weight[input[*], :]; grad_weight[i] = sum of grad at every position
    that read row i (zero for ``padding_idx``)."""

    def forward(self, input, weight, padding_idx=None):
        # BEGIN SOLUTION 12
        self.indices, self.padding_idx = input, padding_idx
        self.num_embeddings = weight.shape[0]
        return weight[input]
        # END SOLUTION

    def backward(self, grad):
        # BEGIN SOLUTION 12
        if not self.needs_input_grad[1]:
            return None, None
        D = grad.shape[-1]
        grad_weight = scatter_add_rows(self.indices.reshape(-1), grad.reshape(-1, D),
                                       self.num_embeddings)
        if self.padding_idx is not None:
            grad_weight[self.padding_idx] = 0  # the padding row stays fixed, as in PyTorch
        return None, grad_weight
        # END SOLUTION


def normalize_padding_idx(padding_idx: int | None, num_embeddings: int) -> int | None:
    """PyTorch's rule: a padding_idx in [-num_embeddings, num_embeddings); negatives count
    from the end. Returns the non-negative row, or None."""
    if padding_idx is None:
        return None
    if isinstance(padding_idx, bool) or not isinstance(padding_idx, (int, np.integer)) \
            or not -num_embeddings <= padding_idx < num_embeddings:
        raise ValueError(f"padding_idx must be an int within the {num_embeddings} rows of the "
                         f"table (-{num_embeddings}..{num_embeddings - 1}), got {padding_idx!r}")
    return int(padding_idx) % num_embeddings


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Look up rows of ``weight`` (num_embeddings, embedding_dim) for the integer ids in
    ``input`` (any shape *) -> (*, embedding_dim).

    ``padding_idx``: that row gets no gradient (its vector stays what it is).
    """
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError("embedding: input and weight must be Tensors, got "
                        f"{type(input).__name__} and {type(weight).__name__}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got "
                         f"shape {tuple(weight.shape)}")
    check_indices(input.data, weight.shape[0])
    padding_idx = normalize_padding_idx(padding_idx, weight.shape[0])
    return Embedding.apply(input, weight, padding_idx=padding_idx)
