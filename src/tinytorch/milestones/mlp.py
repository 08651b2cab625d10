"""Milestone 1986: backpropagation trains a multi-layer perceptron on real digits and clothes.

After Module 10 (DataLoader). Rumelhart, Hinton and Williams (1986) showed that
backpropagation learns useful hidden representations. Here a 2-layer MLP
(Flatten -> Linear -> ReLU -> Linear) learns scikit-learn's 8x8 digits
(offline, seconds), MNIST or Fashion-MNIST with SGD + momentum, the
optimizer of that era. Same Trainer as Module 09's toy data: only the data
changed.
"""

from __future__ import annotations

import argparse

import tinytorch as tt
from tinytorch import nn, optim
from tinytorch.data import DatasetError
from tinytorch.milestones import MilestoneResult, finite_float, positive_int, size_int
from tinytorch.milestones.common import (
    add_checkpoint_argument,
    add_data_arguments,
    load_image_data,
    missing_data_message,
)
from tinytorch.milestones.plotting import ascii_curve, save_png
from tinytorch.models import mlp, save_model
from tinytorch.training import Trainer
from tinytorch.utils.benchmark import Stopwatch

#: dataset -> (hidden units, epochs, target test accuracy)
SETTINGS = {"digits": (64, 20, 0.95), "mnist": (256, 5, 0.97), "fashion-mnist": (256, 5, 0.85)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser, "digits", tuple(SETTINGS))
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="default depends on --dataset")
    parser.add_argument("--lr", type=finite_float, default=0.05)
    parser.add_argument("--batch-size", type=size_int, default=64)
    add_checkpoint_argument(parser)


def run(args: argparse.Namespace) -> MilestoneResult:
    hidden, epochs, target = SETTINGS[args.dataset]
    epochs = args.epochs or epochs
    target = target if args.target_accuracy is None else args.target_accuracy
    print(f"target: {target:.1%} test accuracy" + (
        "" if args.target_accuracy is None else " (from --target-accuracy)"))
    clock = Stopwatch()
    tt.manual_seed(args.seed)
    try:
        data = load_image_data(args, args.batch_size)
    except DatasetError as exc:
        return MilestoneResult(False, missing_data_message(exc))
    inputs = data.channels * data.size * data.size
    model = mlp(inputs, hidden, data.classes)
    optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss())
    print(f"{args.dataset}: {len(data.train.dataset)} training images "
          f"({data.channels}x{data.size}x{data.size}), model {inputs}-{hidden}-{data.classes}")
    history = trainer.fit(data.train, epochs, val=data.test, val_name="test")
    accuracy = history["val_accuracy"][-1]
    print("\n" + ascii_curve({"train loss": history["train_loss"],
                              "test loss": history["val_loss"]}, title="loss per epoch"))
    if args.plot:
        print(save_png({"train": history["train_loss"], "test": history["val_loss"]},
                       args.plot, f"MLP on {args.dataset} (1986)"))
    per_epoch = sum(history["epoch_seconds"]) / len(history["epoch_seconds"])
    print(f"\nTest accuracy {accuracy:.2%} after {trainer.epoch} epochs on backend "
          f"{tt.get_backend()}; {per_epoch:.1f} s per epoch, {clock.seconds:.0f} s in all.")
    print("Why it mattered: backpropagation made hidden layers trainable - the XOR limit "
          "was gone, and networks began to learn features nobody designed by hand.")
    if args.checkpoint:
        save_model(model, args.checkpoint, {"milestone": "mlp", "dataset": args.dataset,
                                            "test_accuracy": accuracy})
        print(f"saved the trained model to {args.checkpoint} (`tinytorch quantize "
              f"--checkpoint {args.checkpoint}` makes it int8)")
    passed = accuracy >= target
    summary = (f"MLP reached {accuracy:.2%} test accuracy on {args.dataset} "
               f"(target {target:.0%})")
    return MilestoneResult(passed, summary if passed else summary + " - missed",
                           {"test_accuracy": accuracy, "seconds_per_epoch": per_epoch})
