"""What the real-data milestones share: datasets, loaders and the run report."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import tinytorch as tt
from tinytorch.data import (
    CIFAR10,
    MNIST,
    DataLoader,
    DatasetError,
    Digits,
    FashionMNIST,
    Subset,
)
from tinytorch.data import transforms as T
from tinytorch.milestones import accuracy_target, count

#: dataset -> (class, per-channel mean, per-channel std) of the training images in [0, 1]
DATASETS = {
    "digits": (Digits, (0.3050,), (0.3790,)),
    "mnist": (MNIST, (0.1307,), (0.3081,)),
    "fashion-mnist": (FashionMNIST, (0.2860,), (0.3530,)),
    "cifar10": (CIFAR10, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
}


@dataclass
class ImageData:
    train: DataLoader
    test: DataLoader
    channels: int
    size: int
    classes: int
    name: str


def add_data_arguments(parser: argparse.ArgumentParser, default: str, choices: tuple[str, ...]
                       ) -> None:
    parser.add_argument("--dataset", choices=choices, default=default)
    parser.add_argument("--data-dir", default=None,
                        help="folder with the dataset files (else $TINYTORCH_DATA, the system "
                             "location, or ~/.cache/tinytorch)")
    parser.add_argument("--download", action="store_true",
                        help="download the dataset from its official source if missing")
    parser.add_argument("--limit", type=count(10**9), default=None,
                        help="use only the first N training images (quick runs)")
    parser.add_argument("--target-accuracy", type=accuracy_target, default=None,
                        help="test accuracy the run must reach, as a fraction (0.97) or a "
                             "percentage (97); default depends on --dataset")


def add_checkpoint_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", metavar="PATH", default=None,
                        help="save the trained model here (architecture, weights, dataset), "
                             "e.g. for `tinytorch quantize --checkpoint PATH`")


def load_image_data(args: argparse.Namespace, batch_size: int, augment: bool = False
                    ) -> ImageData:
    """Train/test loaders for ``args.dataset``; a missing dataset raises DatasetError."""
    cls, mean, std = DATASETS[args.dataset]
    normalize = [T.ToTensor(), T.Normalize(mean, std)]
    train_steps = list(normalize)
    if augment:  # crops and flips work on (C, H, W) images: after ToTensor
        size = 32 if args.dataset == "cifar10" else 28
        train_steps = [T.ToTensor(), T.RandomCrop(size, padding=4), T.RandomHorizontalFlip(),
                       T.Normalize(mean, std)]
    common = {"root": args.data_dir, "download": args.download}
    train_set = cls(train=True, transform=T.Compose(train_steps), **common)
    test_set = cls(train=False, transform=T.Compose(normalize), **common)
    if args.limit is not None:
        train_set = Subset(train_set, range(min(args.limit, len(train_set))))
    sample, _ = test_set[0]
    generator = tt.random.default_generator()
    return ImageData(
        train=DataLoader(train_set, batch_size=batch_size, shuffle=True, generator=generator),
        test=DataLoader(test_set, batch_size=512),
        channels=sample.shape[0], size=sample.shape[-1],
        classes=len(getattr(test_set, "classes", [])) or 10, name=args.dataset)


def missing_data_message(error: DatasetError) -> str:
    return (f"cannot load the dataset: {error}\n"
            "Point --data-dir at a copy, set TINYTORCH_DATA, or pass --download "
            "(Fashion-MNIST also installs with `apt-get install dataset-fashion-mnist`).")
