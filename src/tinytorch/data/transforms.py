"""Module 10: image transforms on NumPy arrays, one sample or a whole batch at once.

A sample image is ``(C, H, W)`` after :class:`ToTensor` (``(H, W)`` or
``(H, W, C)`` uint8 before it). Every transform is callable on one sample and
also has ``.batch(images)`` for ``images: (N, ...)``: the batched versions do
the same work in a few vectorised NumPy calls, which is what the DataLoader's
fast path uses. Random transforms draw from a seeded ``numpy.random.Generator``
(``generator``: Generator, int seed, or ``None`` for ``tinytorch.manual_seed``'s
global one). One sample at a time and one batch draw differently from the
stream, so the two paths agree in distribution, not draw by draw.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tinytorch.data._rng import GeneratorLike, as_generator, resolve

__all__ = [
    "Compose",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "ToTensor",
    "Transform",
    "apply_batch",
]


class Transform(ABC):
    """Base class: ``__call__(sample)``; ``batch(samples)`` loops unless overridden."""

    @abstractmethod
    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Transform one sample."""

    def batch(self, xs: np.ndarray) -> np.ndarray:
        """Apply to every sample of ``xs: (N, ...)``; subclasses vectorise this."""
        return np.stack([self(x) for x in xs]) if len(xs) else xs

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({fields})"


def apply_batch(transform: Callable[[Any], Any] | None, xs: np.ndarray) -> np.ndarray:
    """``transform`` over a batch: its vectorised ``.batch`` if it has one, else a loop."""
    if transform is None:
        return xs
    if isinstance(transform, Transform):
        return transform.batch(xs)
    return np.stack([np.asarray(transform(x)) for x in xs])


class Compose(Transform):
    """Apply ``transforms`` in order (``Compose([ToTensor(), Normalize(m, s)])``)."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)
        for t in self.transforms:
            if not callable(t):
                raise TypeError(f"Compose expects callables, got {type(t).__name__}")

    def __call__(self, x: Any) -> Any:
        for t in self.transforms:
            x = t(x)
        return x

    def batch(self, xs: np.ndarray) -> np.ndarray:
        for t in self.transforms:
            xs = apply_batch(t, xs)
        return xs


def _to_float(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.uint8:
        # Divide (not multiply by 1/255) so the values match torchvision bit for bit.
        out = x.astype(np.float32)
        np.divide(out, np.float32(255), out=out)
        return out
    if np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float32)
    raise TypeError(f"ToTensor expects uint8 or floating images, got dtype {x.dtype}")


class ToTensor(Transform):
    """Image ``(H, W)`` or ``(H, W, C)`` -> float32 ``(C, H, W)``; uint8 is scaled to [0, 1].

    Same conversion as torchvision's ``ToTensor``. The result stays a NumPy
    array: the DataLoader wraps the whole batch in one Tensor, not each sample.
    Batch form: ``(N, H, W)`` or ``(N, H, W, C)`` -> ``(N, C, H, W)``.
    """

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim == 2:
            x = x[None, :, :]
        elif x.ndim == 3:
            x = x.transpose(2, 0, 1)
        else:
            raise ValueError(f"ToTensor expects an image (H, W) or (H, W, C), got shape {x.shape}")
        return np.ascontiguousarray(_to_float(x))

    def batch(self, xs: np.ndarray) -> np.ndarray:
        xs = np.asarray(xs)
        if xs.ndim == 3:
            xs = xs[:, None, :, :]
        elif xs.ndim == 4:
            xs = xs.transpose(0, 3, 1, 2)
        else:
            raise ValueError(
                f"ToTensor.batch expects images (N, H, W) or (N, H, W, C), got shape {xs.shape}"
            )
        return np.ascontiguousarray(_to_float(xs))


class Normalize(Transform):
    """``(x - mean[c]) / std[c]`` per channel of ``x: (C, H, W)`` (batch: ``(N, C, H, W)``)."""

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float]) -> None:
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float32))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float32))
        if self.mean.ndim != 1 or self.std.ndim != 1:
            raise ValueError("Normalize mean and std must be numbers or 1-D sequences")
        if np.any(self.std == 0):
            raise ValueError(f"Normalize std must be non-zero, got {self.std.tolist()}")

    def _check(self, channels: int) -> None:
        for name, value in (("mean", self.mean), ("std", self.std)):
            if value.size not in (1, channels):
                raise ValueError(
                    f"Normalize {name} has {value.size} values "
                    f"but the image has {channels} channels"
                )

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 3 or not np.issubdtype(x.dtype, np.floating):
            raise ValueError(
                f"Normalize expects a float image (C, H, W), got shape {x.shape} dtype {x.dtype}"
            )
        self._check(x.shape[0])
        return (x - self.mean[:, None, None]) / self.std[:, None, None]

    def batch(self, xs: np.ndarray) -> np.ndarray:
        if xs.ndim != 4 or not np.issubdtype(xs.dtype, np.floating):
            raise ValueError(
                f"Normalize.batch expects float images (N, C, H, W), got shape {xs.shape} "
                f"dtype {xs.dtype}"
            )
        self._check(xs.shape[1])
        return (xs - self.mean[:, None, None]) / self.std[:, None, None]


def _padding(padding: int | Sequence[int] | None) -> tuple[int, int, int, int]:
    """torchvision's padding forms -> (left, top, right, bottom)."""
    if padding is None:
        return (0, 0, 0, 0)
    if isinstance(padding, int | np.integer):
        values: tuple[int, ...] = (int(padding),) * 4
    elif len(padding) == 2:
        values = (int(padding[0]), int(padding[1])) * 2
    elif len(padding) == 4:
        values = tuple(int(p) for p in padding)
    else:
        raise ValueError(f"padding must be an int or a sequence of 2 or 4 ints, got {padding!r}")
    if any(v < 0 for v in values):
        raise ValueError(f"padding must be non-negative, got {padding!r}")
    return values  # type: ignore[return-value]


class RandomCrop(Transform):
    """Zero-pad (``padding``, filled with ``fill``) then crop a random ``size`` window.

    ``x: (C, H, W)`` -> ``(C, h, w)`` with ``size = h`` or ``(h, w)``. The classic
    CIFAR augmentation is ``RandomCrop(32, padding=4)``.
    """

    def __init__(
        self,
        size: int | Sequence[int],
        padding: int | Sequence[int] | None = None,
        fill: float = 0,
        generator: GeneratorLike = None,
    ) -> None:
        height, width = (size, size) if isinstance(size, int | np.integer) else size
        if height < 1 or width < 1:
            raise ValueError(f"crop size must be positive, got {size!r}")
        self.size = (int(height), int(width))
        self.padding = _padding(padding)
        self.fill = fill
        self._generator = as_generator(generator)

    def _pad(self, x: np.ndarray) -> np.ndarray:
        left, top, right, bottom = self.padding
        if not any(self.padding):
            return x
        widths = [(0, 0)] * (x.ndim - 2) + [(top, bottom), (left, right)]
        return np.pad(x, widths, mode="constant", constant_values=self.fill)

    def _offset_range(self, padded: np.ndarray) -> tuple[int, int]:
        height, width = padded.shape[-2:]
        h, w = self.size
        if h > height or w > width:
            raise ValueError(
                f"crop size {self.size} is larger than the padded image ({height}, {width})"
            )
        return height - h + 1, width - w + 1

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 3:
            raise ValueError(f"RandomCrop expects an image (C, H, W), got shape {x.shape}")
        padded = self._pad(x)
        rows, cols = self._offset_range(padded)
        rng = resolve(self._generator)
        top, left = int(rng.integers(rows)), int(rng.integers(cols))
        h, w = self.size
        return padded[:, top : top + h, left : left + w].copy()

    def batch(self, xs: np.ndarray) -> np.ndarray:
        if xs.ndim != 4:
            raise ValueError(f"RandomCrop.batch expects images (N, C, H, W), got shape {xs.shape}")
        padded = self._pad(xs)
        rows, cols = self._offset_range(padded)
        rng = resolve(self._generator)
        n = xs.shape[0]
        tops, lefts = rng.integers(rows, size=n), rng.integers(cols, size=n)
        # A strided view of every h x w window (no copy): (N, C, rows, cols, h, w).
        # Indexing one window per image gathers only the N crops we keep.
        windows = sliding_window_view(padded, self.size, axis=(2, 3))
        return windows[np.arange(n), :, tops, lefts]


class RandomHorizontalFlip(Transform):
    """Mirror ``x: (C, H, W)`` left-right with probability ``p``."""

    def __init__(self, p: float = 0.5, generator: GeneratorLike = None) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"flip probability must be in [0, 1], got {p}")
        self.p = float(p)
        self._generator = as_generator(generator)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if x.ndim < 2:
            raise ValueError(f"RandomHorizontalFlip expects an image (..., H, W), got {x.shape}")
        if resolve(self._generator).random() < self.p:
            return x[..., ::-1].copy()
        return x

    def batch(self, xs: np.ndarray) -> np.ndarray:
        if xs.ndim < 3:
            raise ValueError(f"RandomHorizontalFlip.batch expects (N, ..., H, W), got {xs.shape}")
        flip = resolve(self._generator).random(xs.shape[0]) < self.p
        out = xs.copy()
        out[flip] = xs[flip][..., ::-1]
        return out
