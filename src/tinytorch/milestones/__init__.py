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
import math
from collections.abc import Callable
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


def count(maximum: int) -> Callable[[str], int]:
    """argparse type for a count (epochs, steps, batch size, hidden units): an int in
    ``1..maximum``. Zero would end in an empty history and an IndexError; a huge value
    (``--hidden 1000000000000``) in a MemoryError or a stalled machine."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a positive integer, got {text!r}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"must be at most {maximum}, got {value}")
        return value

    parse.__name__ = "positive integer"  # what argparse names in its messages
    return parse


#: epochs, steps, tokens: generous, but far below what would overflow a counter
positive_int = count(10**7)
#: sizes that allocate memory proportional to (or the square of) the value
size_int = count(1 << 16)


def finite_float(text: str) -> float:
    """argparse type for a hyper-parameter such as ``--lr``: a finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def accuracy_target(text: str) -> float:
    """argparse type for ``--target-accuracy``: a fraction (0.95) or a percentage (95),
    returned as a fraction. Values in (0, 1] are fractions, values in (1, 100] percents."""
    value = finite_float(text)
    if 0 < value <= 1:
        return value
    if 1 < value <= 100:
        return value / 100
    raise argparse.ArgumentTypeError(
        f"expected a fraction in (0, 1] such as 0.95 or a percentage in (1, 100] such as 95, "
        f"got {text!r}")


PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def plot_path_problem(path: str, option: str = "--plot") -> str | None:
    """Why ``path`` cannot receive a plot (checked before a run, not after it), or None."""
    import importlib.util
    import os

    if os.path.splitext(path)[1].lower() not in PLOT_SUFFIXES:
        return f"{option} {path}: the file name must end in {', '.join(PLOT_SUFFIXES)}"
    if os.path.isdir(path):
        return f"{option} {path}: is a folder, not a file name"
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"{option} {path}: the folder {folder} does not exist"
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        return f"{option} {path}: not writable"
    if importlib.util.find_spec("matplotlib") is None:
        return f"{option} needs matplotlib: pip install matplotlib (or '.[bench]')"
    return None


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
    Milestone("tinygpt", 2019, 14, "TinyGPT: a character-level transformer writes Shakespeare",
              "tinytorch.milestones.tinygpt"),
):
    register(_m)


def load(name: str) -> tuple[Milestone, ModuleType]:
    if name not in REGISTRY:
        raise ValueError(f"unknown milestone {name!r}; available: {', '.join(REGISTRY)}")
    info = REGISTRY[name]
    return info, importlib.import_module(info.module_path)
