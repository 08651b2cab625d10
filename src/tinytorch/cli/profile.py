"""``tinytorch profile`` (Module 19): where does a training step's time go?

Profiles a few training steps and one inference pass of a course model on random
data of the milestone's shapes (no checkpoint or dataset needed) and prints
PyTorch-style op tables, sorted by self time::

    tinytorch profile cnn --steps 3 --trace cnn.json      # open cnn.json in ui.perfetto.dev
    tinytorch profile tinygpt --backend native --row-limit 15
    tinytorch profile mlp --sort-by cpu_time_total

It also says how much of the steps' wall time the recorded ranges cover (their
self-times add up) and what recording cost: the same steps unprofiled vs profiled.
"""

from __future__ import annotations

import argparse
import os
import sys

from tinytorch.backends import BACKEND_NAMES
from tinytorch.milestones import positive_int

DEFAULT_ROWS = 12


def _phase(prof, name: str):
    """The events inside the user ranges called ``name`` (or starting with it)."""
    from tinytorch.profiler import EventList

    spans = [(e.start_ns, e.start_ns + e.duration_ns) for e in prof.events
             if e.category == "user" and e.name.startswith(name)]
    inside = [e for e in prof.events
              if any(lo <= e.start_ns and e.start_ns + e.duration_ns <= hi for lo, hi in spans)]
    wall = sum(hi - lo for lo, hi in spans)
    return EventList(inside, prof.profile_memory, prof.with_flops, prof.record_shapes), wall


def run(args: argparse.Namespace) -> int:
    import tinytorch as tt
    from tinytorch.backends import BackendUnavailableError
    from tinytorch.profiler import profile, record_function
    from tinytorch.profiler.workloads import make_workload
    from tinytorch.utils.benchmark import Stopwatch, format_seconds
    from tinytorch.utils.machine import describe

    try:
        if args.backend is not None:
            tt.set_backend(args.backend)
        if args.threads is not None:
            from tinytorch.utils.benchmark import set_threads
            set_threads(args.threads)
        work = make_workload(args.workload, args.batch_size)
    except (BackendUnavailableError, ValueError) as exc:
        print(f"tinytorch profile: {exc}", file=sys.stderr)
        return 1
    if args.trace is not None:
        folder = os.path.dirname(os.path.abspath(args.trace))
        if not os.path.isdir(folder):
            print(f"tinytorch profile: --trace {args.trace}: folder {folder} does not exist",
                  file=sys.stderr)
            return 1
    try:
        say = print
        say(f"{work.description}; backend {tt.get_backend()}; {describe().get('cpu', '?')}")
        work.train_step()  # warm-up: first-call costs (allocations, page faults) stay out
        work.forward()
        with Stopwatch() as plain:
            for _ in range(args.steps):
                work.train_step()
        shapes = args.record_shapes or args.group_by_shape
        with profile(record_shapes=shapes, profile_memory=args.memory,
                     with_flops=True) as prof:
            for step in range(args.steps):
                with record_function(f"ProfilerStep#{step}"):
                    work.train_step()
            with record_function("inference"):
                work.forward()
        train, train_wall = _phase(prof, "ProfilerStep#")
        infer, infer_wall = _phase(prof, "inference")
        group = args.group_by_shape
        for title, events, wall, steps in (
                (f"Training: {args.steps} step(s)", train, train_wall, args.steps),
                ("Inference: 1 forward pass under no_grad", infer, infer_wall, 1)):
            # the user ranges (ProfilerStep#, inference) hold what no op, kernel or module
            # covered: the Python between them
            covered = sum(e.self_ns for e in events if e.category != "user")
            say(f"\n{title} -- {format_seconds(wall / 1e9 / steps)} per pass profiled")
            say(events.key_averages(group).table(sort_by=args.sort_by, row_limit=args.row_limit)
                .rstrip("\n"))
            share = 100 * covered / max(wall, 1)
            say(f"ops, kernels, modules and optimizer steps cover {share:.1f}% of the wall "
                "time (the rest: Python between them)")
        overhead = train_wall / 1e9 / max(plain.seconds, 1e-12)
        unprofiled = format_seconds(plain.seconds / args.steps)
        profiled = format_seconds(train_wall / 1e9 / args.steps)
        say(f"\nprofiling overhead: a training step took {unprofiled} unprofiled, {profiled} "
            f"profiled ({overhead:.2f}x)")
        if args.trace is not None:
            prof.export_chrome_trace(args.trace)
            say(f"trace: {args.trace} (open it in ui.perfetto.dev or chrome://tracing)")
        sys.stdout.flush()
    except BrokenPipeError:  # `| head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"tinytorch profile: {exc}", file=sys.stderr)
        return 1
    return 0


#: what `tinytorch profile` offers, spelled out here so that building the command line
#: imports nothing of Module 19 (a student who is at Module 01 still runs `tinytorch
#: doctor`); tests/test_19_cli_profile.py checks they equal the profiler's own lists
WORKLOAD_NAMES = ("mlp", "cnn", "tinygpt")
SORT_CHOICES = ("self_cpu_time_total", "cpu_time_total", "cpu_time", "self_cpu_time", "count",
                "cpu_memory_usage", "self_cpu_memory_usage", "flops")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "profile", help="profile training steps and inference of a model (Module 19)",
        description="Print PyTorch-style op tables (self time per op, kernel, module) for a "
                    "few training steps and one inference pass of a course model on random "
                    "data, and optionally write a Chrome/Perfetto trace.")
    parser.add_argument("workload", choices=WORKLOAD_NAMES, help="the model to profile")
    parser.add_argument("--steps", type=positive_int, default=3,
                        help="training steps to profile (default 3)")
    parser.add_argument("--trace", metavar="OUT.json", default=None,
                        help="write a Chrome trace (chrome://tracing, ui.perfetto.dev)")
    parser.add_argument("--backend", choices=BACKEND_NAMES, default=None)
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help="default: the milestone's (64 images, 32 sequences)")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="threads of the native kernels, NumPy's BLAS and torch")
    parser.add_argument("--row-limit", type=positive_int, default=DEFAULT_ROWS)
    parser.add_argument("--sort-by", choices=SORT_CHOICES, default="self_cpu_time_total")
    parser.add_argument("--record-shapes", action="store_true",
                        help="record input shapes (with --group-by-shape: one row per shape)")
    parser.add_argument("--group-by-shape", action="store_true",
                        help="one row per (name, input shapes); implies --record-shapes")
    parser.add_argument("--memory", action="store_true",
                        help="record the bytes each op allocates for its outputs")
    parser.set_defaults(func=run)
