"""Module 10: the DataLoader — turn a dataset into a stream of mini-batches.

Per epoch the loader draws an order (a permutation when ``shuffle=True``),
cuts it into batches of ``batch_size`` indices and turns each batch of samples
into Tensors. Two paths produce identical batches:

* the **batched path** (default collate): one ``dataset.get_batch(indices)``
  call, which array-backed datasets answer with fancy indexing;
* the **per-sample path** (custom ``collate_fn``, or a dataset without
  ``get_batch``): ``collate_fn([dataset[i] for i in indices])``.

The batched path exists because a Python call per sample costs microseconds,
and 60 000 of them per epoch add up to seconds of pure overhead.
"""

from __future__ import annotations

import collections.abc
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from tinytorch.data._rng import GeneratorLike, as_generator, resolve

__all__ = ["DataLoader", "collate_arrays", "default_collate", "to_tensors"]


def collate_arrays(samples: list[Any]) -> Any:
    """Stack a list of samples into NumPy arrays, following the samples' structure.

    arrays / NumPy scalars -> ``np.stack`` (new leading batch dimension B);
    ``int`` -> int64 (B,); ``float`` -> float64 (B,); ``bool`` -> bool (B,);
    Tensors -> stacked storage; ``str`` -> list of str;
    tuple / list -> list of collated fields; namedtuple -> same namedtuple; dict -> dict.
    """
    if len(samples) == 0:
        raise ValueError("cannot collate an empty list of samples")
    first = samples[0]
    if isinstance(first, str | bytes):
        return list(samples)
    if isinstance(first, bool | np.bool_):
        return np.array(samples, dtype=np.bool_)
    if isinstance(first, int) and not isinstance(first, np.integer):
        return np.array(samples, dtype=np.int64)
    if isinstance(first, float) and not isinstance(first, np.floating):
        return np.array(samples, dtype=np.float64)
    if isinstance(first, np.ndarray | np.generic):
        return _stack(samples)
    if hasattr(first, "numpy") and callable(first.numpy):
        return _stack([np.asarray(sample.numpy()) for sample in samples])
    if isinstance(first, collections.abc.Mapping):
        return {key: collate_arrays([sample[key] for sample in samples]) for key in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(collate_arrays(list(field)) for field in zip(*samples, strict=True)))
    if isinstance(first, collections.abc.Sequence):
        if any(len(sample) != len(first) for sample in samples):
            raise ValueError("each sample in a batch must have the same number of fields")
        return [collate_arrays(list(field)) for field in zip(*samples, strict=True)]
    raise TypeError(f"default_collate cannot batch samples of type {type(first).__name__}")


def _stack(arrays: list[Any]) -> np.ndarray:
    shapes = {np.shape(a) for a in arrays}
    if len(shapes) != 1:
        raise ValueError(
            f"default_collate needs samples of equal shape to stack, got shapes {sorted(shapes)}"
        )
    return np.stack(arrays)


def to_tensors(batch: Any) -> Any:
    """Wrap every array in a collated structure with ``tinytorch.tensor`` (tuples become lists)."""
    # Imported here: tinytorch.data must import even while tensor.py is being written.
    import tinytorch

    if isinstance(batch, np.ndarray):
        return tinytorch.tensor(batch)
    if isinstance(batch, collections.abc.Mapping):
        return {key: to_tensors(value) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(to_tensors(value) for value in batch))
    if isinstance(batch, list | tuple) and batch and isinstance(batch[0], str | bytes):
        return list(batch)
    if isinstance(batch, list | tuple):
        return [to_tensors(value) for value in batch]
    return batch


def default_collate(samples: list[Any]) -> Any:
    """PyTorch's default collate: stack samples (see :func:`collate_arrays`) into Tensors."""
    return to_tensors(collate_arrays(samples))


class DataLoader:
    """Iterate over ``dataset`` in mini-batches.

    Args:
        dataset: map-style dataset (``len`` and ``[i]``; ``get_batch`` for the fast path).
        batch_size: samples per batch, B >= 1.
        shuffle: draw a fresh random order every epoch.
        drop_last: drop the final batch when it has fewer than ``batch_size`` samples.
        collate_fn: ``list of samples -> batch``; ``None`` means :func:`default_collate`.
        generator: Generator or int seed for the shuffle order; ``None`` draws from
            TinyTorch's global generator (``tinytorch.manual_seed``).

    ``for x, y in DataLoader(TensorDataset(x, y), batch_size=32)`` yields Tensors
    ``x: (32, ...)`` and ``y: (32,)``. The loader is re-iterable: each ``for``
    loop is one epoch.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        collate_fn: Callable[[list[Any]], Any] | None = None,
        generator: GeneratorLike = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise TypeError(f"batch_size must be an int, got {type(batch_size).__name__}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError("collate_fn must be callable")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn if collate_fn is not None else default_collate
        self.generator = as_generator(generator)

    def __len__(self) -> int:
        """Batches per epoch: floor(N / B) with ``drop_last``, else ceil(N / B)."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    @property
    def uses_batched_path(self) -> bool:
        """True when batches come from one ``dataset.get_batch`` call, not per-sample calls."""
        return self.collate_fn is default_collate and hasattr(self.dataset, "get_batch")

    def _order(self) -> np.ndarray:
        # BEGIN SOLUTION 10
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return resolve(self.generator).permutation(n)
        # END SOLUTION

    def __iter__(self) -> Iterator[Any]:
        # BEGIN SOLUTION 10
        order = self._order()
        stop = len(self) * self.batch_size if self.drop_last else len(order)
        batched = self.uses_batched_path
        for start in range(0, stop, self.batch_size):
            indices = order[start : start + self.batch_size]
            if batched:
                yield to_tensors(self.dataset.get_batch(indices))
            else:
                yield self.collate_fn([self.dataset[int(i)] for i in indices])
        # END SOLUTION
