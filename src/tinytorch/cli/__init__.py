"""The ``tinytorch`` command.

Each subcommand lives in its own module under ``tinytorch.cli`` and exposes
``register(subparsers)``; add a new one by listing it in ``SUBCOMMANDS``.
Output is plain ASCII so it survives any terminal encoding.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Sequence

#: subcommand modules, in the order ``tinytorch --help`` lists them
SUBCOMMANDS: tuple[str, ...] = ("doctor", "milestone", "bench", "generate", "quantize",
                               "profile", "compress", "capstone", "course")


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


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tinytorch`` console script; returns the exit code.

    Output problems end cleanly: a reader that goes away (``tinytorch doctor | head -1``)
    ends the command quietly, a full disk (``> /dev/full``) is one line on stderr, and
    a bad ``$TINYTORCH_BACKEND`` is a message, not a traceback.
    """
    from tinytorch.backends import BackendUnavailableError, UnknownBackendError

    _make_output_safe()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # inside the try: a failed write is reported here, not at exit
        return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 141  # what a shell reports for a command killed by SIGPIPE
    except (UnknownBackendError, BackendUnavailableError) as exc:
        print(f"tinytorch: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EIO, errno.EPIPE, errno.EBADF):
            raise
        _silence_stdout()
        print(f"tinytorch: cannot write the output ({exc.strerror or exc})", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
