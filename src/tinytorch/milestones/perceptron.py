"""Milestone 1957: Rosenblatt's perceptron learns a linearly separable problem.

After Module 04 (Layers). The perceptron is a single ``Linear(2, 1)`` unit with a
step activation, trained not by gradients but by Rosenblatt's rule: on every
mistake, move the weights toward the misclassified point,
``w += lr * (y - y_hat) * x``. The perceptron convergence theorem (Novikoff,
1962) guarantees that this stops making mistakes after finitely many updates
whenever a separating line exists.
"""

from __future__ import annotations

import argparse

import numpy as np

import tinytorch as tt
from tinytorch.milestones import MilestoneResult, finite_float, positive_int
from tinytorch.milestones.plotting import ascii_curve, save_png
from tinytorch.utils.benchmark import Stopwatch


def make_blobs(n: int, seed: int, margin: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian clouds on either side of the line x0 + x1 = 0, at least ``margin`` apart."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    centres = np.where(labels[:, None] == 1, 2.0, -2.0)
    points = centres + rng.standard_normal((n, 2))
    keep = np.abs(points.sum(axis=1)) / np.sqrt(2) > margin / 2  # guarantee separability
    return points[keep].astype(np.float32), labels[keep].astype(np.float32)


def train_perceptron(x: np.ndarray, y: np.ndarray, epochs: int, lr: float, seed: int):
    """Rosenblatt's rule, one point at a time. Returns (layer, mistakes per epoch)."""
    tt.manual_seed(seed)
    layer = tt.nn.Linear(2, 1)
    inputs, targets = tt.tensor(x), tt.tensor(y)
    mistakes_per_epoch: list[int] = []
    with tt.no_grad():
        for _ in range(epochs):
            mistakes = 0
            for i in range(len(x)):
                prediction = float(layer(inputs[i:i + 1]).item() > 0)
                error = targets[i].item() - prediction
                if error != 0:
                    mistakes += 1
                    layer.weight.data += lr * error * inputs.data[i:i + 1]
                    layer.bias.data += lr * error
            mistakes_per_epoch.append(mistakes)
            if mistakes == 0:
                break
    return layer, mistakes_per_epoch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=positive_int, default=50,
                        help="maximum passes over the data")
    parser.add_argument("--lr", type=finite_float, default=0.1)


def run(args: argparse.Namespace) -> MilestoneResult:
    clock = Stopwatch()
    x_train, y_train = make_blobs(200, seed=args.seed)
    x_test, y_test = make_blobs(200, seed=args.seed + 1)
    layer, mistakes = train_perceptron(x_train, y_train, args.epochs, args.lr, args.seed)
    with tt.no_grad():
        predictions = (layer(tt.tensor(x_test)).numpy()[:, 0] > 0).astype(np.float32)
    test_accuracy = float((predictions == y_test).mean())
    w = layer.weight.data[0]
    b = float(layer.bias.data[0])
    print(ascii_curve({"mistakes per epoch": [float(m) for m in mistakes]},
                      title="training mistakes per epoch"))
    if args.plot:
        print(save_png({"mistakes": mistakes}, args.plot, "Perceptron (1957)", "mistakes"))
    converged = mistakes[-1] == 0
    print(f"\nAfter {len(mistakes)} epoch(s): {mistakes[-1]} training mistakes; learned line "
          f"{w[0]:+.3f}*x0 {w[1]:+.3f}*x1 {b:+.3f} = 0")
    if not converged:  # said first, so a FAILED next to a high test accuracy is no surprise
        print(f"Not converged: the target is a perceptron that makes no training mistakes in "
              f"an epoch (and >= 95% test accuracy), but {mistakes[-1]} mistake(s) remained "
              f"after the last of --epochs {args.epochs}; allow more epochs.")
    elapsed = clock.seconds
    print(f"Test accuracy on 200 new points: {test_accuracy:.1%}  ({elapsed:.1f} s)")
    print("\nWhy it mattered: the perceptron was the first machine that *learned* its weights "
          "from examples, and the convergence theorem promised it always finds a separating "
          "line when one exists. Its limit - only straight lines - is the next milestone: "
          "`tinytorch milestone xor`.")
    passed = converged and test_accuracy >= 0.95
    summary = (f"perceptron converged in {len(mistakes)} epochs, test accuracy "
               f"{test_accuracy:.1%}" if passed else
               "perceptron missed its target: " + (
                   f"not converged in {len(mistakes)} epoch(s) ({mistakes[-1]} training "
                   f"mistakes left), " if not converged else "") +
               f"test accuracy {test_accuracy:.1%} (need >= 95%)")
    return MilestoneResult(passed, summary, {"epochs": len(mistakes),
                                             "test_accuracy": test_accuracy})
