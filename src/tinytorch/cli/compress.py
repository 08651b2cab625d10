"""``tinytorch compress NAME``: the Module 18 experiments; exit 1 when a target is missed.

    tinytorch compress mlp       # LeNet-300-100: >= 10x fewer weights, <= 0.5 points lost
    tinytorch compress cnn       # channels removed: <= 50% FLOPs, <= 1.5 points, >= 1.5x faster
    tinytorch compress distill   # a 1/4-size student within 2 points of the CNN teacher
    tinytorch compress all       # the three, sharing one trained teacher
    tinytorch compress cnn --quick   # minutes-long version with looser targets (slow tests)
"""

from __future__ import annotations

import argparse

#: (full, quick) defaults of every option the experiments read
DEFAULTS = {
    "limit": (None, 12000), "test_limit": (None, 2000),
    "epochs": (8, 3), "rounds": (4, 3), "finetune_epochs": (2, 1), "sparsity": (0.92, 0.92),
    "cnn_epochs": (2, 2), "finetune_epochs_cnn": (1, 1), "channels": (0.5, 0.5),
    "student_epochs": (4, 3), "temperature": (4.0, 4.0), "alpha": (0.9, 0.9),
    "latency_batch": (256, 256),
    # targets (the in the full run; the quick run trains on a fifth of the data)
    "min_compression": (10.0, 10.0), "max_loss_mlp": (0.5, 1.5), "max_loss_cnn": (1.5, 3.0),
    "min_speedup": (1.5, 1.3), "max_gap": (2.0, 4.0),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from tinytorch.milestones.compression_args import add_common_arguments

    add_common_arguments(parser)
    parser.add_argument("--backend", default="native",
                        help="compute backend (default native: the experiments train a dozen "
                             "models)")
    for name, (full, _) in DEFAULTS.items():
        if name in ("limit", "test_limit"):
            continue
        kind = type(full) if full is not None else int
        parser.add_argument("--" + name.replace("_", "-"), type=kind, default=None,
                            help=f"default {full} ({DEFAULTS[name][1]} with --quick)")


def run(args: argparse.Namespace) -> int:
    import tinytorch
    from tinytorch.data import DatasetError
    from tinytorch.milestones.common import missing_data_message
    from tinytorch.milestones.compression import EXPERIMENTS
    from tinytorch.milestones.compression_common import load_fashion
    from tinytorch.utils.benchmark import Stopwatch

    for name, (full, quick) in DEFAULTS.items():
        if getattr(args, name) is None:
            setattr(args, name, quick if args.quick else full)
    tinytorch.set_backend(args.backend)
    clock = Stopwatch()
    try:
        data = load_fashion(args)
    except DatasetError as exc:
        print(missing_data_message(exc))
        return 1
    print(f"Fashion-MNIST: {len(data.x_train):,} training / {len(data.x_test):,} test images; "
          f"backend {tinytorch.get_backend()}{', quick run' if args.quick else ''}")
    names = list(EXPERIMENTS) if args.name == "all" else [args.name]
    outcomes = [EXPERIMENTS[name](args, data) for name in names]
    print(f"\n== summary ({clock.seconds / 60:.1f} min) ==")
    for outcome in outcomes:
        print(f"{outcome.name}: {'PASSED' if outcome.passed else 'FAILED'}")
        print("\n".join(outcome.lines))
    return 0 if all(o.passed for o in outcomes) else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compress", help="Module 18 experiments: prune, shrink, distill on Fashion-MNIST",
        description=(__doc__ or "").strip().split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("name", choices=("mlp", "cnn", "distill", "all"))
    add_arguments(parser)
    parser.set_defaults(func=run)
