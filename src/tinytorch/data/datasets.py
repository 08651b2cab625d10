"""Module 10: real image datasets — MNIST, Fashion-MNIST, CIFAR-10 and sklearn's Digits.

Each dataset loads its split once into two arrays, exposed for fast paths:

* ``.data``: uint8 images, ``(N, H, W)`` for grayscale, ``(N, H, W, 3)`` for colour;
* ``.targets``: int64 labels ``(N,)``; ``.classes``: the label names.

``ds[i]`` returns ``(transform(image), label)`` with ``image`` a uint8 NumPy array
and ``label`` a Python int, as torchvision does (with arrays instead of PIL
images). :meth:`ImageDataset.get_batch` gathers a whole batch with one fancy
index and applies the transform in batch form, which is what the DataLoader uses.

Files are searched in ``root`` if given, else ``$TINYTORCH_DATA/<name>``, the
system location (Fashion-MNIST: Debian's ``dataset-fashion-mnist``), then
``~/.cache/tinytorch/<name>``. ``download=True`` fetches missing files from the
official URLs and verifies them with the MD5 sums their publishers give.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tinytorch.data.dataset import Dataset, _check_index
from tinytorch.data.download import DatasetError, candidate_dirs, download_dir, download_url
from tinytorch.data.formats import extract_tar, load_pickle, read_idx
from tinytorch.data.transforms import apply_batch

__all__ = ["CIFAR10", "MNIST", "Digits", "FashionMNIST", "ImageDataset"]

Root = str | os.PathLike[str] | None
TransformFn = Callable[[Any], Any] | None


class ImageDataset(Dataset):
    """Images ``data: (N, H, W[, C]) uint8`` with labels ``targets: (N,) int64``."""

    classes: list[str] = []

    def __init__(
        self,
        data: np.ndarray,
        targets: np.ndarray,
        transform: TransformFn = None,
        target_transform: TransformFn = None,
    ) -> None:
        if data.shape[0] != targets.shape[0]:
            raise DatasetError(f"{data.shape[0]} images but {targets.shape[0]} labels")
        self.data = data
        self.targets = targets.astype(np.int64)
        self.transform = transform
        self.target_transform = target_transform

    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, index: int) -> tuple[Any, Any]:
        index = _check_index(index, len(self))
        image: Any = self.data[index]
        target: Any = int(self.targets[index])
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def get_batch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(images: (B, ...), labels: (B,))`` for ``indices``, transforms in batch form."""
        images = apply_batch(self.transform, self.data[indices])
        targets = self.targets[indices]
        if self.target_transform is not None:
            targets = np.asarray([self.target_transform(int(t)) for t in targets])
        return images, targets


def _locate(dirs: Sequence[Path], names: Sequence[str]) -> dict[str, Path] | None:
    """In the first folder holding every file of ``names`` (raw or ``.gz``), their paths."""
    for folder in dirs:
        found = {}
        for name in names:
            for candidate in (folder / name, folder / f"{name}.gz"):
                if candidate.is_file():
                    found[name] = candidate
                    break
        if len(found) == len(names):
            return found
    return None


class MNIST(ImageDataset):
    """Handwritten digits, 28x28 grayscale: 60 000 train / 10 000 test images in IDX files."""

    name = "mnist"
    torchvision_folder = "MNIST"
    mirrors = (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    )
    # MD5 of the .gz files: the only checksums published for them.
    md5 = {
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    }
    system_dirs: tuple[str, ...] = ()
    apt_package: str | None = None
    classes = [str(digit) for digit in range(10)]

    def __init__(
        self,
        root: Root = None,
        train: bool = True,
        transform: TransformFn = None,
        target_transform: TransformFn = None,
        download: bool = False,
    ) -> None:
        prefix = "train" if train else "t10k"
        names = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
        dirs = [
            path
            for folder in candidate_dirs(self.name, root, self.system_dirs)
            for path in (folder, folder / self.torchvision_folder / "raw")
        ]
        files = _locate(dirs, names)
        if files is None and download:
            target = download_dir(self.name, root)
            for name in names:
                gz = f"{name}.gz"
                download_url([m + gz for m in self.mirrors], target / gz, md5=self.md5[gz])
            files = _locate([target], names)
        if files is None:
            raise DatasetError(self._missing_message(names, dirs))
        images, labels = read_idx(files[names[0]]), read_idx(files[names[1]])
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DatasetError(
                f"{files[names[0]]}: expected uint8 images (N, H, W), "
                f"got {images.dtype} {images.shape}"
            )
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise DatasetError(
                f"{files[names[1]]}: expected {images.shape[0]} labels to match "
                f"{files[names[0]].name}, got shape {labels.shape}"
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise DatasetError(f"{files[names[1]]}: labels must be integers, got {labels.dtype}")
        if labels.size and (labels.min() < 0 or labels.max() >= len(self.classes)):
            bad = labels.min() if labels.min() < 0 else labels.max()
            raise DatasetError(f"{files[names[1]]}: label {bad} out of range "
                               f"0..{len(self.classes) - 1}")
        super().__init__(images, labels, transform, target_transform)
        self.train = train

    def _missing_message(self, names: Sequence[str], dirs: Sequence[Path]) -> str:
        searched = "\n".join(f"  {d}" for d in dirs)
        advice = [f"pass download=True (fetches from {self.mirrors[0]})"]
        if self.apt_package:
            advice.insert(0, f"run `apt-get install -y {self.apt_package}`")
        advice.append("or put the files in a folder and pass root= or set $TINYTORCH_DATA")
        return (
            f"{type(self).__name__}: could not find "
            f"{' and '.join(n + '[.gz]' for n in names)} in:\n"
            f"{searched}\nTo get them: " + "; ".join(advice)
        )


class FashionMNIST(MNIST):
    """Zalando's clothing images: a drop-in MNIST replacement (same files, shapes and sizes)."""

    name = "fashion-mnist"
    torchvision_folder = "FashionMNIST"
    mirrors = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
    # MD5 sums from the Fashion-MNIST README (the only ones published). Debian's package
    # re-compresses the files, so its .gz differ byte-wise but hold the same IDX data.
    md5 = {
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    }
    system_dirs = ("/usr/share/datasets/fashion-mnist",)
    apt_package = "dataset-fashion-mnist"
    classes = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]  # fmt: skip


class CIFAR10(ImageDataset):
    """32x32 colour images in 10 classes: 50 000 train (5 batches) / 10 000 test.

    Reads the official python version: ``cifar-10-batches-py/`` with
    ``data_batch_1..5``, ``test_batch`` and ``batches.meta``, or the archive
    ``cifar-10-python.tar.gz`` next to it (extracted on first use).
    ``.data`` is ``(N, 32, 32, 3)`` uint8 (HWC, like torchvision).
    """

    name = "cifar-10"
    folder = "cifar-10-batches-py"
    archive = "cifar-10-python.tar.gz"
    url = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    archive_md5 = "c58f30108f718f92721af3b95e74349a"  # published on the CIFAR page (MD5 only)

    def __init__(
        self,
        root: Root = None,
        train: bool = True,
        transform: TransformFn = None,
        target_transform: TransformFn = None,
        download: bool = False,
    ) -> None:
        batches = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
        needed = [*batches, "batches.meta"]
        dirs = candidate_dirs(self.name, root)
        folder = self._find(dirs, needed)
        if folder is None and download:
            target = download_dir(self.name, root)
            download_url(self.url, target / self.archive, md5=self.archive_md5)
            folder = self._find([target], needed)
        if folder is None:
            searched = "\n".join(f"  {d}" for d in dirs)
            raise DatasetError(
                f"CIFAR10: could not find {self.folder}/ (with {', '.join(needed)}) or "
                f"{self.archive} in:\n{searched}\nTo get it: pass download=True (fetches "
                f"{self.url}), or put the archive in a folder and pass root= or set $TINYTORCH_DATA"
            )
        images, labels = [], []
        for batch in batches:
            data, batch_labels = self._read_batch(folder / batch)
            images.append(data)
            labels.extend(batch_labels)
        meta = load_pickle(folder / "batches.meta")
        if not isinstance(meta, dict) or b"label_names" not in meta:
            raise DatasetError(f"{folder / 'batches.meta'}: no b'label_names' entry")
        names = meta[b"label_names"]
        if not isinstance(names, list) or not names or not all(
                isinstance(n, (bytes, str)) for n in names):
            raise DatasetError(f"{folder / 'batches.meta'}: b'label_names' must be a list of "
                               f"names, got {type(names).__name__}")
        self.classes = [n.decode(errors="replace") if isinstance(n, bytes) else n for n in names]
        # checked as Python ints: a label of 2**70 must not reach int64 and overflow
        outside = [v for v in labels if not 0 <= v < len(self.classes)]
        if outside:
            raise DatasetError(f"{folder}: labels outside 0..{len(self.classes) - 1} "
                               f"(e.g. {outside[0]})")
        targets = np.asarray(labels, dtype=np.int64)
        # Stored as (N, 3072) = (N, C=3, H=32, W=32) planes; HWC makes one image one
        # contiguous block, the layout ToTensor expects.
        pixels = np.concatenate(images).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        super().__init__(np.ascontiguousarray(pixels), targets, transform, target_transform)
        self.train = train

    def _find(self, dirs: Sequence[Path], needed: Sequence[str]) -> Path | None:
        for base in dirs:
            for folder in (base / self.folder, base):
                if all((folder / name).is_file() for name in needed):
                    return folder
            if (base / self.archive).is_file():
                # only cifar-10-batches-py/ is moved out of the archive, and only when complete
                extract_tar(base / self.archive, base, keep=self.folder, required=tuple(needed))
                return base / self.folder
        return None

    @staticmethod
    def _read_batch(path: Path) -> tuple[np.ndarray, list[int]]:
        batch = load_pickle(path)
        if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
            raise DatasetError(f"{path}: not a CIFAR-10 batch (needs b'data' and b'labels')")
        data, labels = batch[b"data"], batch[b"labels"]
        if isinstance(labels, np.ndarray) and labels.ndim == 1:
            labels = labels.tolist()
        if not isinstance(labels, list) or not all(
                isinstance(v, int) and not isinstance(v, bool) for v in labels):
            kinds = sorted({type(v).__name__ for v in labels}) if isinstance(labels, list) else [
                type(labels).__name__]
            raise DatasetError(f"{path}: b'labels' must be a list of ints, got {', '.join(kinds)}")
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or (
            data.shape[1] != 3072
        ):
            shape = getattr(data, "shape", None)
            raise DatasetError(f"{path}: b'data' must be uint8 (N, 3072), got shape {shape}")
        if len(labels) != data.shape[0]:
            raise DatasetError(f"{path}: {data.shape[0]} images but {len(labels)} labels")
        return data, labels


class Digits(ImageDataset):
    """scikit-learn's 8x8 handwritten digits (1 797 images), a tiny offline dataset.

    Pixel values 0..16 are rescaled to uint8 0..255 so the same ``ToTensor`` applies.
    There is no official split: a fixed permutation (seed 0) puts 1 437 images in
    train and 360 in test. ``root`` and ``download`` are accepted for a uniform
    signature; the data ships inside scikit-learn.
    """

    classes = [str(digit) for digit in range(10)]
    n_train = 1437

    def __init__(
        self,
        root: Root = None,
        train: bool = True,
        transform: TransformFn = None,
        target_transform: TransformFn = None,
        download: bool = False,
    ) -> None:
        try:
            from sklearn.datasets import load_digits
        except ImportError as error:
            raise ImportError(
                "Digits needs scikit-learn, which bundles the data: pip install scikit-learn"
            ) from error
        bunch = load_digits()
        images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)
        order = np.random.default_rng(0).permutation(images.shape[0])
        split = order[: self.n_train] if train else order[self.n_train :]
        super().__init__(images[split], bunch.target[split], transform, target_transform)
        self.train = train
