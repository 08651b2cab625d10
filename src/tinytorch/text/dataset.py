"""Module 11: next-token prediction samples cut from one long sequence of token ids.

A language model learns from windows of the token stream: for a start ``i``,
the input is ``x = ids[i : i + T]`` and the target ``y = ids[i + 1 : i + 1 + T]``,
the same window shifted by one, so position ``t`` of ``x`` is trained to predict
``y[t]``, the token after it. One window of T tokens holds T training examples.

The systems lesson: the windows overlap, so storing them would multiply the
corpus T times (4.8 M characters in windows of T = 256: 9.8 GB of int64). Instead the
dataset keeps the ids once and ``sliding_window_view`` presents all N - T + 1
windows as a strided view of the same memory; a batch is then one gather,
``windows[starts]``, with no Python loop over its B samples.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinytorch.data.dataset import Dataset, _check_index, as_array
from tinytorch.random import default_generator

__all__ = ["TokenDataset"]


class TokenDataset(Dataset):
    """Samples ``(x, y)`` with ``x = ids[i:i+T]`` and ``y = ids[i+1:i+1+T]``, both ``(T,)`` int64.

    Args:
        ids: the token ids of a text, 1-D (list, NumPy array or Tensor) of N ints.
        block_size: T, the context length: tokens per sample.

    ``len(ds) == N - T``: every start whose target window still fits. The ids are
    copied once into a read-only int64 array, and samples are views of it.
    """

    def __init__(self, ids: Any, block_size: int) -> None:
        if isinstance(block_size, bool) or not isinstance(block_size, int | np.integer):
            raise TypeError(f"block_size must be an int, got {type(block_size).__name__}")
        if block_size < 1:
            raise ValueError(f"block_size must be >= 1, got {block_size}")
        array = as_array(ids)
        if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
            raise TypeError(f"ids must be a 1-D sequence of integer token ids, got dtype "
                            f"{array.dtype} and shape {array.shape}")
        if array.shape[0] <= block_size:
            raise ValueError(
                f"TokenDataset needs more than block_size={block_size} tokens to make one "
                f"(x, y) pair, got {array.shape[0]}: use a longer text or a smaller block_size"
            )
        self.ids = np.array(array, dtype=np.int64)  # our own copy, so read-only is safe
        self.ids.setflags(write=False)
        self.block_size = int(block_size)
        # (N - T + 1, T) windows sharing the memory of self.ids: no copy at all.
        self.windows = np.lib.stride_tricks.sliding_window_view(self.ids, self.block_size)

    def __len__(self) -> int:
        return self.ids.shape[0] - self.block_size

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """Sample ``index``: ``(x, y)``, two read-only ``(T,)`` int64 views of the ids."""
        i = _check_index(index, len(self))
        # BEGIN SOLUTION 11
        T = self.block_size
        return self.ids[i : i + T], self.ids[i + 1 : i + 1 + T]
        # END SOLUTION

    def get_batch(self, indices: Any) -> tuple[np.ndarray, np.ndarray]:
        """Samples ``indices`` (B,) as ``(x, y)``, two ``(B, T)`` int64 arrays, in one gather.

        Equals stacking ``self[i]`` for each ``i`` (negative indices count from
        the end); ``self.windows[starts]`` gathers B windows without a Python loop.
        """
        starts = np.asarray(indices)
        if starts.ndim != 1 or not (np.issubdtype(starts.dtype, np.integer) or starts.size == 0):
            raise TypeError(f"indices must be a 1-D array of ints, got dtype {starts.dtype} and "
                            f"shape {starts.shape}")
        n = len(self)
        starts = starts.astype(np.int64)
        if starts.size and (starts.min() < -n or starts.max() >= n):
            bad = starts[(starts < -n) | (starts >= n)][0]
            raise IndexError(f"index {bad} is out of range for a TokenDataset of length {n}")
        starts = np.where(starts < 0, starts + n, starts)
        # BEGIN SOLUTION 11
        return self.windows[starts], self.windows[starts + 1]
        # END SOLUTION

    def random_batch(
        self, batch_size: int, generator: np.random.Generator | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """nanoGPT's sampling: B starts drawn uniformly (with replacement) -> ``(x, y)``, (B, T).

        ``generator``: a ``numpy.random.Generator`` whose stream advances with each
        call, or ``None`` for TinyTorch's global generator (``tinytorch.manual_seed``).
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer) or (
            batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if generator is None:
            generator = default_generator()
        elif not isinstance(generator, np.random.Generator):
            # An int seed would make a fresh generator per call: the same batch every step.
            raise TypeError(
                "generator must be a numpy.random.Generator (create it once with "
                f"np.random.default_rng(seed) and reuse it) or None, got {type(generator).__name__}"
            )
        starts = generator.integers(0, len(self), size=int(batch_size))
        return self.get_batch(starts)

    def __repr__(self) -> str:
        return f"TokenDataset({self.ids.shape[0]} tokens, block_size={self.block_size})"
