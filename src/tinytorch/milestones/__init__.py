"""Milestones: runnable reproductions of ML history on TinyTorch.

Each milestone module defines ``add_arguments(parser)`` and
``run(args) -> MilestoneResult``; the registry below holds what the command
line shows without importing them (a milestone may need every module of the
course, listing them must not). ``tinytorch milestone NAME`` runs one and
exits non-zero when it misses its target; the scripts in the repository's
``milestones/`` folder call the same code.
"""

from __future__ import annotations

import argparse
import importlib
from dataclasses import dataclass, field
from types import ModuleType


@dataclass(frozen=True)
class Milestone:
    name: str
    year: int
    module: int          # the course module after which a student can run it
    title: str
    module_path: str


@dataclass
class MilestoneResult:
    """What a milestone achieved; ``passed`` decides the exit code."""

    passed: bool
    summary: str
    metrics: dict[str, float] = field(default_factory=dict)


def positive_int(text: str) -> int:
    """argparse type for counts (epochs, steps, batch size, ...): an int >= 1.

    Zero or a negative count would otherwise get as far as an empty history
    and end in an IndexError traceback instead of a usage message.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


REGISTRY: dict[str, Milestone] = {}


def register(milestone: Milestone) -> None:
    REGISTRY[milestone.name] = milestone


for _m in (
    Milestone("perceptron", 1957, 4, "Rosenblatt's perceptron separates two clouds of points",
              "tinytorch.milestones.perceptron"),
    Milestone("xor", 1969, 6, "XOR: a single-layer perceptron fails, a 2-layer MLP succeeds",
              "tinytorch.milestones.xor"),
    Milestone("mlp", 1986, 10, "Backpropagation trains an MLP on real digits and clothes",
              "tinytorch.milestones.mlp"),
    Milestone("cnn", 1998, 10, "A LeNet-style CNN learns real images (Fashion-MNIST, CIFAR-10)",
              "tinytorch.milestones.cnn"),
):
    register(_m)


def load(name: str) -> tuple[Milestone, ModuleType]:
    if name not in REGISTRY:
        raise ValueError(f"unknown milestone {name!r}; available: {', '.join(REGISTRY)}")
    info = REGISTRY[name]
    return info, importlib.import_module(info.module_path)
