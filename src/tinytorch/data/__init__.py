"""Module 10: data loading — datasets, the DataLoader, transforms and real datasets.

Files in course order: ``dataset.py`` (Dataset, TensorDataset, Subset,
random_split), ``dataloader.py`` (DataLoader, default_collate),
``transforms.py`` (Compose, ToTensor, Normalize, RandomCrop,
RandomHorizontalFlip), ``formats.py`` + ``download.py`` + ``datasets.py``
(MNIST, FashionMNIST, CIFAR10, Digits). Names and semantics follow
``torch.utils.data`` / ``torchvision``; samples are NumPy arrays and the
loader wraps each batch in Tensors.
"""

from __future__ import annotations

from tinytorch.data import transforms
from tinytorch.data.dataloader import DataLoader, collate_arrays, default_collate
from tinytorch.data.dataset import Dataset, Subset, TensorDataset, random_split
from tinytorch.data.datasets import CIFAR10, MNIST, Digits, FashionMNIST, ImageDataset
from tinytorch.data.download import DatasetError, download_url

__all__ = [
    "CIFAR10",
    "MNIST",
    "DataLoader",
    "Dataset",
    "DatasetError",
    "Digits",
    "FashionMNIST",
    "ImageDataset",
    "Subset",
    "TensorDataset",
    "collate_arrays",
    "default_collate",
    "download_url",
    "random_split",
    "transforms",
]
