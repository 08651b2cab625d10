"""The contract of the ``softmax`` family."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class SoftmaxKernels(Protocol):
    def softmax(self, x: np.ndarray, axis: int) -> np.ndarray:
        """x: any shape with ndim >= 1 -> the same shape; ``axis`` a valid (possibly negative)
        axis. For every row r along ``axis``::

            m = max(x[r])                      # subtracting it keeps exp() from overflowing
            y[r] = exp(x[r] - m) / sum(exp(x[r] - m))

        A row of length 0 gives an empty row; a row that is all -inf gives NaN (as PyTorch).
        """
        ...

    def log_softmax(self, x: np.ndarray, axis: int) -> np.ndarray:
        """Same shapes as ``softmax``; for every row r along ``axis``::

            m = max(x[r])
            y[r] = x[r] - m - log(sum(exp(x[r] - m)))

        Never takes log(0): the largest term of the sum is exp(0) = 1.
        """
        ...


def softmax_flops(numel: int) -> int:
    """Per element: a subtract, an exp, an add (the sum) and a divide; the exp counted as 1."""
    return 4 * numel
