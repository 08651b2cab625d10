"""Module 19: the training steps and forward passes that ``tinytorch profile``, the MLPerf
harness and the guide's ``measure.py`` measure -- the course's models on random data.

Profiling needs no trained checkpoint and no dataset: the time of a step depends on
the shapes, not on the values. Each :class:`Workload` holds a model, its optimizer
and a fixed random batch of the milestone's shapes:

* ``mlp``: 784-256-10 on 28x28 images (the 1986 milestone's Fashion-MNIST model);
* ``cnn``: ``models.lenet(1, 28, 10)`` (the 1998 milestone);
* ``tinygpt``: ``models.GPT`` with the TinyGPT milestone's quick settings.
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

__all__ = ["WORKLOADS", "Workload", "make_workload"]


@dataclass
class Workload:
    """A model with a batch: ``train_step()`` (zero_grad, forward, loss, backward, step)
    returns the loss; ``forward()`` runs inference under ``no_grad``."""

    name: str
    model: nn.Module
    optimizer: optim.Optimizer
    loss_of: Callable[[Any, Any], Tensor]   # (inputs, targets) -> scalar loss
    predict: Callable[[Any], Any]           # inputs -> outputs
    inputs: Any
    targets: Any
    batch_size: int
    description: str

    def train_step(self) -> float:
        self.model.train()
        self.optimizer.zero_grad()
        loss = self.loss_of(self.inputs, self.targets)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def forward(self) -> Any:
        self.model.eval()
        with no_grad():
            return self.predict(self.inputs)


def _images(batch_size: int, rng: np.random.Generator) -> tuple[Tensor, Tensor]:
    x = rng.standard_normal((batch_size, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch_size)
    return Tensor(x), Tensor(y)


def _classifier(name: str, model: nn.Module, optimizer: optim.Optimizer, batch_size: int,
                seed: int, description: str) -> Workload:
    x, y = _images(batch_size, np.random.default_rng(seed))
    loss_fn = nn.CrossEntropyLoss()
    return Workload(name, model, optimizer, lambda x, y: loss_fn(model(x), y), model, x, y,
                    batch_size, description)


def mlp(batch_size: int = 64, seed: int = 0) -> Workload:
    manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
    return _classifier("mlp", model, optim.SGD(model.parameters(), lr=0.05, momentum=0.9),
                       batch_size, seed, f"MLP 784-256-10, batch {batch_size}, SGD")


def cnn(batch_size: int = 64, seed: int = 0) -> Workload:
    manual_seed(seed)
    model = lenet(1, 28, 10)
    return _classifier("cnn", model, optim.Adam(model.parameters(), lr=1e-3), batch_size,
                       seed, f"LeNet-style CNN on 1x28x28, batch {batch_size}, Adam")


def tinygpt(batch_size: int = 32, seed: int = 0, block_size: int = 64, n_layer: int = 2,
            n_head: int = 2, n_embd: int = 64, vocab_size: int = 65) -> Workload:
    manual_seed(seed)
    model = GPT(vocab_size, block_size, n_layer, n_head, n_embd)
    rng = np.random.default_rng(seed)
    tokens = rng.integers(0, vocab_size, (batch_size, block_size + 1))
    x, y = Tensor(tokens[:, :-1]), Tensor(tokens[:, 1:])
    optimizer = model.configure_optimizers(weight_decay=0.1, lr=2e-3)
    return Workload("tinygpt", model, optimizer, lambda x, y: model(x, y)[1],
                    lambda x: model(x)[0], x, y, batch_size,
                    f"TinyGPT {n_layer} layers x {n_head} heads x {n_embd}, context "
                    f"{block_size}, batch {batch_size}, AdamW")


#: name -> builder(batch_size=None) of each workload
WORKLOADS: dict[str, Callable[..., Workload]] = {"cnn": cnn, "mlp": mlp, "tinygpt": tinygpt}


def make_workload(name: str, batch_size: int | None = None, seed: int = 0) -> Workload:
    """The workload ``name`` (cnn, mlp, tinygpt), optionally with another batch size."""
    if name not in WORKLOADS:
        raise ValueError(f"unknown workload {name!r}; choose one of {', '.join(WORKLOADS)}")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(
            batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    kwargs: dict[str, Any] = {"seed": seed}
    if batch_size is not None:
        kwargs["batch_size"] = batch_size
    return WORKLOADS[name](**kwargs)
