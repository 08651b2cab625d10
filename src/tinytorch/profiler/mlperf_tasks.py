"""Module 19: the two tasks of the MLPerf-style harness, each a trained model with its
evaluation data and its quality metric.

* ``cnn``: ``models.lenet`` trained for a few epochs on scikit-learn's 8x8 digits
  (ships with scikit-learn: no download); quality = test accuracy.
* ``tinygpt``: a one-layer ``models.GPT`` trained for a few hundred steps on the
  Shakespeare corpus (the TinyGPT milestone's data); quality = validation
  cross-entropy (lower is better).

Training runs once, on the default backend, with a fixed seed; the harness then runs
every scenario under every backend with those same weights. A task's ``evaluate``
turns the outputs of the offline run into the quality number, so the quality is
checked on the very run that was timed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinytorch import nn, optim
from tinytorch.autograd import no_grad
from tinytorch.models import GPT, lenet
from tinytorch.random import manual_seed
from tinytorch.tensor import Tensor

__all__ = ["TASKS", "Task", "make_task"]


@dataclass
class Task:
    """``predict(batch of samples) -> outputs``; ``evaluate(all outputs) -> quality``;
    ``target`` and ``higher_is_better`` say what passes."""

    name: str
    model: nn.Module
    samples: np.ndarray                      # the evaluation inputs, one per query
    predict: Callable[[np.ndarray], np.ndarray]
    evaluate: Callable[[np.ndarray], float]
    metric: str
    target: float
    higher_is_better: bool
    description: str

    def meets(self, quality: float) -> bool:
        return quality >= self.target if self.higher_is_better else quality <= self.target


def _digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from tinytorch.data import Digits

    train, test = Digits(train=True), Digits(train=False)

    def images(ds: Any) -> np.ndarray:
        return (ds.data.astype(np.float32) / 255.0 - 0.5)[:, None, :, :]

    return images(train), train.targets, images(test), test.targets


def cnn_task(epochs: int = 3, seed: int = 0) -> Task:
    """LeNet-style CNN on 8x8 digits; target: 90% test accuracy."""
    manual_seed(seed)
    x_train, y_train, x_test, y_test = _digits()
    model = lenet(1, 8, 10)
    opt = optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(epochs):
        order = rng.permutation(len(x_train))
        for start in range(0, len(order), 64):
            batch = order[start:start + 64]
            opt.zero_grad()
            loss_fn(model(Tensor(x_train[batch])), Tensor(y_train[batch])).backward()
            opt.step()
    model.eval()

    def predict(x: np.ndarray) -> np.ndarray:
        with no_grad():
            return model(Tensor(x)).data.argmax(axis=1)

    def accuracy(predictions: np.ndarray) -> float:
        return float((predictions == y_test).mean())

    return Task("cnn", model, x_test, predict, accuracy, "accuracy", 0.90, True,
                f"LeNet-style CNN, 8x8 digits, {len(x_test)} test images")


def tinygpt_task(steps: int = 200, seed: int = 0, block_size: int = 32) -> Task:
    """A one-layer TinyGPT on Shakespeare; target: validation loss <= 2.6 nats/char
    (a uniform guess over the ~65 characters scores ln 65 = 4.17)."""
    from tinytorch.text import CharTokenizer, load_shakespeare

    manual_seed(seed)
    train_text, val_text = load_shakespeare("train"), load_shakespeare("val")
    tokenizer = CharTokenizer(train_text + val_text)
    train = np.asarray(tokenizer.encode(train_text[:400_000]), dtype=np.int64)
    val = np.asarray(tokenizer.encode(val_text[:20_000]), dtype=np.int64)
    model = GPT(tokenizer.vocab_size, block_size, n_layer=1, n_head=4, n_embd=64)
    opt = model.configure_optimizers(weight_decay=0.0, lr=6e-3)
    rng = np.random.default_rng(seed)
    model.train()
    for _ in range(steps):
        starts = rng.integers(0, len(train) - block_size - 1, 32)
        idx = np.stack([train[s:s + block_size + 1] for s in starts])
        opt.zero_grad()
        model(Tensor(idx[:, :-1]), Tensor(idx[:, 1:]))[1].backward()
        opt.step()
    model.eval()
    count = len(val[1:]) // block_size  # windows whose next-character targets exist
    windows = val[:count * block_size + 1]
    samples = np.stack([windows[i * block_size:(i + 1) * block_size] for i in range(count)])
    targets = np.stack([windows[i * block_size + 1:(i + 1) * block_size + 1]
                        for i in range(count)])

    def predict(idx: np.ndarray) -> np.ndarray:
        """-> the log-probability of the true next character at every position."""
        with no_grad():
            logits = model(Tensor(idx))[0].data.astype(np.float64)
        logp = logits - logits.max(-1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
        return logp

    def loss(logps: np.ndarray) -> float:
        picked = np.take_along_axis(logps, targets[:, :, None], axis=-1)
        return float(-picked.mean())

    return Task("tinygpt", model, samples, predict, loss, "val_loss", 2.6, False,
                f"TinyGPT 1x4x64, context {block_size}, {count} validation windows")


#: task name -> builder
TASKS: dict[str, Callable[[], Task]] = {"cnn": cnn_task, "tinygpt": tinygpt_task}


def make_task(name: str) -> Task:
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose from {', '.join(TASKS)}")
    return TASKS[name]()
