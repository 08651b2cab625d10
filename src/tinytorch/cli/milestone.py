"""``tinytorch milestone NAME [options]``: run a milestone; exit 1 when it misses its target."""

from __future__ import annotations

import argparse
import sys

from tinytorch.backends import BACKEND_NAMES
from tinytorch.course import curriculum
from tinytorch.course.progress import milestone_refusal
from tinytorch.milestones import REGISTRY, load, plot_path_problem


def milestone_parser(name: str) -> argparse.ArgumentParser:
    """The options of one milestone: the common ones plus its own ``add_arguments``."""
    info, module = load(name)
    parser = argparse.ArgumentParser(
        prog=f"tinytorch milestone {name}", description=f"{info.year}: {info.title}. "
        + (module.__doc__ or "").strip().split("\n\n")[0])
    parser.add_argument("--backend", choices=BACKEND_NAMES, default=None,
                        help="compute backend (default: TINYTORCH_BACKEND, else numpy)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="PNG",
                        help="also save the curves as a .png (or .svg, .pdf); needs matplotlib")
    parser.add_argument("--force", action="store_true",
                        help="run even if its modules do not grade complete yet (instructors)")
    module.add_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    import tinytorch

    if args.name in (None, "list"):
        print("Milestones (run one with `tinytorch milestone NAME`, options with --help):")
        for info in REGISTRY.values():
            print(f"  {info.name:<12} {info.year}  after module {info.module:02d}: {info.title}")
        return 0
    if args.name not in REGISTRY:
        print(f"unknown milestone {args.name!r}; available: {', '.join(REGISTRY)}")
        return 2
    options = milestone_parser(args.name).parse_args(args.options)
    if options.plot:  # checked now, not after a run of minutes
        problem = plot_path_problem(options.plot)
        if problem:
            print(f"tinytorch milestone {args.name}: {problem}", file=sys.stderr)
            return 2
    if not options.force:
        refusal = milestone_refusal(args.name, curriculum.load())
        if refusal is not None:
            print(refusal)
            return 1
    info, module = load(args.name)
    if options.backend is not None:
        tinytorch.set_backend(options.backend)
    print(f"=== {info.year}: {info.title} ===")
    print(f"backend: {tinytorch.get_backend()}, seed: {options.seed}\n")
    result = module.run(options)
    status = "PASSED" if result.passed else "FAILED"
    print(f"\n[{status}] {result.summary}")
    return 0 if result.passed else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    names = ", ".join(REGISTRY)
    parser = subparsers.add_parser(
        "milestone", help=f"reproduce a moment of ML history ({names})",
        description="Run a milestone; `tinytorch milestone list` lists them and "
                    "`tinytorch milestone NAME --help` shows a milestone's options.")
    parser.add_argument("name", nargs="?", metavar="NAME", help=f"list, or one of: {names}")
    parser.add_argument("options", nargs=argparse.REMAINDER, help="options of the milestone")
    parser.set_defaults(func=run)
