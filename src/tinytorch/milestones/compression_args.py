"""The command-line options every Module 18 experiment shares.

Kept apart from ``compression_common`` (which imports nn, optim, data and training) so
that building ``tinytorch``'s command line imports nothing of the later modules.
"""

from __future__ import annotations

import argparse


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", default=None,
                        help="folder with the Fashion-MNIST files (else $TINYTORCH_DATA, the "
                             "system location, or ~/.cache/tinytorch)")
    parser.add_argument("--download", action="store_true",
                        help="download Fashion-MNIST from its official source if missing")
    parser.add_argument("--limit", type=int, default=None,
                        help="use only the first N training images")
    parser.add_argument("--test-limit", type=int, default=None,
                        help="use only the first N test images")
    parser.add_argument("--quick", action="store_true",
                        help="a short run (fewer images and epochs) with looser targets, for "
                             "the slow tests; the full targets need the full run")
    parser.add_argument("--seed", type=int, default=0)
