"""The ``tinytorch`` command.

Each subcommand lives in its own module under ``tinytorch.cli`` and exposes
``register(subparsers)``; add a new one by listing it in ``SUBCOMMANDS``.
Output is plain ASCII so it survives any terminal encoding.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: subcommand modules, in the order ``tinytorch --help`` lists them
SUBCOMMANDS: tuple[str, ...] = ("doctor", "milestone", "bench",)


def build_parser() -> argparse.ArgumentParser:
    from tinytorch import __version__

    parser = argparse.ArgumentParser(
        prog="tinytorch",
        description="TinyTorch: build a deep-learning framework from scratch, then make it fast.",
    )
    parser.add_argument("--version", action="version", version=f"tinytorch {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"tinytorch.cli.{name}").register(subparsers)
    return parser


def _make_output_safe() -> None:
    # A terminal that is not UTF-8 (LANG=C, a Windows code page) must never
    # turn a report into a UnicodeEncodeError: replace what it cannot show.
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tinytorch`` console script; returns the exit code."""
    _make_output_safe()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
