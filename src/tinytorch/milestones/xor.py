"""Milestone 1969: XOR - why one layer is not enough, and two layers are.

After Module 06 (Autograd). Minsky and Papert's *Perceptrons* (1969) proved that
a single-layer perceptron cannot represent XOR: no line separates
{(0,1), (1,0)} from {(0,0), (1,1)}. Suppose w1*x1 + w2*x2 + b > 0 exactly for
the "1" points. Then b <= 0, w1 + w2 + b <= 0, w1 + b > 0 and w2 + b > 0. Adding
the last two gives w1 + w2 + 2b > 0, but adding the first two gives
w1 + w2 + 2b <= 0: a contradiction. A hidden layer removes the limit, and
backpropagation (Module 06) trains it.

Only Modules 01-06 are used: the update is plain gradient descent written by
hand (optimizers arrive in Module 07).
"""

from __future__ import annotations

import argparse

import numpy as np

import tinytorch as tt
from tinytorch import nn
from tinytorch.milestones import MilestoneResult, finite_float, positive_int, size_int
from tinytorch.milestones.plotting import ascii_curve, save_png
from tinytorch.utils.benchmark import Stopwatch

XOR_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_TARGETS = np.array([[0], [1], [1], [0]], dtype=np.float32)


def gradient_descent_step(model: nn.Module, lr: float) -> None:
    """p <- p - lr * dL/dp for every parameter, then clear the gradients."""
    with tt.no_grad():
        for p in model.parameters():
            p.data -= lr * p.grad.data
            p.grad = None


def train(model: nn.Module, steps: int, lr: float) -> tuple[list[float], float]:
    """Full-batch training on the four XOR points; returns (loss per step, accuracy)."""
    x, y = tt.tensor(XOR_INPUTS), tt.tensor(XOR_TARGETS)
    loss_fn = nn.BCEWithLogitsLoss()
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        loss.backward()
        gradient_descent_step(model, lr)
        losses.append(loss.item())
    with tt.no_grad():
        predictions = (model(x).numpy() > 0).astype(np.float32)
    return losses, float((predictions == XOR_TARGETS).mean())


def single_layer(seed: int) -> nn.Module:
    tt.manual_seed(seed)
    return nn.Linear(2, 1)


def two_layer_mlp(seed: int, hidden: int = 8) -> nn.Module:
    tt.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 1))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=positive_int, default=1500, help="gradient-descent steps")
    parser.add_argument("--lr", type=finite_float, default=0.5)
    parser.add_argument("--hidden", type=size_int, default=8, help="hidden units of the MLP")


def run(args: argparse.Namespace) -> MilestoneResult:
    clock = Stopwatch()
    linear_losses, linear_accuracy = train(single_layer(args.seed), args.steps, args.lr)
    mlp_losses, mlp_accuracy = train(two_layer_mlp(args.seed, args.hidden), args.steps, args.lr)
    elapsed = clock.seconds
    curves = {"single layer": linear_losses, "2-layer MLP": mlp_losses}
    print(ascii_curve(curves, title="binary cross-entropy on the 4 XOR points"))
    if args.plot:
        print(save_png(curves, args.plot, "XOR (1969)", "loss", logy=True))
    print(f"\nSingle-layer perceptron: loss plateaus at {linear_losses[-1]:.4f} "
          f"(ln 2 = {np.log(2):.4f}: it can do no better than guessing 0.5), "
          f"accuracy {linear_accuracy:.0%} - a line cannot separate XOR.")
    print(f"2-layer MLP ({args.hidden} tanh units): final loss {mlp_losses[-1]:.4f}, "
          f"accuracy {mlp_accuracy:.0%}, in {elapsed:.1f} s.")
    print("\nWhy it mattered: Minsky and Papert's proof that one layer cannot compute XOR "
          "helped stall neural-network research for over a decade. A hidden layer bends the "
          "decision boundary; backpropagation (Module 06) is what trains it.")
    linear_failed = linear_accuracy <= 0.75 and linear_losses[-1] > 0.6
    passed = mlp_accuracy == 1.0 and linear_failed
    if passed:
        summary = "XOR solved: MLP 100% accuracy; the single layer plateaued as theory predicts"
    else:
        summary = (f"XOR milestone missed: MLP accuracy {mlp_accuracy:.0%} (need 100%), "
                   f"single layer accuracy {linear_accuracy:.0%} (must stay <= 75%)")
    return MilestoneResult(passed, summary, {"mlp_accuracy": mlp_accuracy,
                                             "linear_accuracy": linear_accuracy,
                                             "mlp_final_loss": mlp_losses[-1],
                                             "seconds": elapsed})
