"""Milestone 1998: a LeNet-style convolutional network learns real images.

After Module 10 (DataLoader). LeCun et al. (1998) trained LeNet-5 with
backpropagation to read handwritten digits: convolutions share weights across
positions, pooling buys translation tolerance, and together they need far
fewer parameters than an MLP of the same accuracy. This milestone trains a
LeNet-style CNN (two conv-ReLU-pool stages, then two fully connected layers)
on Fashion-MNIST or MNIST - and, where CIFAR-10 is present or downloadable, a
deeper VGG-style CNN with batch norm and augmentation on CIFAR-10.

The time per epoch depends on the backend: compare
``--backend numpy`` with ``--backend native`` (Module 15).
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
from tinytorch.models import lenet, save_model, vgg_small
from tinytorch.training import Trainer
from tinytorch.utils.benchmark import Stopwatch

#: dataset -> (epochs, target test accuracy, time budget in minutes or None)
SETTINGS = {"fashion-mnist": (4, 0.90, 15.0), "mnist": (2, 0.98, 15.0),
            "cifar10": (30, 0.75, None)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser, "fashion-mnist", tuple(SETTINGS))
    parser.add_argument("--epochs", type=positive_int, default=None,
                        help="default depends on --dataset")
    parser.add_argument("--lr", type=finite_float, default=None,
                        help="Adam learning rate (default 1e-3; CIFAR-10: 2e-3 with cosine decay)")
    parser.add_argument("--batch-size", type=size_int, default=64)
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="time budget for the whole run (default: 15 for (Fashion-)MNIST)")
    add_checkpoint_argument(parser)


def run(args: argparse.Namespace) -> MilestoneResult:
    epochs, target, budget = SETTINGS[args.dataset]
    epochs = args.epochs or epochs
    target = target if args.target_accuracy is None else args.target_accuracy
    print(f"target: {target:.1%} test accuracy" + (
        "" if args.target_accuracy is None else " (from --target-accuracy)"))
    budget = args.max_minutes if args.max_minutes is not None else budget
    cifar = args.dataset == "cifar10"
    clock = Stopwatch()
    tt.manual_seed(args.seed)
    try:
        data = load_image_data(args, args.batch_size, augment=cifar)
    except DatasetError as exc:
        return MilestoneResult(False, missing_data_message(exc))
    model = vgg_small(data.channels, data.classes) if cifar else \
        lenet(data.channels, data.size, data.classes)
    lr = args.lr or (2e-3 if cifar else 1e-3)
    optimizer = optim.Adam(model.parameters(), lr=lr)
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs) if cifar else None
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{args.dataset}: {len(data.train.dataset)} training images "
          f"({data.channels}x{data.size}x{data.size}); CNN with {n_params:,} parameters")
    trainer = Trainer(model, optimizer, nn.CrossEntropyLoss(), scheduler=scheduler)
    history = trainer.fit(data.train, epochs, val=data.test, val_name="test")
    accuracy = history["val_accuracy"][-1]
    minutes = clock.seconds / 60
    curves = {"train loss": history["train_loss"], "test loss": history["val_loss"]}
    print("\n" + ascii_curve(curves, title="loss per epoch"))
    if args.plot:
        print(save_png(curves, args.plot, f"CNN on {args.dataset} (1998)"))
    per_epoch = sum(history["epoch_seconds"]) / len(history["epoch_seconds"])
    print(f"\nTest accuracy {accuracy:.2%} after {trainer.epoch} epochs; backend "
          f"{tt.get_backend()}: {per_epoch:.1f} s per training epoch, {minutes:.1f} min in all.")
    print("Why it mattered: weight sharing and pooling made learning from pixels practical; "
          "LeNet read cheques in US banks, and its descendants won ImageNet in 2012.")
    if args.checkpoint:
        save_model(model, args.checkpoint, {"milestone": "cnn", "dataset": args.dataset,
                                            "test_accuracy": accuracy})
        print(f"saved the trained model to {args.checkpoint} (`tinytorch quantize "
              f"--checkpoint {args.checkpoint} --static` makes it int8)")
    in_time = budget is None or minutes <= budget
    passed = accuracy >= target and in_time
    summary = (f"CNN reached {accuracy:.2%} test accuracy on {args.dataset} (target "
               f"{target:.0%}) in {minutes:.1f} min"
               + ("" if budget is None else f" (budget {budget:.0f} min)"))
    if not passed:
        summary += " - missed: " + ("accuracy below target" if accuracy < target
                                    else "over the time budget")
    return MilestoneResult(passed, summary, {"test_accuracy": accuracy,
                                             "seconds_per_epoch": per_epoch,
                                             "minutes": minutes})
