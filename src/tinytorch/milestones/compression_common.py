"""What the Module 18 experiments share: Fashion-MNIST in memory, training, accuracy, latency.

The whole dataset is held as two float32 arrays (60,000 x 784 floats = 188 MB for
training) and batched from there: the experiments train a dozen models and must
not spend their minutes in per-image transforms.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

import tinytorch as tt
from tinytorch import nn, optim
from tinytorch.data import FashionMNIST
from tinytorch.milestones.common import DATASETS
from tinytorch.milestones.compression_args import add_common_arguments  # noqa: F401 (re-export)
from tinytorch.training import ArrayBatches, Trainer
from tinytorch.utils.benchmark import benchmark


@dataclass
class Arrays:
    x_train: np.ndarray   # (N, 1, 28, 28) float32, normalised
    y_train: np.ndarray   # (N,) int64
    x_test: np.ndarray
    y_test: np.ndarray


def load_fashion(args: argparse.Namespace) -> Arrays:
    """Fashion-MNIST as normalised arrays; ``args.limit`` keeps the first N training images."""
    _, (mean,), (std,) = DATASETS["fashion-mnist"]
    sets = [FashionMNIST(root=args.data_dir, train=train, download=args.download)
            for train in (True, False)]

    def prepare(ds: FashionMNIST, limit: int | None) -> tuple[np.ndarray, np.ndarray]:
        images, labels = ds.data[:limit], ds.targets[:limit]
        x = (images.astype(np.float32) / 255.0 - mean) / std
        return x.reshape(len(x), 1, 28, 28).astype(np.float32), labels.astype(np.int64)

    x_train, y_train = prepare(sets[0], args.limit)
    x_test, y_test = prepare(sets[1], args.test_limit)
    return Arrays(x_train, y_train, x_test, y_test)


def train(model: nn.Module, data: Arrays, epochs: int, lr: float, seed: int,
          batch_size: int = 128) -> Trainer:
    """Adam on cross-entropy for ``epochs`` passes (quiet: one line per epoch)."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(), progress=False, log=None)
    batches = ArrayBatches(data.x_train, data.y_train, batch_size, shuffle=True, seed=seed)
    for _ in range(epochs):
        result = trainer.train_epoch(batches)
        trainer.epoch += 1
        print(f"    epoch {trainer.epoch}: train loss {result['loss']:.4f}, "
              f"{result['seconds']:.1f} s")
    return trainer


def accuracy(model: nn.Module, data: Arrays, batch_size: int = 1000) -> float:
    """Test accuracy in eval mode."""
    was_training = model.training
    model.eval()
    correct = 0
    with tt.no_grad():
        for start in range(0, len(data.x_test), batch_size):
            out = model(tt.Tensor(data.x_test[start:start + batch_size])).data
            correct += int((out.argmax(axis=1) == data.y_test[start:start + batch_size]).sum())
    model.train(was_training)
    return correct / len(data.x_test)


def logits(model: nn.Module, x: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    model.eval()
    with tt.no_grad():
        return np.concatenate([model(tt.Tensor(x[s:s + batch_size])).data
                               for s in range(0, len(x), batch_size)])


def latency_pair(a: nn.Module, b: nn.Module, x: np.ndarray, rounds: int = 3
                 ) -> tuple[float, float]:
    """Median seconds per forward of ``a`` and of ``b`` on the batch ``x`` (eval, no grad),
    measured alternately ``rounds`` times and the best median of each kept: a busy
    moment of a shared machine then hurts both or neither."""
    a.eval()
    b.eval()
    batch = tt.Tensor(x)

    def forward(model: nn.Module) -> None:
        with tt.no_grad():
            model(batch)

    best_a = best_b = float("inf")
    for _ in range(rounds):
        best_a = min(best_a, benchmark(forward, a, warmup=2, min_time=0.3).median)
        best_b = min(best_b, benchmark(forward, b, warmup=2, min_time=0.3).median)
    return best_a, best_b


def parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


