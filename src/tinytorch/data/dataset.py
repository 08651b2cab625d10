"""Module 10: datasets — the map-style ``Dataset`` protocol and its building blocks.

A dataset answers two questions: how many samples (``len(ds)``) and what is
sample ``i`` (``ds[i]``). Everything else — batching, shuffling, splitting — is
built on those two, exactly as in ``torch.utils.data``.

The systems lesson of this module is the optional third method,
:meth:`Dataset.get_batch`: asking for a whole batch at once lets a dataset that
stores its samples in one array answer with a single fancy-indexing call
(one C loop over memory) instead of ``batch_size`` Python calls. For 28x28
images the per-sample path is dominated by interpreter overhead; see
``modules/10_dataloader/README.md`` for the measured difference.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinytorch.data._rng import GeneratorLike, as_generator, resolve

__all__ = ["Dataset", "Subset", "TensorDataset", "as_array", "random_split"]


def as_array(data: Any) -> np.ndarray:
    """Storage of ``data`` as a NumPy array: a TinyTorch Tensor (``.numpy()``) or array-like."""
    if isinstance(data, np.ndarray):
        return data
    if hasattr(data, "numpy") and callable(data.numpy):
        return np.asarray(data.numpy())
    return np.asarray(data)


def _check_index(index: Any, length: int) -> int:
    """Python-sequence indexing rules: ints only, negatives count from the end."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise TypeError(f"dataset indices must be integers, got {type(index).__name__}")
    index = int(index)
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range for a dataset of length {length}")
    return index + length if index < 0 else index


class Dataset(ABC):
    """Abstract map-style dataset: subclasses define ``__len__`` and ``__getitem__``.

    ``__getitem__(i)`` returns one sample, usually a tuple such as
    ``(image: np.ndarray, label: int)``. Subclasses whose samples live in
    arrays should also override :meth:`get_batch` with a vectorised version.
    """

    @abstractmethod
    def __len__(self) -> int:
        """Number of samples."""

    @abstractmethod
    def __getitem__(self, index: int) -> Any:
        """Sample ``index`` (0 <= index < len(self); negative counts from the end)."""

    def get_batch(self, indices: np.ndarray) -> Any:
        """Samples ``indices`` already collated into NumPy arrays.

        Must equal ``collate_arrays([self[i] for i in indices])``; this default
        does exactly that, one Python call per sample. Override it when the
        samples are rows of arrays (see :class:`TensorDataset`).
        """
        from tinytorch.data.dataloader import collate_arrays

        return collate_arrays([self[int(i)] for i in indices])


class TensorDataset(Dataset):
    """Samples are the ``i``-th rows of equally long arrays or Tensors.

    ``TensorDataset(x, y)`` with ``x: (N, ...)`` and ``y: (N,)`` yields
    ``(x[i], y[i])``. Tensors are unwrapped to their NumPy storage (no copy).
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one array or Tensor")
        arrays = tuple(as_array(t) for t in tensors)
        for position, array in enumerate(arrays):
            if array.ndim == 0:
                raise ValueError(
                    f"TensorDataset argument {position} is a scalar; every argument needs a "
                    "first (sample) dimension"
                )
        sizes = [array.shape[0] for array in arrays]
        if len(set(sizes)) != 1:
            shapes = ", ".join(str(array.shape) for array in arrays)
            raise ValueError(
                "TensorDataset arguments must have the same size in dimension 0, "
                f"got shapes {shapes}"
            )
        self.tensors: tuple[np.ndarray, ...] = arrays

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        index = _check_index(index, len(self))
        return tuple(array[index] for array in self.tensors)

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, ...]:
        # One gather per array: NumPy copies the selected rows in a C loop.
        return tuple(array[indices] for array in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at positions ``indices``, in that order."""

    def __init__(self, dataset: Any, indices: Sequence[int] | np.ndarray) -> None:
        index_array = np.asarray(indices)
        if index_array.size == 0:
            index_array = index_array.astype(np.int64)
        if index_array.ndim != 1 or not np.issubdtype(index_array.dtype, np.integer):
            raise TypeError(
                f"Subset indices must be a 1-D sequence of integers, got dtype {index_array.dtype} "
                f"and shape {index_array.shape}"
            )
        length = len(dataset)
        if index_array.size and (index_array.min() < -length or index_array.max() >= length):
            raise IndexError(f"Subset indices out of range for a dataset of length {length}")
        self.dataset = dataset
        self.indices = np.where(index_array < 0, index_array + length, index_array).astype(np.int64)

    def __len__(self) -> int:
        return self.indices.shape[0]

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[_check_index(index, len(self))])]

    def get_batch(self, indices: np.ndarray) -> Any:
        # Translate once, then let the parent take its own (possibly vectorised) path.
        parent_indices = self.indices[indices]
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(parent_indices)
        return super().get_batch(indices)


def _split_lengths(total: int, lengths: Sequence[int | float]) -> list[int]:
    """Integer lengths for ``random_split``: ints as given, or fractions like PyTorch."""
    if len(lengths) == 0:
        raise ValueError("random_split needs at least one length")
    values = list(lengths)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        ints = [int(v) for v in values]
        if any(v < 0 for v in ints):
            raise ValueError(f"random_split lengths must be non-negative, got {ints}")
        if sum(ints) != total:
            raise ValueError(
                f"sum of lengths {sum(ints)} does not equal the dataset length {total}"
            )
        return ints
    fractions = [float(v) for v in values]
    if any(not 0.0 <= f <= 1.0 for f in fractions) or not math.isclose(sum(fractions), 1.0):
        raise ValueError(
            f"random_split fractions must each lie in [0, 1] and sum to 1, got {fractions}"
        )
    # Floor every share, then hand the leftover samples out one at a time from
    # the first split on (PyTorch's rule), so the sizes always add up to ``total``.
    counts = [math.floor(total * f) for f in fractions]
    for i in range(total - sum(counts)):
        counts[i % len(counts)] += 1
    return counts


def random_split(
    dataset: Any, lengths: Sequence[int | float], generator: GeneratorLike = None
) -> list[Subset]:
    """Split ``dataset`` into disjoint random :class:`Subset` s of the given sizes.

    ``lengths`` are sample counts summing to ``len(dataset)`` or fractions
    summing to 1 (``[0.8, 0.2]``). ``generator``: Generator, int seed, or
    ``None`` for TinyTorch's global generator.
    """
    counts = _split_lengths(len(dataset), lengths)
    permutation = resolve(as_generator(generator)).permutation(len(dataset))
    bounds = np.cumsum([0, *counts])
    pairs = zip(bounds[:-1], bounds[1:], strict=True)
    return [Subset(dataset, permutation[start:stop]) for start, stop in pairs]
